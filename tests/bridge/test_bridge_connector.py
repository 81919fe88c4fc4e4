"""Connector behaviour against the emulator: discovery once, one stream per call, no leaks."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest
from bridge_helpers import connection_options, read_to_end, same_offset

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect, ZohoCrmReadError
from lakeflow_bridge.options import OptionsError

FIELDS_ROUTE = "GET /crm/v8/settings/fields"
MODULES_ROUTE = "GET /crm/v8/settings/modules"
RECORDS_ROUTE = "GET /crm/v8/{module}"


def test_discovery_runs_once_and_each_read_runs_only_its_stream(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    assert zoho.stats.calls[FIELDS_ROUTE] == 0  # constructing a connector calls nothing
    tables = connector.list_tables()
    assert zoho.stats.calls[FIELDS_ROUTE] > 0
    zoho.stats.reset()

    for table in ("Leads", "Deals", "Roles"):
        assert table in tables
        connector.get_table_schema(table, {})
        connector.read_table_metadata(table, {})
        records, _ = connector.read_table(table, {}, {})
        assert list(records)
    assert zoho.stats.calls[FIELDS_ROUTE] == 0
    assert zoho.stats.calls[MODULES_ROUTE] == 0
    modules_read = {
        module for (route, module) in zoho.stats.calls_by_module if route == RECORDS_ROUTE
    }
    assert modules_read == {"Leads", "Deals"}


def test_seed_option_names_work_end_to_end(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    config = zoho.tap_config()
    options = {
        "client_id": config["client_id"],
        "client_value_tmp": config["client_secret"],
        "refresh_value_tmp": config["refresh_token"],
        "base_url": config["base_url"],
        "initial_load_start_date": "2000-01-01T00:00:00Z",
    }
    connector = ZohoCrmLakeflowConnect(options)
    records, offset = connector.read_table("Accounts", {}, {})
    assert {r["id"] for r in records} == {int(i) for i in zoho.record_ids("Accounts")}
    assert offset["replication_key"] == "Modified_Time"


def test_none_and_empty_offsets_both_start_from_the_beginning(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    from_none, offset_none = connector.read_table("Contacts", None, {})  # type: ignore[arg-type]
    from_empty, offset_empty = connector.read_table("Contacts", {}, {})
    assert list(from_none) == list(from_empty)
    assert offset_none == offset_empty
    again, same = connector.read_table("Contacts", offset_empty, {})
    assert list(again) == []
    assert same == offset_empty


def test_snapshot_tables_are_complete_in_one_call(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    snapshots = [
        t
        for t in connector.list_tables()
        if connector.read_table_metadata(t, {})["ingestion_type"] == "snapshot"
    ]
    assert {"Roles", "Profiles", "Org"} <= set(snapshots)
    for table in snapshots:
        read = read_to_end(connector, table, {"max_records_per_batch": "1"})
        assert len(read.batches) == 2, table  # everything, then "nothing new"
        assert read.batches[1] == [], table


def test_metadata_by_table_kind(demo_connector: ZohoCrmLakeflowConnect, demo_zoho: Any) -> None:
    tables = set(demo_connector.list_tables())
    for module in demo_zoho.module_names():
        meta = demo_connector.read_table_metadata(module, {})
        expected = "cdc_with_deletes" if f"{module}_deleted" in _streams(demo_connector) else "cdc"
        assert meta == {
            "primary_keys": ["id"],
            "cursor_field": "Modified_Time",
            "ingestion_type": expected,
        }, module
    assert demo_connector.read_table_metadata("Users", {})["ingestion_type"] == "cdc"
    for table in ("Roles", "Profiles", "Org"):
        assert demo_connector.read_table_metadata(table, {})["ingestion_type"] == "snapshot"
    for table in tables & {"Campaigns_Leads", "Campaigns_Contacts", "Deals_Contact_Roles"}:
        meta = demo_connector.read_table_metadata(table, {})
        assert meta["ingestion_type"] == "snapshot", table
        assert len(meta["primary_keys"]) >= 2, table
    if "Attachments" in tables:
        assert demo_connector.read_table_metadata("Attachments", {})["ingestion_type"] == "append"


def _streams(connector: ZohoCrmLakeflowConnect) -> set[str]:
    return {entry["tap_stream_id"] for entry in connector.catalog["streams"]}


def test_a_pickled_connector_reads_without_discovering_again(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    connector.list_tables()
    zoho.stats.reset()
    clone = pickle.loads(pickle.dumps(connector))  # noqa: S301 - what Spark does to it
    records, offset = clone.read_table("Accounts", {}, {})
    assert list(records)
    assert zoho.stats.calls[FIELDS_ROUTE] == 0
    assert same_offset(clone.read_table("Accounts", offset, {})[1], offset)
    restored = ZohoCrmLakeflowConnect.from_catalog(connection_options(zoho), connector.catalog)
    assert restored.list_tables() == connector.list_tables()
    assert zoho.stats.calls[FIELDS_ROUTE] == 0


def test_bad_options_and_credentials_give_clear_errors_without_secrets(
    fresh_zoho: Any, caplog: pytest.LogCaptureFixture
) -> None:
    zoho = fresh_zoho()
    good = connection_options(zoho)
    with pytest.raises(OptionsError, match="refresh_token"):
        ZohoCrmLakeflowConnect({k: v for k, v in good.items() if k != "refresh_token"})
    for bad, message in (
        ({"initial_load_start_date": "last tuesday"}, "'start_date' is not an ISO 8601"),
        ({"base_url": "http://accounts.zoho.com"}, "must use https"),
        ({"page_size": "500"}, "'page_size' must be between"),
    ):
        with pytest.raises(OptionsError, match=message) as invalid:
            ZohoCrmLakeflowConnect({**good, **bad})  # fails at construction, before any HTTP
        assert good["client_secret"] not in str(invalid.value)
    caplog.set_level(logging.DEBUG)
    wrong = dict(good, client_secret="definitely-wrong-secret-42")
    connector = ZohoCrmLakeflowConnect(wrong)
    assert "definitely-wrong-secret-42" not in repr(connector)
    with pytest.raises(ZohoCrmReadError, match="discovering the Zoho CRM tables failed") as caught:
        connector.list_tables()
    for text in (str(caught.value), caplog.text):
        assert "definitely-wrong-secret-42" not in text
        assert zoho.refresh_token not in text


def test_tombstone_option_never_turns_deletes_into_null_upserts(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho, emit_tombstones="true"))
    first = read_to_end(connector, "Leads")
    deletes = read_to_end(connector, "Leads", deletes=True)
    victim = sorted(zoho.record_ids("Leads"))[5]
    zoho.delete_record("Leads", victim)
    after = read_to_end(connector, "Leads", start=first.offsets[-1])
    assert after.records == []  # a delete is not an upsert of an all-null row
    removed = read_to_end(connector, "Leads", start=deletes.offsets[-1], deletes=True)
    assert [r["id"] for r in removed.records] == [int(victim)]


def test_opt_in_kinds_are_tables_with_their_own_ingestion_types(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    options = connection_options(
        zoho,
        include_attachments="true",
        include_subforms="true",
        # Attachments cost one call per parent record: keep the parents to two modules.
        include_modules="Accounts,Quotes,Attachments,Quoted_Items",
    )
    connector = ZohoCrmLakeflowConnect(options)
    specs = connector._table_specs()
    assert connector.read_table_metadata("Attachments", {})["ingestion_type"] == "append"
    subforms = [t for t, spec in specs.items() if spec.kind == "subform"]
    assert subforms == ["Quoted_Items"]
    for table in ["Attachments", *subforms]:
        meta = connector.read_table_metadata(table, {})
        schema = connector.get_table_schema(table, {})
        assert meta["cursor_field"] in schema.fieldNames(), table
        read = read_to_end(connector, table, {"max_records_per_batch": "100"})
        assert read.converged, table
        assert all(len(batch) <= 100 for batch in read.batches), table
        assert len(read.batches) > 2, table  # really cut into batches
        ids = [r["id"] for r in read.records]
        assert ids, table
        assert len(ids) == len(set(ids)), table  # nothing delivered twice across batches


def test_an_include_list_keeps_the_deletes_of_the_modules_it_names(fresh_zoho: Any) -> None:
    """Naming a table must not silently turn cdc_with_deletes into cdc (deleted rows kept)."""
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(connection_options(zoho, include_modules="Leads,Deals"))
    assert connector.list_tables() == ["Deals", "Leads"]
    meta = connector.read_table_metadata("Leads", {})
    assert meta["ingestion_type"] == "cdc_with_deletes"
    victim = sorted(zoho.record_ids("Leads"))[3]
    zoho.delete_record("Leads", victim, permanent=True)
    deleted = read_to_end(connector, "Leads", deletes=True)
    assert int(victim) in {r["id"] for r in deleted.records}


def test_a_stream_zoho_refuses_fails_the_read_instead_of_emptying_the_table(
    fresh_zoho: Any,
) -> None:
    """An empty snapshot would make Lakeflow delete every row of the target table."""
    zoho = fresh_zoho()
    catalog = ZohoCrmLakeflowConnect(connection_options(zoho)).catalog
    narrower = zoho.issue_refresh_token(scope="ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
    options = dict(connection_options(zoho), refresh_token=narrower)
    connector = ZohoCrmLakeflowConnect.from_catalog(options, catalog)
    for table in ("Org", "Users"):
        with pytest.raises(ZohoCrmReadError, match="OAUTH_SCOPE_MISMATCH"):
            connector.read_table(table, {}, {})
    records, _ = connector.read_table("Roles", {}, {})
    assert {r["id"] for r in records} == {int(i) for i in zoho.role_ids()}


def test_connectors_with_the_same_options_share_one_discovery(fresh_zoho: Any) -> None:
    """Lakeflow builds a connector per table flow; each must not pay for discovery again."""
    zoho = fresh_zoho()
    first = ZohoCrmLakeflowConnect(connection_options(zoho))
    assert "Leads" in first.list_tables()
    discovered = zoho.stats.calls[FIELDS_ROUTE]
    assert discovered > 0
    second = ZohoCrmLakeflowConnect(connection_options(zoho))
    assert second.list_tables() == first.list_tables()
    assert zoho.stats.calls[FIELDS_ROUTE] == discovered
    other = ZohoCrmLakeflowConnect(connection_options(zoho, include_modules="Leads"))
    assert other.list_tables() == ["Leads"]
    assert zoho.stats.calls[FIELDS_ROUTE] > discovered
