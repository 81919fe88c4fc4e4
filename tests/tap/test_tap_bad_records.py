"""Records that cannot be keyed: one line naming stream, record and field, or skipped on request.

Bookmarks stay right either way: a failed stream's STATE is at the last record sent before the
bad one, and a skipped record never moves a bookmark.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tap_helpers import discover, instant, select_only
from test_tap_bad_answers import sync_allowing_failure

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.badanswers import BAD_RECORD_KINDS

FIELD = {
    "missing_modified_time": "Modified_Time",
    "null_modified_time": "Modified_Time",
    "invalid_modified_time": "Modified_Time",
    "non_numeric_id": "id",
}


@pytest.fixture(scope="module")
def org() -> Any:
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 250}) as zoho:
        yield zoho


@pytest.fixture(scope="module")
def catalog(org: ZohoEmulator) -> dict[str, Any]:
    return select_only(discover(org.tap_config()), {"Installations", "Leads"})


def _in_order(org: ZohoEmulator) -> list[str]:
    """Leads ids in the order a Modified_Time walk reads them."""
    return sorted(
        org.record_ids("Leads"),
        key=lambda i: (instant(org.get_record("Leads", i)["Modified_Time"]), int(i)),
    )


@pytest.mark.parametrize("kind", BAD_RECORD_KINDS)
def test_a_bad_record_fails_its_stream_with_one_line_naming_it(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str
) -> None:
    order = _in_order(org)
    bad = order[120]
    org.faults.bad_records = {bad: kind}
    try:
        messages, failure = sync_allowing_failure(org.tap_config(page_size=50), catalog)
    finally:
        org.faults.bad_records = {}
    assert failure is not None
    line = str(failure)
    assert "stream Leads" in line, line
    assert f"field {FIELD[kind]}" in line, line
    assert (bad in line) if kind != "non_numeric_id" else ("position" in line), line
    assert "on_bad_record" in line
    leads = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "Leads"]
    # The walk stopped at the page holding the bad record; the records before it went out,
    # in order, and none after it.
    assert 50 <= len(leads) <= 120
    assert {r["id"] for r in leads} == {int(i) for i in order[: len(leads)]}
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    newest = max(instant(r["Modified_Time"]) for r in leads)
    assert instant(state["bookmarks"]["Leads"]["replication_key_value"]) == newest
    installations = [
        m for m in messages if m["type"] == "RECORD" and m["stream"] == "Installations"
    ]
    assert len(installations) == org.count("Installations")


@pytest.mark.parametrize("kind", BAD_RECORD_KINDS)
def test_on_bad_record_skip_leaves_it_out_and_lists_it(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    order = _in_order(org)
    bad = {order[10]: kind, order[-1]: kind}
    org.faults.bad_records = bad
    caplog.set_level(logging.WARNING)
    try:
        messages, failure = sync_allowing_failure(
            org.tap_config(page_size=50, on_bad_record="skip"), catalog
        )
    finally:
        org.faults.bad_records = {}
    assert failure is None
    leads = {
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "Leads"
    }
    assert leads == {int(i) for i in order} - {int(i) for i in bad}
    summary = [r.getMessage() for r in caplog.records if "Run summary" in r.getMessage()]
    assert len(summary) == 1, summary
    assert "2 bad record(s) skipped in Leads" in summary[0], summary
    # The bookmark is the newest good record: the skipped last one never moved it.
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    good_newest = instant(org.get_record("Leads", order[-2])["Modified_Time"])
    assert instant(state["bookmarks"]["Leads"]["replication_key_value"]) == good_newest
