"""Derived streams in the catalog: kinds, selection by name, and syncs rebuilt from a catalog."""

from __future__ import annotations

import json
import logging

import pytest

from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.tap import TapZohoCrm
from tests.tap.tap_helpers import cli, discover, run_sync, select_only
from tests.tap_extras.extras_helpers import deleted_truth, junction_rows, junction_truth

FIELDS_ROUTE = "GET /crm/v8/settings/fields"
RELATED_LISTS_ROUTE = "GET /crm/v8/settings/related_lists"
MODULES_ROUTE = "GET /crm/v8/settings/modules"


def names(catalog: dict) -> set[str]:
    return {entry["tap_stream_id"] for entry in catalog["streams"]}


def test_every_kind_round_trips_through_the_catalog_without_metadata_calls(demo):
    config = demo.tap_config(include_subforms=True, include_attachments=True)
    catalog = discover(config)
    kinds = {}
    for entry in catalog["streams"]:
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        kinds.setdefault(root["zoho-stream-kind"], set()).add(entry["tap_stream_id"])
    assert set(kinds) == {"module", "settings", "deleted", "junction", "subform", "attachments"}
    chosen = {"Contacts_deleted", "Campaigns_Contacts", "Quoted_Items", "Attachments"}
    demo.stats.reset()
    tap = TapZohoCrm(config=config, catalog=select_only(catalog, chosen), parse_env_config=False)
    assert {name: type(tap.streams[name]).kind for name in chosen} == {
        "Contacts_deleted": "deleted",
        "Campaigns_Contacts": "junction",
        "Quoted_Items": "subform",
        "Attachments": "attachments",
    }
    for route in (FIELDS_ROUTE, RELATED_LISTS_ROUTE, MODULES_ROUTE):
        assert demo.stats.calls[route] == 0, route
    result = run_sync(
        config, catalog=select_only(catalog, {"Contacts_deleted", "Campaigns_Contacts"})
    )
    assert {r["id"] for r in result.records["Contacts_deleted"]} == set(
        deleted_truth(demo, "Contacts")
    )
    assert junction_rows(
        "Campaigns_Contacts", result.records["Campaigns_Contacts"]
    ) == junction_truth(demo, "Campaigns_Contacts")


def test_a_catalog_without_the_taps_metadata_is_rediscovered_not_misread(demo, caplog):
    """A catalog stripped of zoho-* metadata must not turn junctions into module reads."""
    catalog = select_only(discover(demo.tap_config()), {"Campaigns_Contacts", "Contacts_deleted"})
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"] = {
                k: v for k, v in item["metadata"].items() if not k.startswith("zoho-")
            }
    demo.stats.reset()
    with caplog.at_level(logging.WARNING):
        result = run_sync(demo.tap_config(), catalog=catalog)
    assert any("zoho-stream-kind" in r.getMessage() for r in caplog.records)
    assert demo.stats.calls[MODULES_ROUTE] == 1
    assert set(result.records) == {"Campaigns_Contacts", "Contacts_deleted"}
    assert junction_rows(
        "Campaigns_Contacts", result.records["Campaigns_Contacts"]
    ) == junction_truth(demo, "Campaigns_Contacts")
    assert {r["id"] for r in result.records["Contacts_deleted"]} == set(
        deleted_truth(demo, "Contacts")
    )


def test_include_names_derived_streams_explicitly(demo, caplog):
    # A module's deleted records come with it; junctions must be named.
    assert names(discover(demo.tap_config(include_modules=["Leads", "Users", "Campaigns"]))) == {
        "Leads",
        "Leads_deleted",
        "Users",
        "Campaigns",
        "Campaigns_deleted",
    }
    assert names(
        discover(demo.tap_config(include_modules=["Leads"], exclude_modules=["Leads_deleted"]))
    ) == {"Leads"}
    assert names(discover(demo.tap_config(include_modules=["Leads", "Leads_deleted"]))) == {
        "Leads",
        "Leads_deleted",
    }
    caplog.set_level(logging.WARNING)
    assert names(discover(demo.tap_config(include_modules=["Deals", "Leads_deleted"]))) == {
        "Deals",
        "Deals_deleted",
    }
    assert any(
        "Leads_deleted" in r.getMessage() and "Leads" in r.getMessage() for r in caplog.records
    )
    with pytest.raises(ZohoConfigError, match="Leads_deletd"):
        TapZohoCrm(
            config=demo.tap_config(include_modules=["Leads", "Leads_deletd"]),
            parse_env_config=False,
        )


def test_exclude_drops_derived_streams_by_name_without_a_warning(demo, caplog):
    caplog.set_level(logging.WARNING)
    catalog = discover(demo.tap_config(exclude_modules=["Leads_deleted", "Deals_Contact_Roles"]))
    found = names(catalog)
    assert "Leads" in found
    assert "Contacts_deleted" in found
    assert not found & {"Leads_deleted", "Deals_Contact_Roles"}
    assert not [r for r in caplog.records if "exclude_modules names no known" in r.getMessage()]


def test_the_new_settings_are_documented_in_about():
    completed = cli(["--about", "--format=json"])
    assert completed.returncode == 0, completed.stderr
    settings = json.loads(completed.stdout)["settings"]["properties"]
    for name in (
        "emit_tombstones",
        "include_subforms",
        "include_attachments",
        "junction_full_pass_hours",
    ):
        assert settings[name]["description"], name
    assert settings["emit_tombstones"]["default"] is False
    assert settings["junction_full_pass_hours"]["default"] == 24
    assert settings["max_credits_per_run"]["description"]


def test_bad_values_of_the_new_settings_are_one_clear_error(demo):
    with pytest.raises(ZohoConfigError, match="junction_full_pass_hours"):
        TapZohoCrm(config=demo.tap_config(junction_full_pass_hours=-1), parse_env_config=False)
    with pytest.raises(ZohoConfigError, match="max_credits_per_run"):
        TapZohoCrm(config=demo.tap_config(max_credits_per_run=0), parse_env_config=False)
