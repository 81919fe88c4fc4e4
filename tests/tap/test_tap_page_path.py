"""The page path (`ZohoStream._sync_pages`): the SDK's record loop a page at a time.

Checked through the real CLI, whose writer takes whole pages (`ZohoMessageWriter.write_records`),
on a module whose records tie on one Modified_Time by the hundred: every STATE the tap writes
holds exactly the bookmark the records written before it make (the newest instant, and the ids
at it), so a run killed after any STATE resumes without loss or re-reads; and the pure pieces
(`Bookmark.advance_all`, `RecordNormaliser.take`) equal the record-by-record forms they replace.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from tap_helpers import cli, discover, select_only, write_json

from tap_zoho_crm.bookmarks import TIED_IDS, VALUE, Bookmark
from tap_zoho_crm.records import RecordNormaliser, format_utc, parse_instant
from tap_zoho_crm.testing.emulator import ZohoEmulator

SIZE = 2600
KEY = "Modified_Time"


def test_every_state_holds_the_bookmark_of_the_records_written_before_it(tmp_path: Path):
    with ZohoEmulator(profile="minimal", seed=13, size={"Contacts": SIZE}) as zoho:
        # Blocks of 150 records sharing one second, across page boundaries.
        ids = sorted(zoho.record_ids("Contacts"))[:900]
        zoho.clock.advance(100)
        for start in range(0, len(ids), 150):
            zoho.update_records("Contacts", ids[start : start + 150])
            zoho.clock.advance(1)
        zoho.clock.advance(100)
        config = zoho.tap_config(bulk_read_min_records=0, windowed_reads=False)
        catalog = select_only(discover(config), {"Contacts"})
        result = cli(
            [
                "--config",
                write_json(tmp_path / "config.json", config),
                "--catalog",
                write_json(tmp_path / "catalog.json", catalog),
            ]
        )
    assert result.returncode == 0, result.stderr[-2000:]
    newest: str | None = None
    at_newest: list[int] = []
    records = states = 0
    for line in result.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "Contacts":
            records += 1
            value, record_id = message["record"][KEY], message["record"]["id"]
            if newest is None or value > newest:
                newest, at_newest = value, [record_id]
            elif value == newest:
                at_newest.append(record_id)
        elif message["type"] == "STATE":
            mark = message["value"].get("bookmarks", {}).get("Contacts", {})
            if newest is None:
                assert VALUE not in mark
                continue
            states += 1
            assert mark[VALUE] == newest
            assert mark[TIED_IDS] == at_newest
    assert records == SIZE
    # A STATE after every 1,000 records and one at the end.
    assert states >= SIZE // 1000 + 1


def _instants(rng: random.Random) -> list[Any]:
    """Replication-key values as a page may hold them: UTC text, other offsets, ties, older."""
    base = dt.datetime(2024, 3, 9, 23, 0, tzinfo=dt.UTC)
    values: list[Any] = []
    for _ in range(300):
        moment = base + dt.timedelta(seconds=rng.choice([0, 0, 1, 2, 5, -3]))
        base = max(base, moment)
        offset = dt.timezone(dt.timedelta(minutes=rng.choice([0, 330, -480])))
        values.append(
            rng.choice(
                [
                    format_utc(moment),
                    moment.astimezone(offset).isoformat(),
                    moment.astimezone(offset),
                    None,
                ]
            )
        )
    return values


def test_a_page_moves_the_bookmark_as_its_records_one_by_one():
    rng = random.Random(7)
    for _ in range(30):
        values = _instants(rng)
        ids = [rng.choice([None, *range(1, 40)]) for _ in values]
        start = {"replication_key": KEY, VALUE: "2024-03-09T23:00:01+00:00", TIED_IDS: [3]}
        one_by_one_state, page_state = copy.deepcopy(start), copy.deepcopy(start)
        one_by_one = Bookmark.bind(one_by_one_state, KEY)
        older = sum(
            not one_by_one.advance(value, record_id)
            for value, record_id in zip(values, ids, strict=True)
            if value is not None and record_id is not None
        )
        page = Bookmark.bind(page_state, KEY)
        rows = [{KEY: value, "id": record_id} for value, record_id in zip(values, ids, strict=True)]
        assert page.advance_all(rows, KEY) == older
        assert page_state == one_by_one_state
        assert page.tied_ids == one_by_one.tied_ids
        assert page.instant == one_by_one.instant == parse_instant(page_state[VALUE])


def test_a_page_with_a_value_that_is_no_instant_fails_as_one_by_one():
    bad = "2024-02-30T00:00:00+00:00"  # the tap's UTC format, not a date, older than the rest
    rows = [{KEY: "2024-03-09T23:00:05+00:00", "id": 1}, {KEY: bad, "id": 2}]
    for advance in (
        lambda mark: [mark.advance(row[KEY], row["id"]) for row in rows],
        lambda mark: mark.advance_all(rows, KEY),
    ):
        with pytest.raises(ValueError):
            advance(Bookmark.bind({}, KEY))


def test_take_normalises_in_place_what_a_call_normalises_into_a_copy():
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": ["integer", "null"]},
            KEY: {"type": ["string", "null"], "format": "date-time"},
            "Owner": {"type": ["object", "null"]},
            "Tag": {"type": ["array", "null"]},
            "Flag": {"type": ["boolean", "null"]},
        },
    }
    raw = {
        "id": "4876876010000000001",
        "$editable": True,
        KEY: "2024-03-10T02:30:00+05:30",
        "Owner": {"id": "17", "name": "A", "created": "2024-03-10T02:30:00-08:00"},
        "Tag": [{"id": "9", "name": "hot"}, "x"],
        "Flag": 1,
    }
    for open_schema in (False, True):
        normaliser = RecordNormaliser({**schema, "additionalProperties": open_schema})
        kept = copy.deepcopy(raw)
        copied = normaliser(kept)
        assert kept == raw  # a call leaves its input alone
        given = copy.deepcopy(raw)
        taken = normaliser.take(given)
        assert taken is given
        assert taken == copied
        assert list(taken) == list(copied)
        assert taken["id"] == 4876876010000000001
        assert taken[KEY] == "2024-03-09T21:00:00+00:00"
        assert "$editable" not in taken
