"""Every table of the demo org through the bridge into Spark, checked against the emulator.

For each table: the schema builds, ``spark.createDataFrame(records, schema)`` succeeds, the row
count and ids match the emulator's ground truth, and lookups are structs (``Owner.email``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from bridge_helpers import TableRead, read_to_end

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.tables import KIND_JUNCTION, KIND_MODULE, KIND_SETTINGS

pytestmark = pytest.mark.spark  # a local SparkSession

JUNCTION_MEMBERS = {"Campaigns_Leads": "Leads", "Campaigns_Contacts": "Contacts"}


def as_int(value: Any) -> int:
    return int(value)


def module_truth(zoho: Any, module: str) -> set[int]:
    return {as_int(i) for i in zoho.record_ids(module)}


def junction_truth(zoho: Any, table: str) -> set[tuple[int, int]]:
    """(parent, member) pairs, from the emulator's relationship ground truth."""
    if table in JUNCTION_MEMBERS:
        return {
            (as_int(campaign), as_int(member))
            for campaign in zoho.record_ids("Campaigns")
            for member in zoho.campaign_members(campaign, JUNCTION_MEMBERS[table])
        }
    return {
        (as_int(deal), as_int(contact))
        for deal in zoho.record_ids("Deals")
        for contact in zoho.contact_roles(deal)
    }


def settings_truth(zoho: Any, table: str) -> set[int]:
    """Ids of Users (every user: the tap reads AllUsers and DeletedUsers), Roles, Profiles, Org."""
    if table == "Users":
        return {as_int(i) for i in zoho.user_ids()}
    if table == "Roles":
        return {as_int(i) for i in zoho.role_ids()}
    if table == "Profiles":
        return {as_int(i) for i in zoho.profile_ids()}
    return {as_int(zoho.org_id())}


def test_every_table_builds_parses_and_matches_the_emulator(
    spark: Any,
    demo_zoho: Any,
    demo_connector: ZohoCrmLakeflowConnect,
    demo_reads: dict[str, TableRead],
) -> None:
    specs = demo_connector._table_specs()  # the kind of each table, from the tap's catalog
    modules = set(demo_zoho.module_names())
    listed_modules = {t for t, spec in specs.items() if spec.kind == KIND_MODULE}
    assert modules <= set(demo_reads), modules - set(demo_reads)
    checked: Counter[str] = Counter()
    for table, read in demo_reads.items():
        schema = demo_connector.get_table_schema(table, {})
        frame = spark.createDataFrame(read.records, schema)
        rows = frame.collect()
        assert len(rows) == len(read.records), table
        kind = specs[table].kind
        if kind == KIND_MODULE and table in modules:
            ids = [as_int(r["id"]) for r in rows]
            assert len(ids) == len(set(ids)), (table, "duplicate ids")
            assert set(ids) == module_truth(demo_zoho, table), table
            checked["module"] += 1
        elif kind == KIND_SETTINGS:
            ids = [as_int(r["id"]) for r in rows]
            assert len(ids) == len(set(ids)), (table, "duplicate ids")
            assert set(ids) == settings_truth(demo_zoho, table), table
            checked["settings"] += 1
        elif kind == KIND_JUNCTION:
            member = next(k for k in specs[table].key_properties if k != "_parent_id")
            pairs = [(as_int(r["_parent_id"]), as_int(r[member])) for r in rows]
            assert len(pairs) == len(set(pairs)), (table, "duplicate keys")
            truth = junction_truth(demo_zoho, table)
            assert truth, table
            assert set(pairs) == truth, table
            checked["junction"] += 1
    assert checked["module"] == len(modules & listed_modules), checked
    assert checked["settings"] == 4, checked
    assert checked["junction"] == 3, checked


def test_lookups_are_structs_and_owner_email_is_selectable(
    spark: Any,
    demo_zoho: Any,
    demo_connector: ZohoCrmLakeflowConnect,
    demo_reads: dict[str, TableRead],
) -> None:
    with_owner = 0
    for table in demo_zoho.module_names():
        schema = demo_connector.get_table_schema(table, {})
        if "Owner" not in schema.fieldNames():
            continue
        frame = spark.createDataFrame(demo_reads[table].records, schema)
        got = {r["id"]: r["email"] for r in frame.select("id", "Owner.email").collect()}
        truth = {
            as_int(record["id"]): (record.get("Owner") or {}).get("email")
            for record in demo_zoho.iter_records(table)
        }
        assert got == truth, table
        assert any(got.values()), table
        with_owner += 1
    assert with_owner >= 5


def test_deletes_of_every_module_match_the_emulators_deleted_list(
    spark: Any, demo_zoho: Any, demo_connector: ZohoCrmLakeflowConnect
) -> None:
    with_deletes = [
        t
        for t in demo_connector.list_tables()
        if demo_connector.read_table_metadata(t, {})["ingestion_type"] == "cdc_with_deletes"
    ]
    assert set(with_deletes) >= {"Leads", "Contacts", "Accounts", "Deals"}
    compared = 0
    for table in with_deletes:
        read = read_to_end(demo_connector, table, deletes=True)
        assert read.converged, table
        schema = demo_connector.get_table_schema(table, {})
        rows = spark.createDataFrame(read.records, schema).select("id", "Modified_Time").collect()
        truth = {int(e["id"]): e["deleted_time"] for e in demo_zoho.deleted_records(table)}
        compared += len(truth)
        assert len(rows) == len(truth), table
        got = {r["id"]: datetime.fromisoformat(r["Modified_Time"]) for r in rows}
        assert got == {k: datetime.fromisoformat(v) for k, v in truth.items()}, table
    assert compared > 0  # the demo org has deletions to compare
