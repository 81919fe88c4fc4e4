"""Branches of `ModifiedTimeWalk` and `token_walk` that decide whether a record is read.

Each test drives one branch of ``tap_zoho_crm/paging.py`` through the real tap against the
emulator, with a small ``page_size`` so that a block of records sharing one second spans
several pages without thousands of records, and checks the records emitted id by id against
the emulator's stored ``Modified_Time`` values (never against the tap's own output).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.zoho_truth import instant, modified_times

#: Small pages: a block of `BLOCK` records sharing one second spans three of them.
PAGE = 10
BLOCK = 25
#: Page tokens reach 20 records, so a 25-record block outruns them.
REACH = 20
CONTACTS = 60


@pytest.fixture(params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=11, size={"Contacts": CONTACTS}) as zoho:
        zoho.faults.if_modified_since_exclusive = request.param
        yield zoho


def small_pages(zoho: ZohoEmulator, **overrides: Any) -> dict[str, Any]:
    """A config that walks with `PAGE`-record pages, one walk (no windows), no Bulk Read."""
    return zoho.tap_config(
        page_size=PAGE, windowed_reads=False, bulk_read_min_records=0, **overrides
    )


def changed_since(zoho: ZohoEmulator, module: str, after: dt.datetime) -> set[int]:
    """Ids of the records the emulator stores as modified after ``after``."""
    return {record_id for record_id, when in modified_times(zoho, module).items() if when > after}


def newest(zoho: ZohoEmulator, module: str) -> dt.datetime:
    return max(modified_times(zoho, module).values())


def test_a_run_starting_inside_a_block_read_by_id_moves_past_it(org, caplog):
    """The previous run ended on a 25-record second (its bookmark lists all 25 ids). The next
    run's first page is that second again, nothing new: a block, which outruns page tokens and
    is read whole by id (COQL). The walk then asks from the next second; with the reading still
    unknown, the probe there finds records but none of that very second, which proves nothing.
    Records changed afterwards are read, and the run ends."""
    org.faults.page_token_reach = REACH
    config = small_pages(org)
    catalog = select_only(discover(config), {"Contacts"})
    first = run_sync(config, catalog=catalog)
    assert set(first.ids("Contacts")) == set(modified_times(org, "Contacts"))
    block = sorted(org.record_ids("Contacts"))[:BLOCK]
    org.clock.advance(100)
    org.update_records("Contacts", block)
    org.clock.advance(100)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    assert sorted(second.ids("Contacts")) == sorted(int(i) for i in block)
    tie = newest(org, "Contacts")
    later = sorted(org.record_ids("Contacts"))[BLOCK : BLOCK + 3]
    org.clock.advance(100)
    for record_id in later:
        org.update_record("Contacts", record_id)
        org.clock.advance(7)
    caplog.set_level(logging.INFO)
    org.stats.reset()
    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert sorted(third.ids("Contacts")) == sorted(changed_since(org, "Contacts", tie))
    assert org.stats.calls["POST /crm/v8/coql"] >= 1, "the block was read by id"


def _dense_second(
    zoho: ZohoEmulator, module: str, config: dict[str, Any]
) -> tuple[Any, dict[str, Any], dt.datetime]:
    """Sync ``module``, then update `BLOCK` of its records in one second and a few after it.

    Returns the first sync, the catalog and the newest Modified_Time that sync could see.
    """
    catalog = select_only(discover(config), {module})
    first = run_sync(config, catalog=catalog)
    assert set(first.ids(module)) == set(modified_times(zoho, module))
    synced = newest(zoho, module)
    ids = sorted(zoho.record_ids(module))
    zoho.clock.advance(100)
    zoho.update_records(module, ids[:BLOCK])
    for record_id in ids[BLOCK : BLOCK + 3]:
        zoho.clock.advance(5)
        zoho.update_record(module, record_id)
    zoho.clock.advance(100)
    return first, catalog, synced


def test_leads_past_page_tokens_reach_fail_clearly_as_coql_may_leave_converted_out(org, caplog):
    """Leads: COQL may not list converted leads, so a block read by id is not taken as whole;
    paging cannot reach the rest either, so the run fails naming the second, its bookmark
    before the block (nothing skipped on the next run)."""
    org.faults.page_token_reach = REACH
    config = small_pages(org)
    first, catalog, _ = _dense_second(org, "Leads", config)
    caplog.set_level(logging.INFO)
    with pytest.raises(Exception, match="cannot page past the records sharing Modified_Time"):
        run_sync(config, catalog=catalog, state=first.final_state)
    assert [r for r in caplog.records if "Paging stopped inside" in r.getMessage()]
    assert org.stats.calls["POST /crm/v8/coql"] >= 1, "the block was read by id first"


def test_leads_in_an_unstable_second_are_read_by_id_then_walked_until_quiet(org):
    """Leads under a tie order that changes on every call: read by id (COQL), then, since COQL
    may leave converted leads out, walked by token until walks in a row find nothing new."""
    org.faults.unstable_tie_order = True
    org.faults.fault_seed = 5
    config = small_pages(org)
    first, catalog, synced = _dense_second(org, "Leads", config)
    org.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    assert sorted(second.ids("Leads")) == sorted(changed_since(org, "Leads", synced))
    assert org.stats.calls["POST /crm/v8/coql"] >= 1, "the unstable block was read by id"


def test_a_block_whose_last_walk_runs_off_the_end_still_reads_what_follows_it(org):
    """While a 25-record second is walked again by page token (to see that nothing moved),
    20 of its records are deleted: the token then points past the end of the answer, which
    Zoho answers with no content, so that walk never reaches the records after the block.
    The walk goes on past the block from the next second instead of ending: every record
    changed since the last run is emitted in this run, those after the block included."""
    config = small_pages(org)
    first, catalog, synced = _dense_second(org, "Contacts", config)
    expected = changed_since(org, "Contacts", synced)
    block = sorted(org.record_ids("Contacts"))[:BLOCK]
    token_calls: list[str] = []

    def delete_in_the_second_walk(route: str, path: str, query: dict) -> None:
        """At the first page token of the block's second walk (the first walk took two)."""
        if route != "GET /crm/v8/{module}" or "page_token" not in query:
            return
        token_calls.append(path)
        if len(token_calls) == 3:
            for record_id in block[:20]:
                org.delete_record("Contacts", record_id)

    org.faults.before_call = delete_in_the_second_walk
    second = run_sync(config, catalog=catalog, state=first.final_state)
    org.faults.before_call = None
    assert len(token_calls) >= 3, "the block was walked a second time by token"
    assert sorted(second.ids("Contacts")) == sorted(expected)


def test_a_block_that_changes_before_it_is_read_by_id_is_read_at_its_new_second(org):
    """A 25-record second outruns page tokens; just before it is read by id (COQL), all of it
    changes again, so COQL lists nothing at that second. The walk takes the block as read and
    goes on: the 25 records come back at their new second and are read there. Every record
    ends up emitted with the Modified_Time the emulator stores."""
    org.faults.page_token_reach = REACH
    config = small_pages(org)
    first, catalog, synced = _dense_second(org, "Contacts", config)
    block = sorted(org.record_ids("Contacts"))[:BLOCK]
    moved: list[bool] = []

    def move_the_block(route: str, path: str, query: dict) -> None:
        """At the COQL read that follows the page token running out, once."""
        del path, query
        if route != "POST /crm/v8/coql" or moved:
            return
        log = list(org.stats.log)
        if log and log[-1].status == 400:
            moved.append(True)
            org.clock.advance(30)
            org.update_records("Contacts", block)

    org.faults.before_call = move_the_block
    second = run_sync(config, catalog=catalog, state=first.final_state)
    org.faults.before_call = None
    assert moved, "the block was about to be read by id"
    stored = modified_times(org, "Contacts")
    assert set(second.ids("Contacts")) == changed_since(org, "Contacts", synced)
    last_emitted = {r["id"]: instant(r["Modified_Time"]) for r in second.records["Contacts"]}
    assert last_emitted == {i: stored[i] for i in last_emitted}
