"""A full sync of the demo org, checked record by record against the emulator's ground truth."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from tap_helpers import (
    SyncResult,
    compare_record,
    discover,
    duplicate_keys,
    instant,
    is_utc_string,
    listable_fields,
    run_sync,
)

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.faults import LoggedCall
from tests.support.call_log import RECORDS_ROUTE, checked_walk_calls, chunk_calls, listed, walks_of

#: Zoho's cap on ``fields`` names per call (spec section 5).
FIELDS_CAP = 50
#: The ``ids`` list cap the tap assumes (the smallest documented list cap; paging.py).
IDS_CAP = 100


@dataclass(frozen=True)
class Served:
    """What the emulator served during the sync: counts, the call log, and the reading."""

    counts: Counter[tuple[str, str | None]]
    log: list[LoggedCall]
    inclusive: bool


@pytest.fixture(scope="module", params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def full(
    demo: ZohoEmulator, request: pytest.FixtureRequest
) -> tuple[dict[str, Any], SyncResult, Served]:
    """One full sync under each reading of If-Modified-Since (spec section 15, point 1)."""
    catalog = discover(demo.tap_config())
    demo.faults.if_modified_since_exclusive = request.param
    demo.stats.reset()
    try:
        result = run_sync(demo.tap_config(), catalog=catalog)
    finally:
        demo.faults.if_modified_since_exclusive = False
    served = Served(Counter(demo.stats.calls_by_module), list(demo.stats.log), not request.param)
    return catalog, result, served


def test_catalog_has_every_readable_module_and_the_settings_streams(demo, full):
    catalog, _, _ = full
    kinds = {
        entry["tap_stream_id"]: next(
            m["metadata"]["zoho-stream-kind"] for m in entry["metadata"] if not m["breadcrumb"]
        )
        for entry in catalog["streams"]
    }
    # Deleted-records and junction streams are derived from these (tests/tap_extras/).
    names = {name for name, kind in kinds.items() if kind in {"module", "settings"}}
    assert names == set(demo.module_names(readable_only=True)) | {
        "Users",
        "Roles",
        "Profiles",
        "Org",
    }


def test_every_record_of_every_module_id_by_id(demo, full):
    _, result, _ = full
    for module in demo.module_names(readable_only=True):
        emitted = result.ids(module)
        assert len(emitted) == len(set(emitted)), f"{module}: duplicates"
        assert set(emitted) == {int(i) for i in demo.record_ids(module)}, module
    assert set(result.ids("Users")) == {int(i) for i in demo.user_ids()}
    assert len(result.records["Org"]) == 1


def test_no_stream_sends_a_primary_key_twice(full):
    """Every stream of a full sync, junctions, deleted lists and settings included."""
    _, result, _ = full
    assert len(result.records) > 20
    for stream, records in result.records.items():
        assert result.keys[stream], f"{stream} declares no key_properties"
        assert not duplicate_keys(records, result.keys[stream]), stream


def test_the_duplicate_key_check_sees_a_duplicate(full):
    """The check above can fail: fed one record of a real stream twice, it reports that key."""
    _, result, _ = full
    for stream in ("Leads", "Deals_Contact_Roles", "Users"):
        records = result.records[stream]
        assert records, stream
        doubled = [*records, dict(records[len(records) // 2])]
        assert len(duplicate_keys(doubled, result.keys[stream])) == 1, stream


def test_every_field_of_every_record_matches_the_truth(demo, full):
    _, result, _ = full
    for module in demo.module_names(readable_only=True):
        fields = listable_fields(demo, module)
        for record in result.records[module]:
            truth = demo.get_record(module, str(record["id"]))
            problems = compare_record(fields, truth, record)
            assert not problems, f"{module} {record['id']}: {problems[:5]}"


def test_wide_module_comes_back_complete_at_the_documented_cost(demo, full):
    _, result, served = full
    wide = [m for m in demo.module_names() if len(listable_fields(demo, m)) > 50]
    assert wide, "the demo org has a module with more than 50 fields"
    for module in wide:
        fields = listable_fields(demo, module)
        records = result.records[module]
        assert len(records) == demo.count(module)
        for record in records:
            assert set(fields) <= set(record), module
        # Cost, from what Zoho was asked (the call log) against the documented caps: the sorted
        # walk (docs/cost.md), then for each page the records it brought, asked by ids= (at most
        # 100) once for each further set of at most 50 fields, each set holding id to merge by;
        # plus one single-record GET per record whose rich text reaches the 500-character cut.
        ids = demo.record_ids(module)
        walk_calls = checked_walk_calls(
            demo, module, ids, inclusive=served.inclusive, log=served.log
        )
        (walk,) = walks_of(served.log, module)
        chunks = chunk_calls(served.log, module)
        field_sets = {tuple(listed(call, "fields")) for call in chunks}
        walk_fields = {tuple(listed(call, "fields")) for call in walk.calls}
        assert len(walk_fields) == 1, "one field set drives the walk"
        asked = [name for names in field_sets | walk_fields for name in names]
        assert set(asked) == set(fields), module
        assert all(len(names) <= FIELDS_CAP and "id" in names for names in field_sets | walk_fields)
        fewest_sets = math.ceil((len(fields) - 1) / (FIELDS_CAP - 1))  # "id" in every call
        assert len(field_sets | walk_fields) == fewest_sets, module
        for names in field_sets:
            per_set = [
                listed(call, "ids") for call in chunks if tuple(listed(call, "fields")) == names
            ]
            assert all(len(batch) <= IDS_CAP for batch in per_set)
            asked_ids = [record for batch in per_set for record in batch]
            assert sorted(asked_ids) == sorted(ids), "each record once per further field set"
        pages = [page for page in walk.new if page]
        chunk_calls_expected = (fewest_sets - 1) * sum(math.ceil(len(p) / IDS_CAP) for p in pages)
        assert len(chunks) == chunk_calls_expected, module
        rich = [
            m["api_name"]
            for m in fields.values()
            if (m.get("textarea") or {}).get("type") == "rich_text"
        ]
        long_rich = sum(
            1
            for record_id in ids
            if any(len(demo.get_record(module, record_id).get(f) or "") >= 500 for f in rich)
        )
        assert served.counts[(RECORDS_ROUTE, module)] == walk_calls + chunk_calls_expected
        assert served.counts[("GET /crm/v8/{module}/{id}", module)] == long_rich


def test_converted_leads_are_included(demo, full):
    _, result, _ = full
    converted = {int(r["id"]) for r in demo.iter_records("Leads") if r.get("Converted__s")}
    assert converted, "the demo org has converted leads"
    assert converted <= set(result.ids("Leads"))


def test_datetimes_crossing_dst_are_utc_instants(demo, full):
    _, result, _ = full
    offsets = Counter()
    for module in demo.module_names(readable_only=True):
        truth = {int(r["id"]): r["Modified_Time"] for r in demo.iter_records(module)}
        for record in result.records[module]:
            raw = truth[record["id"]]
            offsets[raw[-6:]] += 1
            assert is_utc_string(record["Modified_Time"]), record["Modified_Time"]
            assert instant(record["Modified_Time"]) == instant(raw)
    # The demo user is in America/Los_Angeles and its data spans a DST change.
    assert offsets["-08:00"] > 0
    assert offsets["-07:00"] > 0


def test_sync_state_has_the_documented_shape(demo, full):
    _, result, _ = full
    bookmarks = result.final_state["bookmarks"]
    for module in demo.module_names(readable_only=True):
        mark = bookmarks[module]
        latest = max(instant(r["Modified_Time"]) for r in demo.iter_records(module))
        assert mark["replication_key"] == "Modified_Time"
        assert is_utc_string(mark["replication_key_value"])
        assert instant(mark["replication_key_value"]) == latest
        tied = {
            int(r["id"]) for r in demo.iter_records(module) if instant(r["Modified_Time"]) == latest
        }
        assert set(mark["ids_at_replication_key_value"]) == tied
        assert "progress_markers" not in mark


def test_schema_messages_keep_the_zoho_annotations(demo, full):
    _, result, _ = full
    leads = result.schemas["Leads"]["properties"]
    assert leads["id"]["type"] == ["integer"]
    assert leads["Owner"]["x-zoho-data-type"] == "ownerlookup"
    assert leads["Owner"]["properties"]["id"]["type"] == ["integer", "null"]
    assert leads["Modified_Time"]["format"] == "date-time"
    for module in demo.module_names(readable_only=True):
        props = result.schemas[module]["properties"]
        for meta in listable_fields(demo, module).values():
            if meta["api_name"] != "id":
                assert props[meta["api_name"]]["x-zoho-data-type"] == meta["data_type"]
