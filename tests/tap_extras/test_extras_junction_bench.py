"""Benchmark: what a junction costs per run as the org grows (``make bench``).

A complete pass costs about one credit per parent; a no-change run between complete passes
costs the same few credits at every size. Credits are the emulator's own charge.
"""

from __future__ import annotations

import time

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, run_sync, select_only
from tests.tap_extras.extras_helpers import junction_rows, junction_truth

SIZES = (400, 4_000, 40_000)
STREAM = "Deals_Contact_Roles"


@pytest.mark.benchmark
def test_a_no_change_run_costs_the_same_at_every_size():
    rows: list[tuple[int, int, int, float]] = []
    for deals in SIZES:
        with ZohoEmulator(profile="demo", seed=7, size={"Deals": deals}) as zoho:
            config = zoho.tap_config()  # default settings
            catalog = select_only(discover(config), {STREAM})
            zoho.stats.reset()
            started = time.perf_counter()
            first = run_sync(config, catalog=catalog)
            seconds = time.perf_counter() - started
            complete = zoho.stats.credits
            assert junction_rows(STREAM, first.records[STREAM]) == junction_truth(zoho, STREAM)
            zoho.stats.reset()
            second = run_sync(config, catalog=catalog, state=first.final_state)
            assert not second.records.get(STREAM)
            rows.append((deals, complete, zoho.stats.credits, seconds))
    print(f"\n{'deals':>7} {'complete pass':>14} {'no-change run':>14} {'pass time':>10}")
    for deals, complete, no_change, seconds in rows:
        print(f"{deals:>7} {complete:>12} cr {no_change:>12} cr {seconds:>8.1f} s")
    smallest, largest = rows[0], rows[-1]
    print(
        f"no-change cost ratio {largest[0] // smallest[0]}x deals: "
        f"{largest[2] / smallest[2]:.2f}x (complete pass {largest[1] / smallest[1]:.1f}x)"
    )
    assert {no_change for _, _, no_change, _ in rows} == {smallest[2]}  # flat
    for deals, complete, _, _ in rows:
        assert complete >= deals  # a complete pass reads every parent's list
