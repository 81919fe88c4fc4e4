"""Junction passes read together (reading/readahead.py): state behind emitted rows, no loss.

The three junctions are per-parent passes of the last tier. When the first one's turn comes,
the other two read ahead of theirs; their progress (``pass_in_progress``) must still reach the
state only once the rows it covers are written, a killed run must resume each pass without
loss, and passes read together must keep to the run's one credit budget.
"""

from __future__ import annotations

import random
from typing import Any

from extras_helpers import PARENT_MODULES, RELATED_ROUTE, junction_rows, junction_truth

from tap_zoho_crm.bookmarks import TIED_IDS, VALUE
from tap_zoho_crm.streams.junctions import PARENTS_READ, PASS_IN_PROGRESS
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, instant, kill_and_resume, run_sync, select_only

JUNCTIONS = ("Campaigns_Contacts", "Campaigns_Leads", "Deals_Contact_Roles")
KILLS = 8


def _rows_by_parent(zoho: ZohoEmulator, stream: str) -> dict[int, set[tuple[int, int, str]]]:
    rows: dict[int, set[tuple[int, int, str]]] = {}
    for row in junction_truth(zoho, stream):
        rows.setdefault(row[0], set()).add(row)
    return rows


def _parent_instants(zoho: ZohoEmulator, stream: str) -> dict[int, Any]:
    module = PARENT_MODULES[stream]
    return {
        int(i): instant(zoho.get_record(module, i)["Modified_Time"])
        for i in zoho.record_ids(module)
    }


def _covered(progress: dict[str, Any], parents: dict[int, Any]) -> set[int]:
    """The parents a saved pass says are done: at or before its bookmark (tied ids at it)."""
    if VALUE not in progress:
        return set()
    cursor = instant(progress[VALUE])
    tied = {int(i) for i in progress.get(TIED_IDS) or []}
    return {p for p, at in parents.items() if at < cursor or (at == cursor and p in tied)}


def test_junctions_read_together_and_each_state_covers_only_rows_already_written(fresh):
    zoho = fresh
    config = zoho.tap_config(page_size=10)
    catalog = select_only(discover(config), set(JUNCTIONS))
    zoho.faults.latency_s = 0.01
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog)
    log = list(zoho.stats.log)

    truth = {stream: _rows_by_parent(zoho, stream) for stream in JUNCTIONS}
    parents = {stream: _parent_instants(zoho, stream) for stream in JUNCTIONS}
    written: dict[str, set[tuple[int, int, str]]] = {stream: set() for stream in JUNCTIONS}
    checked = 0
    for message in result.messages:
        if message["type"] == "RECORD":
            written[message["stream"]] |= junction_rows(message["stream"], [message["record"]])
        elif message["type"] == "STATE":
            for stream in JUNCTIONS:
                progress = message["value"]["bookmarks"].get(stream, {}).get(PASS_IN_PROGRESS)
                if not progress:
                    continue
                for parent in _covered(progress, parents[stream]):
                    missing = truth[stream].get(parent, set()) - written[stream]
                    assert not missing, f"{stream}: STATE covers parent {parent} before its rows"
                checked += 1
    assert checked > 10  # passes saved their progress many times along the way

    for stream in JUNCTIONS:
        assert junction_rows(stream, result.records[stream]) == junction_truth(zoho, stream)
        assert PASS_IN_PROGRESS not in result.final_state["bookmarks"][stream]
    # Read together: Deals' related lists were asked for before the Campaigns passes ended.
    related = [call.module for call in log if call.route == RELATED_ROUTE]
    last_campaign = max(i for i, module in enumerate(related) if module == "Campaigns")
    assert related.index("Deals") < last_campaign


def test_junction_passes_read_together_killed_at_random_points_lose_nothing(fresh):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    zoho = fresh
    config = zoho.tap_config(page_size=20)
    catalog = select_only(discover(config), set(JUNCTIONS))
    durable, kills = kill_and_resume(config, catalog, lambda: rng.randint(1, 400), KILLS)
    print(f"{kills} kills")
    for stream in JUNCTIONS:
        rows = [m["record"] for m in durable if m["type"] == "RECORD" and m["stream"] == stream]
        missing = junction_truth(zoho, stream) - junction_rows(stream, rows)
        assert not missing, f"{stream}: {len(missing)} rows lost"


def test_junction_passes_read_together_share_the_run_budget(fresh):
    zoho = fresh
    budget = 90
    config = zoho.tap_config(page_size=10, max_credits_per_run=budget)
    catalog = select_only(discover(config), set(JUNCTIONS))
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog)
    print(f"\n{zoho.stats.credits} credits spent of {budget}")
    # Together they spent no more than the run may; the Deals pass, too big for its third,
    # took what the Campaigns passes left once they ended, and resumes in the next run.
    assert budget - 5 <= zoho.stats.credits <= budget
    bookmarks = result.final_state["bookmarks"]
    for stream in ("Campaigns_Contacts", "Campaigns_Leads"):
        assert PASS_IN_PROGRESS not in bookmarks[stream]
        assert junction_rows(stream, result.records[stream]) == junction_truth(zoho, stream)
    progress = bookmarks["Deals_Contact_Roles"][PASS_IN_PROGRESS]
    assert 0 < progress[PARENTS_READ] < len(zoho.record_ids("Deals"))


def test_junction_passes_after_attachments_get_only_what_it_left(fresh):
    zoho = fresh
    budget = 3650
    config = zoho.tap_config(include_attachments=True, max_credits_per_run=budget)
    catalog = select_only(discover(config), {"Attachments", *JUNCTIONS})
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog)
    print(f"\n{zoho.stats.credits} credits spent of {budget}")
    assert zoho.stats.credits <= budget
    # Attachments, read in its turn, came first; the passes read together came after it.
    order = list(dict.fromkeys(m["stream"] for m in result.messages if m["type"] == "SCHEMA"))
    assert order[0] == "Attachments"
