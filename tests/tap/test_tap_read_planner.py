"""The planner (tap_zoho_crm/reading/planner.py): what `plan` says a stream will do is what the
sync then does.

For the same config, catalog and state, ``plan`` is made first; then the sync runs, and what
it did is read from the emulator's own counts and call log (COQL counts and probes, Bulk Read
jobs, the walks of Get Records calls) and from the STATE messages it wrote (the windows):

* a big first sync without Bulk Read: windows, as many as the sync cut (one COQL count and one
  probe per boundary, as the emulator counted them);
* the incremental run after it: one keyset walk (no COQL call, one walk in the call log);
* a big first sync with Bulk Read on: Bulk Read jobs, and no walk of the module's records;
* a windowed read killed midway: the windows left, and exactly the records the resumed run
  reads (every stored record the killed run had not made durable).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from tap_helpers import (
    DyingWriter,
    discover,
    plan_next_run,
    run_sync,
    select_only,
    sync_until_killed,
)

from tap_zoho_crm.read_plan import ReadPlan
from tap_zoho_crm.reading.planner import Way
from tap_zoho_crm.streams.base import ZohoStream
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import checked_walk_calls, crm_calls, walks_of

SIZE = 3000
WINDOW = 400  # records per window at least: 3,000 records hold several
CONCURRENCY = 5  # windows at most (the heavy pool within it)
UPDATED = 30
COQL = "POST /crm/v8/coql"
BULK_JOB = "POST /crm/bulk/v8/read"
TOLERANCE = 0.10
STATE_EVERY = 100  # a STATE every this many records: a kill leaves windows in the state


def leads_plan(
    zoho: ZohoEmulator,
    config: dict[str, Any],
    catalog: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> ReadPlan:
    """The Leads row of ``plan`` for the next sync."""
    (row,) = [row for row in plan_next_run(config, catalog, state).rows if row.stream == "Leads"]
    return row


def windows_in_state(messages: list[dict[str, Any]]) -> int:
    """The most windows any STATE message of the run held for Leads (0: none)."""
    counts = [
        len(message["value"]["bookmarks"].get("Leads", {}).get("windows") or [])
        for message in messages
        if message["type"] == "STATE"
    ]
    return max(counts, default=0)


#: What the planner logs each time it counts a range (a split, or a halving for an idle worker).
SPLIT_LOG = re.compile(r"records to read after \S+: (\d+) windows? \((\d+) COQL calls?\)")


def splits_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    """(windows, COQL calls) of every range the planner counted, in order."""
    found = (SPLIT_LOG.search(record.getMessage()) for record in caplog.records)
    return [(int(match[1]), int(match[2])) for match in found if match]


def test_plan_foresees_the_windows_of_a_first_sync_and_the_walk_of_the_next(capsys, caplog):
    caplog.set_level(logging.INFO)
    with ZohoEmulator(profile="minimal", seed=23, size={"Leads": SIZE}) as zoho:
        config = zoho.tap_config(
            window_min_records=WINDOW, max_concurrency=CONCURRENCY, bulk_read_min_records=0
        )
        catalog = select_only(discover(config), {"Leads"})

        first = leads_plan(zoho, config, catalog)
        zoho.stats.reset()
        caplog.clear()
        result = run_sync(config, catalog=catalog)
        coql_calls = zoho.stats.calls[COQL]
        run_calls = crm_calls(zoho)
        cut = windows_in_state(result.messages)
        splits = splits_logged(caplog)

        zoho.clock.advance(60)
        updated = sorted(zoho.record_ids("Leads"))[:UPDATED]
        for record_id in updated:
            zoho.update_record("Leads", record_id)
            zoho.clock.advance(1)
        state = result.final_state
        second = leads_plan(zoho, config, catalog, state)
        zoho.stats.reset()
        run_sync(config, catalog=catalog, state=state)
        again_coql = zoho.stats.calls[COQL]
        again_calls = crm_calls(zoho)
        walk_calls = checked_walk_calls(zoho, "Leads", updated)
    with capsys.disabled():
        print(
            f"\nfirst sync: plan {first.strategy} x{first.windows}, {first.calls} calls; "
            f"run {cut} windows, {coql_calls} COQL calls, {run_calls} calls"
            f"\nincremental: plan {second.strategy}, {second.calls} calls; "
            f"run {again_coql} COQL calls, {again_calls} calls"
        )
    # The first sync: the windows the sync cut, each boundary a COQL probe after one count;
    # each later halving for an idle worker is one count and one probe more (not foreseen).
    (split_windows, split_calls), *halvings = splits
    assert split_windows >= 2
    assert split_calls == split_windows  # one count(id), then one probe per boundary
    assert all(calls <= 2 for _, calls in halvings)
    assert coql_calls == sum(calls for _, calls in splits)
    assert split_windows <= cut <= split_windows + len(halvings)
    assert first.strategy == Way.WINDOWS.value
    assert first.windows == split_windows
    assert first.records == SIZE
    foreseeable = run_calls - (coql_calls - split_calls)
    assert abs(first.calls - foreseeable) <= TOLERANCE * run_calls
    # The incremental run: one walk over the updated records, no split considered.
    assert again_coql == 0
    assert second.strategy == Way.WALK.value
    assert second.windows == 1
    assert second.records == UPDATED
    assert second.calls == again_calls == walk_calls


def test_plan_foresees_bulk_read_for_a_big_first_sync():
    with ZohoEmulator(profile="minimal", seed=29, size={"Leads": SIZE}) as zoho:
        config = zoho.tap_config(bulk_read_min_records=SIZE // 2, max_concurrency=CONCURRENCY)
        catalog = select_only(discover(config), {"Leads"})
        planned = leads_plan(zoho, config, catalog)
        zoho.stats.reset()
        run_sync(config, catalog=catalog)
        jobs = zoho.stats.calls[BULK_JOB]
        walks = walks_of(zoho.stats.log, "Leads")
        walked = {record for walk in walks for record in walk.records}
    assert jobs >= 1
    assert len(walked) < SIZE // 10  # the records came from the export, not from walks
    assert planned.strategy == Way.BULK.value
    assert planned.records == SIZE


def test_plan_of_a_windowed_read_killed_midway_is_what_the_resumed_run_reads(monkeypatch):
    monkeypatch.setattr(ZohoStream, "STATE_MSG_FREQUENCY", STATE_EVERY)
    with ZohoEmulator(profile="minimal", seed=31, size={"Leads": SIZE}) as zoho:
        config = zoho.tap_config(
            window_min_records=WINDOW, max_concurrency=CONCURRENCY, bulk_read_min_records=0
        )
        catalog = select_only(discover(config), {"Leads"})
        dying = DyingWriter(kill_after=SIZE // 2)
        assert sync_until_killed(config, catalog, None, dying)
        durable = dying.durable(killed=True)
        state = next(m["value"] for m in reversed(durable) if m["type"] == "STATE")
        windows = state["bookmarks"]["Leads"].get("windows") or []
        emitted = {int(m["record"]["id"]) for m in durable if m["type"] == "RECORD"}
        # What is left: every stored record the durable messages do not hold (nothing changed).
        left = {int(i) for i in zoho.record_ids("Leads")} - emitted

        planned = leads_plan(zoho, config, catalog, state)
        zoho.stats.reset()
        resumed = run_sync(config, catalog=catalog, state=state)
        coql_calls = zoho.stats.calls[COQL]
        run_calls = crm_calls(zoho)
    read = {int(m["record"]["id"]) for m in resumed.messages if m["type"] == "RECORD"}
    print(
        f"\nresumed: plan {planned.mode}, {planned.records} records, {planned.calls} calls; "
        f"run {len(read)} records, {run_calls} calls"
    )
    assert sum(not window["done"] for window in windows) >= 2, "killed inside the windows"
    assert read == left  # the run resumed the windows, nothing more
    assert coql_calls == 0  # no new split
    assert planned.strategy == Way.WINDOWS.value
    assert planned.windows == sum(not window["done"] for window in windows)
    assert planned.records == len(left)
    assert abs(planned.calls - run_calls) <= TOLERANCE * run_calls
