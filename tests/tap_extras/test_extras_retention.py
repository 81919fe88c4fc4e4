"""The "deletes may have been missed" warning: measured from the last read of the deleted list.

A module without deletions for longer than Zoho keeps them has an old bookmark, yet a daily run
misses nothing; only a deleted list last read longer ago than the retention can have lost some.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from tap_zoho_crm.streams.deleted import LAST_READ
from tests.tap.tap_helpers import discover, instant, run_sync, select_only

STREAM = "Deals_deleted"


def _utc(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _state(bookmark_age_days: int, read_age_days: int | None) -> dict:
    now = dt.datetime.now(dt.UTC)
    mark = {
        "replication_key": "deleted_time",
        "replication_key_value": _utc(now - dt.timedelta(days=bookmark_age_days)),
        "ids_at_replication_key_value": [],
    }
    if read_age_days is not None:
        mark[LAST_READ] = _utc(now - dt.timedelta(days=read_age_days))
    return {"bookmarks": {STREAM: mark}}


@pytest.mark.parametrize(
    ("bookmark_age", "read_age", "warns"),
    [
        (90, 1, False),  # no deletion for 90 days, read yesterday: nothing can be missed
        (5, 70, True),  # read 70 days ago: recycle-bin deletions may be gone
        (90, None, True),  # a state from before LAST_READ: the bookmark age is all there is
    ],
)
def test_warns_only_when_the_list_was_last_read_longer_ago_than_zoho_keeps_deletions(
    demo, caplog, bookmark_age: int, read_age: int | None, warns: bool
):
    config = demo.tap_config()
    catalog = select_only(discover(config), {STREAM})
    caplog.set_level(logging.WARNING)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = run_sync(config, catalog=catalog, state=_state(bookmark_age, read_age))
    warnings = [
        r.getMessage() for r in caplog.records if "longer than Zoho keeps" in r.getMessage()
    ]
    assert len(warnings) == (1 if warns else 0), warnings
    # Each complete read records when it began, so the next run measures from it.
    read_at = instant(result.final_state["bookmarks"][STREAM][LAST_READ])
    assert before <= read_at <= dt.datetime.now(dt.UTC)
