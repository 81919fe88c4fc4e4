"""`<Module>_deleted`: exactly the deletions the emulator lists, incrementally, never by order."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, instant, run_sync, select_only
from tests.tap_extras.extras_helpers import (
    DELETED_ROUTE,
    align_to_second_start,
    check_deleted_rows,
    deleted_truth,
    pages,
    utc,
)

MUTATED = ["Leads", "Contacts", "Installations"]


def deleted_streams(catalog: dict[str, Any]) -> list[str]:
    return sorted(
        e["tap_stream_id"] for e in catalog["streams"] if e["tap_stream_id"].endswith("_deleted")
    )


def test_every_module_stream_has_a_deleted_stream_with_the_documented_shape(demo, demo_catalog):
    modules = set(demo.module_names())
    entries = {e["tap_stream_id"]: e for e in demo_catalog["streams"]}
    assert set(deleted_streams(demo_catalog)) == {f"{m}_deleted" for m in modules}
    entry = entries["Leads_deleted"]
    root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
    assert root["zoho-stream-kind"] == "deleted"
    assert root["zoho-module"] == "Leads"
    assert entry["key_properties"] == ["id"]
    assert entry["replication_key"] == "deleted_time"
    props = entry["schema"]["properties"]
    assert props["id"]["type"] == ["integer"]
    assert props["deleted_time"]["format"] == "date-time"
    assert props["_zoho_deleted"]["type"] == ["boolean"]
    assert {"deleted_by", "type", "display_name"} <= set(props)


def test_first_sync_emits_exactly_the_emulators_deleted_records(demo, demo_catalog):
    streams = deleted_streams(demo_catalog)
    demo.stats.reset()
    result = run_sync(demo.tap_config(), catalog=select_only(demo_catalog, set(streams)))
    total = 0
    for stream in streams:
        module = stream.removesuffix("_deleted")
        truth = deleted_truth(demo, module)
        rows = result.records.get(stream, [])
        assert len(rows) == len(truth), stream
        assert check_deleted_rows(rows) == truth, stream
        total += len(truth)
        mark = result.final_state["bookmarks"][stream]
        if truth:
            newest = max(t["deleted_time"] for t in truth.values())
            assert instant(mark["replication_key_value"]) == newest, stream
            tied = {i for i, t in truth.items() if t["deleted_time"] == newest}
            assert set(mark["ids_at_replication_key_value"]) == tied, stream
        # One call per page of 200 entries (Zoho answers 204 when there are none).
        assert demo.stats.calls_by_module[(DELETED_ROUTE, module)] == pages(len(truth)), stream
    # Both kinds of deletion are in the demo data, and the API user's offsets are not UTC.
    kinds = {row["type"] for rows in result.records.values() for row in rows if "type" in row}
    assert kinds == {"recycle", "permanent"}
    assert total > 50
    print(f"\n{len(streams)} deleted streams, {total} deletions, {len(streams)} API calls")


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"])
def test_deletes_between_syncs_appear_exactly(zone):
    with ZohoEmulator(profile="demo", seed=7, user_time_zone=zone) as zoho:
        config = zoho.tap_config()
        catalog = select_only(discover(config), {f"{m}_deleted" for m in MUTATED})
        first = run_sync(config, catalog=catalog)
        deleted: dict[str, set[int]] = {}
        for module in MUTATED:
            ids = sorted(zoho.record_ids(module))
            zoho.delete_record(module, ids[0])  # recycle bin
            zoho.clock.advance(7)
            zoho.delete_record(module, ids[1], permanent=True)
            zoho.delete_record(module, ids[2])
            deleted[module] = {int(i) for i in ids[:3]}
        zoho.stats.reset()
        second = run_sync(config, catalog=catalog, state=first.final_state)
        for module in MUTATED:
            rows = second.records[f"{module}_deleted"]
            assert sorted(r["id"] for r in rows) == sorted(deleted[module]), module
            truth = deleted_truth(zoho, module)
            assert check_deleted_rows(rows) == {i: truth[i] for i in deleted[module]}, module
            assert {r["type"] for r in rows} == {"recycle", "permanent"}
            # The offset in Zoho's answer is the user's; what the tap writes is UTC.
            raw = next(e for e in zoho.deleted_records(module) if int(e["id"]) in deleted[module])
            assert zone == "UTC" or not raw["deleted_time"].endswith("+00:00")
        assert zoho.stats.calls[DELETED_ROUTE] == len(MUTATED)  # one page each
        third = run_sync(config, catalog=catalog, state=second.final_state)
        assert not any(third.records.get(f"{m}_deleted") for m in MUTATED)


def test_deletions_sharing_the_bookmarks_second_are_neither_lost_nor_repeated(fresh):
    zoho = fresh
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Contacts_deleted"})
    ids = sorted(zoho.record_ids("Contacts"))[:3]
    align_to_second_start(zoho)
    for record_id in ids:
        zoho.delete_record("Contacts", record_id)
    stamps = {e["deleted_time"] for e in zoho.deleted_records("Contacts") if e["id"] in ids}
    assert len(stamps) == 1  # one Zoho second
    # A sync that stopped after emitting the first of them: bookmark there, that id tied.
    state = {
        "bookmarks": {
            "Contacts_deleted": {
                "replication_key": "deleted_time",
                "replication_key_value": utc(instant(stamps.pop())),
                "ids_at_replication_key_value": [int(ids[0])],
            }
        }
    }
    result = run_sync(config, catalog=catalog, state=state)
    assert sorted(r["id"] for r in result.records["Contacts_deleted"]) == [int(i) for i in ids[1:]]
    mark = result.final_state["bookmarks"]["Contacts_deleted"]
    assert set(mark["ids_at_replication_key_value"]) == {int(i) for i in ids}


def test_a_list_longer_than_2000_entries_is_read_whole_and_the_bookmark_waits_for_the_end():
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 40_000}) as zoho:
        for record_id in sorted(zoho.record_ids("Leads"))[:1400]:
            zoho.delete_record("Leads", record_id, permanent=record_id.endswith("7"))
        truth = deleted_truth(zoho, "Leads")
        assert len(truth) > 2000  # past the `page` cap: page_token territory
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Leads_deleted"})
        start = {
            "bookmarks": {
                "Leads_deleted": {
                    "replication_key": "deleted_time",
                    "replication_key_value": "2000-01-01T00:00:00+00:00",
                    "ids_at_replication_key_value": [],
                }
            }
        }
        states_during: list[dict[str, Any]] = []
        emitted: list[int] = []

        def watch(message: dict[str, Any]) -> None:
            if message["type"] == "RECORD":
                emitted.append(message["record"]["id"])
            elif message["type"] == "STATE" and emitted and len(emitted) < len(truth):
                states_during.append(message["value"])

        zoho.stats.reset()
        result = run_sync(config, catalog=catalog, state=start, on_message=watch)
        assert sorted(emitted) == sorted(truth)
        assert zoho.stats.calls[DELETED_ROUTE] == pages(len(truth))
        # STATE written mid-stream (every 1000 records) keeps the starting bookmark: the list
        # has no time order, so a resume must read it again from there.
        assert states_during
        for state in states_during:
            mark = state["bookmarks"]["Leads_deleted"]
            for key, value in start["bookmarks"]["Leads_deleted"].items():
                assert mark[key] == value, key
        final = result.final_state["bookmarks"]["Leads_deleted"]
        assert instant(final["replication_key_value"]) == max(
            t["deleted_time"] for t in truth.values()
        )


def _spread_deletions(zoho: ZohoEmulator, count: int) -> list[int]:
    """Delete ``count`` Leads a second apart (one in ten permanently); their integer ids."""
    ids = sorted(zoho.record_ids("Leads"))[:count]
    for record_id in ids:
        zoho.clock.advance(1)
        zoho.delete_record("Leads", record_id, permanent=record_id.endswith("7"))
    return [int(record_id) for record_id in ids]


def test_a_capped_list_in_deleted_time_order_is_read_whole_by_re_anchoring(caplog):
    """Section 15.10, the reading with no page tokens on /deleted (2,000 entries by `page`)."""
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 12_000}) as zoho:
        zoho.faults.deleted_without_page_token = True
        zoho.faults.deleted_oldest_first = True
        _spread_deletions(zoho, 4_500)
        truth = deleted_truth(zoho, "Leads")
        assert len(truth) > 4_000
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Leads_deleted"})
        with caplog.at_level(logging.WARNING):
            result = run_sync(config, catalog=catalog)
        emitted = [r["id"] for r in result.records["Leads_deleted"]]
        assert sorted(emitted) == sorted(truth)  # each once: repeats of re-anchoring dropped
        assert not [r for r in caplog.records if "paging reaches" in r.getMessage()]
        final = result.final_state["bookmarks"]["Leads_deleted"]
        assert instant(final["replication_key_value"]) == max(
            t["deleted_time"] for t in truth.values()
        )


def test_a_capped_list_in_no_time_order_warns_and_moves_on(caplog):
    """The least forgiving reading: no page tokens and newest first. What `page` cannot reach
    is reported, and the stream does not stay stuck on the same capped list."""
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 12_000}) as zoho:
        zoho.faults.deleted_without_page_token = True
        deleted_now = _spread_deletions(zoho, 4_500)
        truth = deleted_truth(zoho, "Leads")
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Leads_deleted"})
        with caplog.at_level(logging.WARNING):
            first = run_sync(config, catalog=catalog)
        warnings = [r.getMessage() for r in caplog.records if "paging reaches" in r.getMessage()]
        assert len(warnings) == 1
        assert "Leads_deleted" in warnings[0]
        emitted = {r["id"] for r in first.records["Leads_deleted"]}
        assert emitted <= set(truth)
        # Recycle-bin and permanent lists read apart reach further than `type=all` alone.
        newest = sorted(deleted_now, key=lambda i: truth[i]["deleted_time"])[-2000:]
        permanent = {i for i, t in truth.items() if t["type"] == "permanent"}
        assert set(newest) | (permanent & set(deleted_now)) <= emitted
        mark = first.final_state["bookmarks"]["Leads_deleted"]
        assert instant(mark["replication_key_value"]) == max(
            t["deleted_time"] for t in truth.values()
        )

        # The next run sees the next deletion, and only it.
        zoho.clock.advance(5)
        later = sorted(zoho.record_ids("Leads"))[0]
        zoho.delete_record("Leads", later)
        caplog.clear()
        second = run_sync(config, catalog=catalog, state=first.final_state)
        assert [r["id"] for r in second.records["Leads_deleted"]] == [int(later)]
        assert not [r for r in caplog.records if "paging reaches" in r.getMessage()]


@pytest.mark.parametrize(
    ("age_days", "lost"),
    [(30, set()), (70, {"recycle"}), (130, {"recycle", "permanent"})],
)
def test_a_bookmark_older_than_zohos_retention_warns(demo, caplog, age_days, lost):
    bookmark = dt.datetime.now(dt.UTC) - dt.timedelta(days=age_days)
    state = {
        "bookmarks": {
            "Deals_deleted": {
                "replication_key": "deleted_time",
                "replication_key_value": utc(bookmark),
                "ids_at_replication_key_value": [],
            }
        }
    }
    catalog = select_only(discover(demo.tap_config()), {"Deals_deleted"})
    caplog.set_level(logging.WARNING)
    result = run_sync(demo.tap_config(), catalog=catalog, state=state)
    warnings = [
        r.getMessage() for r in caplog.records if "longer than Zoho keeps" in r.getMessage()
    ]
    if not lost:
        assert warnings == []
    else:
        assert len(warnings) == 1
        for kind in ("recycle", "permanent"):
            assert (kind in warnings[0]) == (kind in lost)
    truth = deleted_truth(demo, "Deals")
    expected = {i for i, t in truth.items() if t["deleted_time"] >= bookmark.replace(microsecond=0)}
    assert {r["id"] for r in result.records.get("Deals_deleted", [])} == expected


def test_tombstones_go_into_the_module_stream_only_when_asked(fresh):
    zoho = fresh
    ids = sorted(zoho.record_ids("Contacts"))[:2]
    zoho.delete_record("Contacts", ids[0])
    zoho.delete_record("Contacts", ids[1], permanent=True)
    truth = deleted_truth(zoho, "Contacts")

    plain = run_sync(
        zoho.tap_config(),
        catalog=select_only(discover(zoho.tap_config()), {"Contacts", "Contacts_deleted"}),
    )
    assert "_sdc_deleted_at" not in plain.schemas["Contacts"]["properties"]
    assert not [r for r in plain.records["Contacts"] if "_sdc_deleted_at" in r]

    config = zoho.tap_config(emit_tombstones=True)
    catalog = select_only(discover(config), {"Contacts", "Contacts_deleted"})
    result = run_sync(config, catalog=catalog)
    assert result.schemas["Contacts"]["properties"]["_sdc_deleted_at"]["format"] == "date-time"
    tombs = [r for r in result.records["Contacts"] if r.get("_sdc_deleted_at")]
    assert {r["id"] for r in tombs} == set(truth)
    for tomb in tombs:
        assert set(tomb) == {"id", "Modified_Time", "_sdc_deleted_at"}
        assert instant(tomb["_sdc_deleted_at"]) == truth[tomb["id"]]["deleted_time"]
        assert tomb["Modified_Time"] == tomb["_sdc_deleted_at"]
    live = {r["id"] for r in result.records["Contacts"] if not r.get("_sdc_deleted_at")}
    assert live == {int(i) for i in zoho.record_ids("Contacts")}
    # The module's SCHEMA precedes its tombstones.
    kinds = [
        (m["type"], bool(m.get("record", {}).get("_sdc_deleted_at")))
        for m in result.messages
        if m.get("stream") == "Contacts"
    ]
    assert kinds[0] == ("SCHEMA", False)
    # A sync from that catalog without the module selected sends no tombstones.
    only_deleted = run_sync(config, catalog=select_only(catalog, {"Contacts_deleted"}))
    assert "Contacts" not in only_deleted.records
    assert {r["id"] for r in only_deleted.records["Contacts_deleted"]} == set(truth)


def test_start_date_bounds_the_first_read_by_instant(demo, demo_catalog):
    truth = deleted_truth(demo, "Leads")
    cut = sorted(t["deleted_time"] for t in truth.values())[len(truth) // 2]
    start = cut.astimezone(dt.timezone(dt.timedelta(hours=-3))).isoformat()  # another offset
    catalog = select_only(demo_catalog, {"Leads_deleted"})
    result = run_sync(demo.tap_config(start_date=start), catalog=catalog)
    expected = {i for i, t in truth.items() if t["deleted_time"] >= cut}
    assert {r["id"] for r in result.records["Leads_deleted"]} == expected


@pytest.mark.parametrize("code", ["INVALID_URL_PATTERN", "INVALID_MODULE", "NOT_SUPPORTED"])
def test_a_module_without_a_deleted_list_is_skipped_with_one_warning(fresh, caplog, code):
    """Zoho does not say which modules lack `/deleted` (emulator `no_deleted_list`): that stream
    is skipped with one warning, and the module and the other deleted lists are read whole."""
    zoho = fresh
    zoho.faults.no_deleted_list = {"Leads": code}
    try:
        gone = sorted(zoho.record_ids("Contacts"))[0]
        zoho.delete_record("Contacts", gone)
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Leads", "Leads_deleted", "Contacts_deleted"})
        with caplog.at_level(logging.WARNING):
            result = run_sync(config, catalog=catalog)
    finally:
        zoho.faults.no_deleted_list = {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    skipped = [w for w in warnings if "no deleted-records list" in w]
    assert len(skipped) == 1, warnings
    assert "Leads_deleted" in skipped[0]
    assert code in skipped[0]
    assert not result.records.get("Leads_deleted")
    assert set(result.ids("Leads")) == {int(i) for i in zoho.record_ids("Leads")}
    emitted = {r["id"] for r in result.records["Contacts_deleted"]}
    assert emitted == set(deleted_truth(zoho, "Contacts"))
    assert int(gone) in emitted
