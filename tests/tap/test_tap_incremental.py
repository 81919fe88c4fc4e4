"""Incremental syncs: exactly the changed records, ties on Modified_Time, changes mid-read."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from tap_helpers import discover, instant, run_sync, select_only

from tap_zoho_crm.testing.emulator import ZohoEmulator

MODULES = ["Leads", "Contacts", "Deals", "Installations", "Leads_X_Products"]


def _text_field(zoho: ZohoEmulator, module: str) -> str | None:
    for meta in zoho.fields(module):
        if meta["data_type"] == "text" and not meta["read_only"] and meta["api_name"] != "id":
            return str(meta["api_name"])
    return None


def test_second_sync_emits_exactly_the_changed_records(fresh_demo):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = discover(config)
    first = run_sync(config, catalog=catalog)
    for module in MODULES:
        assert set(first.ids(module)) == {int(i) for i in zoho.record_ids(module)}

    changed: dict[str, set[int]] = {}
    new_values: dict[str, dict[int, str]] = {}
    for module in MODULES:
        ids = sorted(zoho.record_ids(module))
        field = _text_field(zoho, module)
        updated = ids[5:7]
        for record_id in updated:
            values = {field: f"changed-{record_id[-6:]}"} if field else None
            zoho.update_record(module, record_id, values)
            if field:
                new_values.setdefault(module, {})[int(record_id)] = f"changed-{record_id[-6:]}"
        created = zoho.create_record(module)
        zoho.delete_record(module, ids[9])
        changed[module] = {int(i) for i in [*updated, created]}

    second = run_sync(config, catalog=catalog, state=first.final_state)
    for module in zoho.module_names(readable_only=True):
        emitted = second.ids(module)
        assert len(emitted) == len(set(emitted)), module
        assert set(emitted) == changed.get(module, set()), module
    assert second.ids("Users") == []
    for module, values in new_values.items():
        field = _text_field(zoho, module)
        got = {r["id"]: r[field] for r in second.records[module]}
        for record_id, value in values.items():
            assert got[record_id] == value

    third = run_sync(config, catalog=catalog, state=second.final_state)
    for module in zoho.module_names(readable_only=True):
        assert third.ids(module) == [], module
    assert third.ids("Users") == []


def test_a_mass_update_sharing_one_instant_is_read_once_each(fresh_demo):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Leads"})
    first = run_sync(config, catalog=catalog)
    ids = sorted(zoho.record_ids("Leads"))[:450]
    zoho.update_records("Leads", ids)  # one shared Modified_Time: a 3-page tie block
    stamps = {instant(zoho.get_record("Leads", i)["Modified_Time"]) for i in ids}
    assert len(stamps) == 1

    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    emitted = second.ids("Leads")
    assert sorted(emitted) == sorted(int(i) for i in ids)
    mark = second.final_state["bookmarks"]["Leads"]
    assert set(mark["ids_at_replication_key_value"]) == {int(i) for i in ids}
    # Documented cost: the first fresh query, one re-anchored query, and the tie block walked
    # twice (the second walk catches records shifted by changes during the first).
    block_pages = math.ceil(len(ids) / 200)
    calls = zoho.stats.calls["GET /crm/v8/{module}"]
    print(f"\nmass update of {len(ids)} records: {calls} Get Records calls")
    assert calls <= 2 + 2 * block_pages

    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert third.ids("Leads") == []


def test_a_change_during_a_tie_walk_loses_nothing(fresh_demo):
    """The page_token is a server-side position: a record of the block that changes while the
    block is walked shifts later pages. The verification walk must recover the shifted record."""
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Leads"})
    first = run_sync(config, catalog=catalog)
    ids = sorted(zoho.record_ids("Leads"))[:450]
    zoho.update_records("Leads", ids)
    seen: list[int] = []
    moved: list[int] = []

    def on_message(message: dict) -> None:
        if message["type"] != "RECORD":
            return
        seen.append(message["record"]["id"])
        if len(seen) == 250 and not moved:
            # Change a record already emitted from the block's first page.
            moved.append(seen[10])
            zoho.clock.advance(5)
            zoho.update_record("Leads", str(seen[10]))

    second = run_sync(config, catalog=catalog, state=first.final_state, on_message=on_message)
    emitted = second.ids("Leads")
    assert set(emitted) == {int(i) for i in ids}
    # The changed record is emitted again with its new Modified_Time; nothing else twice.
    duplicates = {i for i in emitted if emitted.count(i) > 1}
    assert duplicates <= set(moved)
    latest = [r for r in second.records["Leads"] if r["id"] == moved[0]][-1]
    assert instant(latest["Modified_Time"]) == instant(
        zoho.get_record("Leads", str(moved[0]))["Modified_Time"]
    )


def test_start_date_limits_the_first_sync_by_instant(demo):
    truth = {int(r["id"]): instant(r["Modified_Time"]) for r in demo.iter_records("Contacts")}
    cut = sorted(truth.values())[len(truth) // 2]
    # The same instant written in another offset (the user's zone is America/Los_Angeles).
    start = cut.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat()
    catalog = select_only(discover(demo.tap_config()), {"Contacts"})
    result = run_sync(demo.tap_config(start_date=start), catalog=catalog)
    assert set(result.ids("Contacts")) == {i for i, t in truth.items() if t >= cut}


def test_start_date_does_not_hide_users_that_records_point_at(demo):
    """Owners of recent records may be users untouched for years: Users ignores start_date."""
    every_user = {int(i) for i in demo.user_ids()}
    latest = max(instant(r["Modified_Time"]) for r in demo.iter_records("Contacts"))
    start = (latest + dt.timedelta(days=1)).isoformat()
    catalog = select_only(discover(demo.tap_config()), {"Users", "Contacts"})
    result = run_sync(demo.tap_config(start_date=start), catalog=catalog)
    assert result.ids("Contacts") == []
    assert set(result.ids("Users")) == every_user


@pytest.mark.parametrize("exclusive", [False, True], ids=["inclusive", "exclusive"])
def test_page_boundaries_inside_a_tie_lose_nothing_under_either_if_modified_since_reading(
    fresh_demo, exclusive
):
    """Zoho does not say whether If-Modified-Since means >= or > (spec section 15, point 1).

    Pages of 20 over 5 records at one instant and 30 at the next put a page boundary among
    the 30: re-anchoring there must not skip the rest of them under either reading, and
    must not stall on a page of records already read.
    """
    zoho = fresh_demo
    ids = sorted(zoho.record_ids("Contacts"))
    zoho.clock.advance(3600)
    first_instant = zoho.clock.time()
    zoho.update_records("Contacts", ids[:5])
    zoho.clock.advance(1)
    zoho.update_records("Contacts", ids[5:35])
    zoho.clock.advance(60)
    zoho.faults.if_modified_since_exclusive = exclusive
    start = dt.datetime.fromtimestamp(math.floor(first_instant), dt.UTC).isoformat()
    config = zoho.tap_config(page_size=20, start_date=start)
    result = run_sync(config, catalog=select_only(discover(config), {"Contacts"}))
    assert sorted(result.ids("Contacts")) == sorted(int(i) for i in ids[:35])


@pytest.mark.parametrize("lookback", [0, 120])
def test_a_write_made_visible_late_needs_the_lookback(fresh_demo, lookback):
    zoho = fresh_demo
    config = zoho.tap_config(lookback_seconds=lookback)
    catalog = select_only(discover(config), {"Leads"})
    leads = sorted(zoho.record_ids("Leads"))
    zoho.clock.advance(300)
    zoho.update_record("Leads", leads[0])  # the newest record: the bookmark after the first run
    first = run_sync(config, catalog=catalog)
    # Stamped a minute before the bookmark, visible only after the first run read past it.
    zoho.update_record("Leads", leads[1], visible_late_by=60)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    if lookback:
        # The window before the bookmark is read again: the late write, and the bookmark's own
        # record re-sent (an idempotent upsert).
        assert sorted(second.ids("Leads")) == sorted([int(leads[0]), int(leads[1])])
    else:
        assert second.ids("Leads") == []  # the loss `lookback_seconds` exists for
