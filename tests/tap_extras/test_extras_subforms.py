"""Subform streams (include_subforms): the emulator's rows, re-sent when their parent changes."""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

import pytest

from tap_zoho_crm.streams.subforms import SubformStream
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import checked_walk_calls, walks_of
from tests.tap.tap_helpers import compare_record, discover, instant, run_sync, select_only
from tests.tap_extras.extras_helpers import COQL_ROUTE, RECORDS_ROUTE, SINGLE_ROUTE

SUBFORMS = {
    "Quoted_Items": ("Quotes", "Quoted_Items"),
    "Ordered_Items": ("Sales_Orders", "Ordered_Items"),
    "Purchased_Items": ("Purchase_Orders", "Purchased_Items"),
    "Invoiced_Items": ("Invoices", "Invoiced_Items"),
    "Installation_Parts": ("Installations", "Installation_Parts"),
}
#: Scopes of a refresh token that may read everything but COQL.
NO_COQL = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"


def kind_of(entry: dict[str, Any]) -> str:
    return str(
        next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])["zoho-stream-kind"]
    )


def truth_rows(
    zoho: ZohoEmulator, subform: str, parents: list[str] | None = None
) -> dict[int, tuple[int, dict[str, Any]]]:
    """row id -> (parent id, row in Zoho's shape) for every row of the subform's live parents."""
    parent_module, field = SUBFORMS[subform]
    out = {}
    for parent in parents if parents is not None else zoho.record_ids(parent_module):
        for row in zoho.get_record(parent_module, parent).get(field) or []:
            out[int(row["id"])] = (int(parent), row)
    return out


def check_rows(
    zoho: ZohoEmulator, subform: str, rows: list[dict[str, Any]], parents: list[str] | None = None
) -> None:
    truth = truth_rows(zoho, subform, parents)
    assert len(rows) == len(truth), subform
    assert {r["id"] for r in rows} == set(truth), subform
    fields = {f["api_name"]: f for f in zoho.fields(subform)}
    parent_module = SUBFORMS[subform][0]
    for row in rows:
        parent, raw = truth[row["id"]]
        assert row["_parent_id"] == parent
        assert row["_parent_module"] == parent_module
        parent_time = zoho.get_record(parent_module, str(parent))["Modified_Time"]
        assert instant(row["_parent_modified_time"]) == instant(parent_time)
        problems = compare_record(fields, raw, row)
        assert not problems, (subform, row["id"], problems)


def coql_calls(zoho: ZohoEmulator, subform: str, parents: list[str]) -> int:
    """One COQL call per 100 parents (LIMIT 200), plus 2,000-row pages past the first 200 rows."""
    calls = 0
    truth = truth_rows(zoho, subform, parents)
    for start in range(0, len(parents), 100):
        batch = {int(p) for p in parents[start : start + 100]}
        rows = sum(1 for parent, _ in truth.values() if parent in batch)
        calls += 1 + (math.ceil((rows - 200) / 2000) if rows > 200 else 0)
    return calls


def test_subform_streams_exist_only_when_asked(demo, demo_catalog):
    assert not [e for e in demo_catalog["streams"] if kind_of(e) == "subform"]
    catalog = discover(demo.tap_config(include_subforms=True))
    entries = {e["tap_stream_id"]: e for e in catalog["streams"] if kind_of(e) == "subform"}
    assert set(entries) == set(SUBFORMS)
    for name, entry in entries.items():
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        assert root["zoho-parent-module"] == SUBFORMS[name][0]
        assert root["zoho-parent-field"] == SUBFORMS[name][1]
        assert entry["key_properties"] == ["id"]
        assert entry["replication_key"] == "_parent_modified_time"


def test_rows_match_the_emulator_at_the_documented_cost(demo):
    config = demo.tap_config(include_subforms=True)
    catalog = select_only(discover(config), set(SUBFORMS))
    demo.stats.reset()
    result = run_sync(config, catalog=catalog)
    expected_coql = 0
    for subform, (parent_module, _) in SUBFORMS.items():
        check_rows(demo, subform, result.records[subform])
        ids = demo.record_ids(parent_module)
        assert demo.stats.calls_by_module[(RECORDS_ROUTE, parent_module)] == checked_walk_calls(
            demo, parent_module, ids
        )
        # The walk hands over each page's new parents (as Zoho listed them); each COQL batch
        # is 100 of them.
        (walk,) = walks_of(demo.stats.log, parent_module)
        for page in walk.new:
            expected_coql += coql_calls(demo, subform, page)
    assert demo.stats.calls[COQL_ROUTE] == expected_coql
    assert demo.stats.calls[SINGLE_ROUTE] == 0
    parents = sum(demo.count(p) for p, _ in SUBFORMS.values())
    print(
        f"\nsubforms of {parents} parents: {demo.stats.calls[COQL_ROUTE]} COQL calls, "
        f"{demo.stats.credits} credits in all (single GETs: {parents} calls)"
    )


def test_a_changed_parent_re_emits_its_rows_and_nothing_else(fresh):
    zoho = fresh
    config = zoho.tap_config(include_subforms=True)
    catalog = select_only(discover(config), {"Quoted_Items", "Installation_Parts"})
    first = run_sync(config, catalog=catalog)
    check_rows(zoho, "Quoted_Items", first.records["Quoted_Items"])

    quote = sorted(zoho.record_ids("Quotes"))[3]
    rows = zoho.get_record("Quotes", quote)["Quoted_Items"]
    kept = {"id": rows[0]["id"], "Product_Name": rows[0]["Product_Name"], "Quantity": 99.0}
    added = {"Product_Name": rows[0]["Product_Name"], "Quantity": 1.0, "List_Price": 10.0}
    zoho.clock.advance(3)
    zoho.update_record("Quotes", quote, {"Quoted_Items": [kept, added]})
    installation = sorted(zoho.record_ids("Installations"))[7]
    zoho.update_record("Installations", installation)  # parent edited, rows untouched

    second = run_sync(config, catalog=catalog, state=first.final_state)
    check_rows(zoho, "Quoted_Items", second.records["Quoted_Items"], [quote])
    assert len(second.records["Quoted_Items"]) == 2  # a removed row is no longer sent
    assert {r["Quantity"] for r in second.records["Quoted_Items"]} == {99.0, 1.0}
    check_rows(zoho, "Installation_Parts", second.records["Installation_Parts"], [installation])
    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert not third.records.get("Quoted_Items")
    assert not third.records.get("Installation_Parts")


def test_without_the_coql_scope_rows_come_from_single_record_gets(caplog):
    with ZohoEmulator(profile="minimal", seed=7) as zoho:
        token = zoho.issue_refresh_token(scope=NO_COQL)
        config = zoho.tap_config(refresh_token=token, include_subforms=True)
        catalog = select_only(discover(config), {"Quoted_Items", "Installation_Parts"})
        caplog.set_level(logging.WARNING)
        zoho.stats.reset()
        result = run_sync(config, catalog=catalog)
        for subform in ("Quoted_Items", "Installation_Parts"):
            check_rows(zoho, subform, result.records[subform])
        fallbacks = [r for r in caplog.records if "COQL refused" in r.getMessage()]
        assert len(fallbacks) == 2  # once per stream, at its first COQL call
        assert "OAUTH_SCOPE_MISMATCH" in fallbacks[0].getMessage()
        parents = zoho.count("Quotes") + zoho.count("Installations")
        assert zoho.stats.calls[SINGLE_ROUTE] == parents


def test_orgs_without_inventory_keep_the_custom_subform():
    with ZohoEmulator(profile="demo", seed=7, inventory=False) as zoho:
        catalog = discover(zoho.tap_config(include_subforms=True))
        subforms = {e["tap_stream_id"] for e in catalog["streams"] if kind_of(e) == "subform"}
        assert subforms == {"Installation_Parts"}


def test_a_sync_stopped_inside_a_parent_resumes_without_losing_its_rows(monkeypatch):
    monkeypatch.setattr(SubformStream, "STATE_MSG_FREQUENCY", 7)
    with ZohoEmulator(profile="minimal", seed=7) as zoho:
        config = zoho.tap_config(include_subforms=True)
        catalog = select_only(discover(config), {"Installation_Parts"})
        truth = truth_rows(zoho, "Installation_Parts")
        seen: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []

        per_parent = Counter(parent for parent, _ in truth.values())

        class StopError(Exception):
            pass

        def stop_mid_parent(message: dict[str, Any]) -> None:
            if message["type"] == "STATE":
                states.append(message["value"])
            elif message["type"] == "RECORD":
                seen.append(message["record"])
                parent = message["record"]["_parent_id"]
                done = sum(1 for row in seen if row["_parent_id"] == parent)
                if len(seen) > 20 and done < per_parent[parent]:
                    raise StopError

        with pytest.raises(StopError):
            run_sync(config, catalog=catalog, on_message=stop_mid_parent)
        last = states[-1]
        assert "Installation_Parts" in last["bookmarks"]
        resumed = run_sync(config, catalog=catalog, state=last)
        again = {r["id"] for r in resumed.records["Installation_Parts"]}
        assert {r["id"] for r in seen} | again == set(truth)
        # Parents finished before that STATE are not read again.
        mark = instant(last["bookmarks"]["Installation_Parts"]["replication_key_value"])
        for row in resumed.records["Installation_Parts"]:
            assert instant(row["_parent_modified_time"]) >= mark


@pytest.mark.parametrize("as_data", [False, True], ids=["empty-204", "empty-data"])
def test_a_changed_parent_without_rows_reads_an_empty_coql_answer_either_way(fresh, as_data):
    """Section 9 leaves open whether an empty COQL result is 204 or ``data: []``: a run whose
    only changed parent has no subform rows left reads that answer cleanly either way, and the
    next change still comes through whole."""
    zoho = fresh
    zoho.faults.coql_empty_as_data = as_data
    config = zoho.tap_config(include_subforms=True)
    catalog = select_only(discover(config), {"Quoted_Items"})
    first = run_sync(config, catalog=catalog)
    check_rows(zoho, "Quoted_Items", first.records["Quoted_Items"])
    quotes = sorted(zoho.record_ids("Quotes"))
    zoho.clock.advance(3)
    zoho.update_record("Quotes", quotes[1], {"Quoted_Items": []})
    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    assert not second.records.get("Quoted_Items")
    coql = [c for c in zoho.stats.log if c.route == COQL_ROUTE]
    assert len(coql) == 1
    assert coql[0].status == (200 if as_data else 204)

    zoho.clock.advance(3)
    zoho.update_record("Quotes", quotes[2])
    third = run_sync(config, catalog=catalog, state=second.final_state)
    check_rows(zoho, "Quoted_Items", third.records["Quoted_Items"], parents=[quotes[2]])
