"""Dense updates (imports, mass updates, workflows): every change read, at a bounded cost.

Zoho's datetimes are whole seconds, so a re-anchored page re-reads the records of its last
second; a second holding more than a page of records is a tie block, walked by page token and
walked again to catch records shifted by changes during the walk (or read by id through COQL if
Zoho's order within the second proves unstable). The bounds below follow from that design,
under both readings of If-Modified-Since.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.testing.emulator import ZohoEmulator

CHANGED = 3000
PAGE = 200
RECORDS_ROUTE = "GET /crm/v8/{module}"


@pytest.fixture(params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 6000, "Contacts": 6000}) as zoho:
        zoho.faults.if_modified_since_exclusive = request.param
        yield zoho


def _incremental_after_updates(
    zoho: ZohoEmulator, rate: int, module: str = "Leads"
) -> tuple[list[int], set[int], int]:
    """Sync, update CHANGED records at ``rate`` per emulated second, sync again.

    Returns the ids emitted by the second sync, the ids changed, and its Get Records calls.
    """
    config = zoho.tap_config()
    catalog = select_only(discover(config), {module})
    first = run_sync(config, catalog=catalog)
    ids = sorted(zoho.record_ids(module))[:CHANGED]
    zoho.clock.advance(100)
    for start in range(0, len(ids), rate):
        zoho.update_records(module, ids[start : start + rate])  # one second's writes
        zoho.clock.advance(1)
    zoho.clock.advance(100)
    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    return second.ids(module), {int(i) for i in ids}, zoho.stats.calls[RECORDS_ROUTE]


def test_updates_spread_over_seconds_cost_about_one_call_per_page(org):
    rate = 50
    emitted, changed, calls = _incremental_after_updates(org, rate)
    assert sorted(emitted) == sorted(changed)  # each once
    # Each page re-reads at most one second's records, so brings at least PAGE - rate new
    # ones; plus the call that learns the If-Modified-Since reading and the final short page.
    bound = math.ceil(CHANGED / (PAGE - rate)) + 2
    print(f"\n{rate}/s: {calls} Get Records calls for {CHANGED} records (bound {bound})")
    assert calls <= bound


def test_more_than_a_page_in_one_second_costs_two_walks_of_that_second(org):
    rate = 300
    emitted, changed, calls = _incremental_after_updates(org, rate)
    assert sorted(emitted) == sorted(changed)
    seconds = math.ceil(CHANGED / rate)
    bound = seconds * 2 * math.ceil(rate / PAGE) + 2
    print(f"\n{rate}/s: {calls} Get Records calls for {CHANGED} records (bound {bound})")
    assert calls <= bound


@pytest.mark.parametrize("seed", range(4))
def test_an_unstable_order_within_a_second_is_read_whole_by_id(org, seed):
    """Zoho promises no order among records of one second. Under the emulator's least
    forgiving switch each call reshuffles them, so page tokens cut them differently every time;
    the tap notices and reads such a block by id through COQL."""
    org.faults.unstable_tie_order = True
    org.faults.fault_seed = seed
    org.stats.reset()
    emitted, changed, _ = _incremental_after_updates(org, 450, module="Contacts")
    assert sorted(emitted) == sorted(changed)
    assert org.stats.calls["POST /crm/v8/coql"] > 0  # the order-proof read was used
