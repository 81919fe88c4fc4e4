"""Notes (a module, admin-only) and Attachments (opt-in, metadata, append)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import checked_walk_calls
from tests.tap.tap_helpers import discover, instant, is_utc_string, run_sync, select_only
from tests.tap_extras.extras_helpers import RECORDS_ROUTE, RELATED_ROUTE


def notes_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "Notes" in r.getMessage()
    ]


def test_notes_come_through_as_a_module_stream_for_admins(demo, demo_catalog):
    names = {e["tap_stream_id"] for e in demo_catalog["streams"]}
    assert {"Notes", "Notes_deleted"} <= names
    result = run_sync(demo.tap_config(), catalog=select_only(demo_catalog, {"Notes"}))
    assert {r["id"] for r in result.records["Notes"]} == {int(i) for i in demo.record_ids("Notes")}
    parents = [r["Parent_Id"] for r in result.records["Notes"] if r.get("Parent_Id")]
    assert parents
    assert all(isinstance(p["id"], int) for p in parents)


def test_notes_are_skipped_with_one_warning_for_a_standard_user(caplog):
    caplog.set_level(logging.WARNING)
    with ZohoEmulator(profile="minimal", seed=7, admin=False) as zoho:
        catalog = discover(zoho.tap_config())
        names = {e["tap_stream_id"] for e in catalog["streams"]}
        assert "Notes" not in names
        assert "Notes_deleted" not in names
        assert "Leads" in names
        warnings = notes_warnings(caplog)
        assert len(warnings) == 1
        assert "NOT_SUPPORTED" in warnings[0]


def test_a_catalog_with_notes_synced_by_a_standard_user_skips_them_once(caplog):
    with ZohoEmulator(profile="minimal", seed=7) as admin_org:
        catalog = select_only(discover(admin_org.tap_config()), {"Notes", "Contacts"})
    with ZohoEmulator(profile="minimal", seed=7, admin=False) as zoho:
        caplog.set_level(logging.WARNING)
        result = run_sync(zoho.tap_config(), catalog=catalog)
        assert "Notes" not in result.records
        assert {r["id"] for r in result.records["Contacts"]} == {
            int(i) for i in zoho.record_ids("Contacts")
        }
        warnings = notes_warnings(caplog)
        assert len(warnings) == 1
        assert "NOT_SUPPORTED" in warnings[0]


def attachment_truth(zoho: ZohoEmulator, modules: list[str]) -> dict[int, dict[str, Any]]:
    """Every attachment of every live record, keyed by attachment id."""
    return {
        int(item["id"]): {**item, "module": module}
        for module in modules
        for item in zoho.attachments(module)
    }


def test_attachments_are_opt_in_read_whole_then_appended_at_the_documented_cost():
    with ZohoEmulator(profile="minimal", seed=7) as zoho:
        plain = discover(zoho.tap_config())
        assert "Attachments" not in {e["tap_stream_id"] for e in plain["streams"]}

        config = zoho.tap_config(include_attachments=True)
        catalog = select_only(discover(config), {"Attachments"})
        entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "Attachments")
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        modules = zoho.attachment_modules()
        assert sorted(root["zoho-parent-modules"]) == sorted(modules)
        assert root["zoho-stream-kind"] == "attachments"

        zoho.stats.reset()
        first = run_sync(config, catalog=catalog)
        truth = attachment_truth(zoho, modules)
        rows = first.records["Attachments"]
        assert len(rows) == len(truth)
        assert {r["id"] for r in rows} == set(truth)
        for row in rows:
            item = truth[row["id"]]
            assert row["File_Name"] == item["File_Name"]
            assert row["Size"] == int(item["Size"])
            assert row["_parent_id"] == int(item["Parent_Id"])
            assert row["_parent_module"] == item["module"]
            assert row["Parent_Id"]["id"] == int(item["Parent_Id"])
            assert row["File_Id"] == item["$file_id"]
            assert is_utc_string(row["Modified_Time"])
            assert instant(row["Modified_Time"]).timestamp() == item["Modified_Time"]
        # One walk per module and one related-list call per record.
        for module in modules:
            ids = zoho.record_ids(module)
            calls = zoho.stats.calls_by_module
            assert calls[(RECORDS_ROUTE, module)] == checked_walk_calls(zoho, module, ids)
            assert calls[(RELATED_ROUTE, module)] == len(ids)
        cost = sum(zoho.stats.calls.values())
        print(f"\nAttachments over {len(modules)} modules: {cost} API calls per run")

        # Nothing new: nothing emitted (append), at the same cost.
        zoho.stats.reset()
        second = run_sync(config, catalog=catalog, state=first.final_state)
        assert not second.records.get("Attachments")
        assert sum(zoho.stats.calls.values()) == cost
