"""Discovery: which modules become streams, what is skipped, and syncs from a catalog."""

from __future__ import annotations

import logging

import pytest
from tap_helpers import discover, listable_fields, run_sync, select_only

from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

INVENTORY = {"Quotes", "Sales_Orders", "Purchase_Orders", "Invoices"}
SETTINGS = {"Users", "Roles", "Profiles", "Org"}


def _names(catalog: dict) -> set[str]:
    """Module and settings streams (derived kinds are tested in tests/tap_extras/)."""
    return {
        entry["tap_stream_id"]
        for entry in catalog["streams"]
        if next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])["zoho-stream-kind"]
        in {"module", "settings"}
    }


def test_streams_follow_settings_modules(demo):
    catalog = discover(demo.tap_config())
    modules = {m["api_name"]: m for m in demo.all_modules()}
    names = _names(catalog)
    for name, module in modules.items():
        readable = name in demo.module_names(readable_only=True)
        assert (name in names) == readable, name
        if not module["api_supported"] or module["generated_type"] not in {
            "default",
            "custom",
            "linking",
        }:
            assert name not in names
    kinds = {modules[n]["generated_type"] for n in names - SETTINGS}
    assert kinds >= {"default", "custom", "linking"}
    assert names >= SETTINGS


def test_org_without_inventory_skips_those_modules_with_one_warning_each(caplog):
    caplog.set_level(logging.WARNING)
    with ZohoEmulator(profile="demo", seed=7, inventory=False) as zoho:
        catalog = discover(zoho.tap_config())
        assert not (_names(catalog) & INVENTORY)
        assert set(zoho.module_names(readable_only=True)) | SETTINGS == _names(catalog)
    for module in INVENTORY:
        warnings = [
            r for r in caplog.records if r.levelno == logging.WARNING and module in r.getMessage()
        ]
        assert len(warnings) == 1, module
        assert "INVALID_MODULE" in warnings[0].getMessage()


def test_a_catalog_naming_an_unreadable_module_syncs_the_rest(caplog):
    with ZohoEmulator(profile="demo", seed=7) as full:
        catalog = select_only(discover(full.tap_config()), {"Quotes", "Vendors"})
    caplog.set_level(logging.WARNING)
    with ZohoEmulator(profile="demo", seed=7, inventory=False) as zoho:
        result = run_sync(zoho.tap_config(), catalog=catalog)
        assert set(result.ids("Vendors")) == {int(i) for i in zoho.record_ids("Vendors")}
        assert result.ids("Quotes") == []
    skipped = [r.getMessage() for r in caplog.records if "Skipping stream Quotes" in r.getMessage()]
    assert len(skipped) == 1
    assert "INVALID_MODULE" in skipped[0]


def test_sync_from_a_catalog_reads_no_field_metadata(demo):
    catalog = discover(demo.tap_config())
    demo.stats.reset()
    result = run_sync(demo.tap_config(), catalog=select_only(catalog, {"Leads", "Installations"}))
    assert demo.stats.calls["GET /crm/v8/settings/fields"] == 0
    assert demo.stats.calls["GET /crm/v8/settings/modules"] == 0
    assert set(result.records) == {"Leads", "Installations"}
    # Catalog metadata and annotations survive the round trip into SCHEMA messages.
    assert result.schemas["Leads"]["properties"]["Owner"]["x-zoho-data-type"] == "ownerlookup"


def test_deselected_fields_are_not_requested(demo):
    catalog = select_only(discover(demo.tap_config()), {"Leads"})
    leads = next(s for s in catalog["streams"] if s["tap_stream_id"] == "Leads")
    for item in leads["metadata"]:
        if item["breadcrumb"] == ["properties", "Description"]:
            item["metadata"]["selected"] = False
    result = run_sync(demo.tap_config(), catalog=catalog)
    assert all("Description" not in r for r in result.records["Leads"])
    assert "Description" not in result.schemas["Leads"]["properties"]
    assert len(result.records["Leads"]) == demo.count("Leads")


def test_a_field_added_after_discovery_appears_after_rediscovery(fresh_demo):
    zoho = fresh_demo
    old = select_only(discover(zoho.tap_config()), {"Deals"})
    zoho.add_field("Deals", "Churn_Risk__c", "picklist")
    before = run_sync(zoho.tap_config(), catalog=old)
    assert len(before.records["Deals"]) == zoho.count("Deals")
    new = select_only(discover(zoho.tap_config()), {"Deals"})
    deals = next(s for s in new["streams"] if s["tap_stream_id"] == "Deals")
    assert deals["schema"]["properties"]["Churn_Risk__c"]["x-zoho-data-type"] == "picklist"


def test_a_new_custom_module_is_discovered(fresh_demo):
    zoho = fresh_demo
    zoho.add_module("Projects__c", count=25)
    result = run_sync(zoho.tap_config(include_modules=["Projects__c"]))
    assert set(result.records) == {"Projects__c"}
    assert set(result.ids("Projects__c")) == {int(i) for i in zoho.record_ids("Projects__c")}


def test_include_and_exclude(demo):
    names = _names(discover(demo.tap_config(include_modules=["Leads", "Users"])))
    assert names == {"Leads", "Users"}
    names = _names(discover(demo.tap_config(exclude_modules=["Leads", "Org"])))
    assert "Leads" not in names
    assert "Org" not in names
    assert "Contacts" in names
    with pytest.raises(ZohoConfigError, match="Leadz"):
        TapZohoCrm(config=demo.tap_config(include_modules=["Leadz"]), parse_env_config=False)


def test_a_catalog_field_deleted_in_zoho_is_left_out_with_one_warning(demo, caplog):
    catalog = select_only(discover(demo.tap_config()), {"Leads", "Installations"})
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in {"Leads", "Installations"}:
            # As if a custom field had been deleted in Zoho after discovery.
            entry["schema"]["properties"]["Gone_Field__c"] = {
                "type": ["string", "null"],
                "x-zoho-data-type": "text",
            }
    caplog.set_level(logging.WARNING)
    result = run_sync(demo.tap_config(), catalog=catalog)
    for module in ("Leads", "Installations"):
        assert set(result.ids(module)) == {int(i) for i in demo.record_ids(module)}
        warnings = [r.getMessage() for r in caplog.records if "Gone_Field__c" in r.getMessage()]
        assert len([w for w in warnings if w.startswith(module)]) == 1
    # The wide module's other chunks still arrive.
    record = result.records["Installations"][0]
    assert set(listable_fields(demo, "Installations")) <= set(record)


def test_a_module_without_modified_time_is_read_in_full_past_2000_records():
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 2500}) as zoho:
        catalog = select_only(discover(zoho.tap_config()), {"Leads"})
        entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "Leads")
        # As for a module whose metadata has no Modified_Time: no replication key.
        del entry["schema"]["properties"]["Modified_Time"]
        entry.pop("replication_key", None)
        entry["replication_method"] = "FULL_TABLE"
        entry["metadata"] = [
            m for m in entry["metadata"] if m["breadcrumb"] != ["properties", "Modified_Time"]
        ]
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"].pop("replication-key", None)
                item["metadata"].pop("valid-replication-keys", None)
        zoho.stats.reset()
        result = run_sync(zoho.tap_config(), catalog=catalog)
        emitted = result.ids("Leads")
        assert sorted(emitted) == sorted(int(i) for i in zoho.record_ids("Leads"))
        assert zoho.stats.calls["GET /crm/v8/{module}"] == 13  # ceil(2500 / 200)
