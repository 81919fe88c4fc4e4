"""Junction streams: every campaign member and contact role, kept current, at a documented cost."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from tap_zoho_crm.client.errors import ZohoCreditsExhaustedError
from tap_zoho_crm.plan import make_plan
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, instant, is_utc_string, run_sync, select_only
from tests.tap_extras.extras_helpers import (
    JUNCTION_MEMBERS,
    RECORDS_ROUTE,
    RELATED_ROUTE,
    campaign_passes_cost,
    junction_cost,
    junction_rows,
    junction_truth,
    peak_in_flight,
    utc,
)

JUNCTIONS = ["Campaigns_Contacts", "Campaigns_Leads", "Deals_Contact_Roles"]
PARENT = {
    "Campaigns_Leads": "Campaigns",
    "Campaigns_Contacts": "Campaigns",
    "Deals_Contact_Roles": "Deals",
}


def calls_for(zoho: ZohoEmulator, parent: str) -> int:
    """API calls the emulator served for one parent module: its walk and its related lists."""
    by_module = zoho.stats.calls_by_module
    return by_module[(RECORDS_ROUTE, parent)] + by_module[(RELATED_ROUTE, parent)]


def test_catalog_entries_have_composite_keys(demo_catalog):
    entries = {e["tap_stream_id"]: e for e in demo_catalog["streams"]}
    keys = {
        "Campaigns_Leads": ["_parent_id", "Lead_Id"],
        "Campaigns_Contacts": ["_parent_id", "Contact_Id"],
        "Deals_Contact_Roles": ["_parent_id", "Contact_Id"],
    }
    for name, key in keys.items():
        entry = entries[name]
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        assert root["zoho-stream-kind"] == "junction"
        assert entry["key_properties"] == key
        assert root.get("forced-replication-method", "FULL_TABLE") == "FULL_TABLE"
        assert {"_parent_id", "_parent_module"} <= set(entry["schema"]["properties"])


def test_every_member_and_role_is_emitted_at_the_documented_cost(demo, demo_catalog):
    demo.stats.reset()
    config = demo.tap_config(emit_activate_version_messages=True)
    result = run_sync(config, catalog=select_only(demo_catalog, set(JUNCTIONS)))
    for stream in JUNCTIONS:
        rows = result.records[stream]
        truth = junction_truth(demo, stream)
        assert len(rows) == len(truth), stream  # no duplicates
        assert junction_rows(stream, rows) == truth, stream
        assert {r["_parent_module"] for r in rows} == {PARENT[stream]}
    members = result.records["Campaigns_Leads"]
    for row in members:
        assert is_utc_string(row["Member_Created_Time"])
        assert is_utc_string(row["Member_Modified_Time"])
        assert isinstance(row["Membership_Id"], int)
    roles = result.records["Deals_Contact_Roles"]
    assert all(isinstance(r["Contact_Role_Id"], int) for r in roles)
    # Converted leads stay campaign members.
    converted = {int(r["id"]) for r in demo.iter_records("Leads") if r.get("Converted__s")}
    assert converted & {r["Lead_Id"] for r in members}
    # A full pass is a snapshot: every row carries its version, activated once all are out.
    for stream in JUNCTIONS:
        mine = [m for m in result.messages if m.get("stream") == stream]
        kinds = [m["type"] for m in mine]
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        assert kinds[-1] == "ACTIVATE_VERSION", stream  # after every row, not before
        version = mine[-1]["version"]
        assert {m.get("version") for m in mine if m["type"] == "RECORD"} == {version}
    # Cost: one walk call per 200 parents + one related-list call per parent per 200 rows.
    campaigns = campaign_passes_cost(demo)
    deals = junction_cost(demo, "Deals_Contact_Roles")
    assert calls_for(demo, "Campaigns") == campaigns
    assert calls_for(demo, "Deals") == deals
    print(
        f"\nfull pass: Campaigns_Leads + Campaigns_Contacts {campaigns} calls, "
        f"Deals_Contact_Roles {deals} calls"
    )


def test_member_and_role_changes_reach_the_next_sync_at_the_documented_cost(fresh):
    zoho = fresh
    config = zoho.tap_config(junction_full_pass_hours=0)  # a complete pass every run
    catalog = select_only(discover(config), set(JUNCTIONS))
    first = run_sync(config, catalog=catalog)
    assert junction_rows("Campaigns_Leads", first.records["Campaigns_Leads"]) == junction_truth(
        zoho, "Campaigns_Leads"
    )

    campaigns = sorted(zoho.record_ids("Campaigns"))
    leads = sorted(zoho.record_ids("Leads"))
    members = zoho.campaign_members(campaigns[0], "Leads")
    changed_member, removed_member = sorted(members)[:2]
    new_status = next(
        s for s in ("Responded", "Planned", "Received", "Sent") if s != members[changed_member]
    )
    zoho.set_member_status(campaigns[0], "Leads", changed_member, new_status)
    zoho.remove_member(campaigns[0], "Leads", removed_member)
    added_lead = next(
        lead for lead in leads if lead not in zoho.campaign_members(campaigns[1], "Leads")
    )
    zoho.add_member(campaigns[1], "Leads", added_lead, "Planned")
    contacts = zoho.campaign_members(campaigns[2], "Contacts")
    zoho.remove_member(campaigns[2], "Contacts", sorted(contacts)[0])
    deals = sorted(zoho.record_ids("Deals"))
    deal = next(d for d in deals if zoho.contact_roles(d))
    role_contact = sorted(zoho.contact_roles(deal))[0]
    zoho.remove_contact_role(deal, role_contact)
    other = next(d for d in deals if d != deal)
    new_contact = sorted(zoho.record_ids("Contacts"))[-1]
    zoho.set_contact_role(other, new_contact, "Decision Maker")
    # A member and a parent deleted outright disappear too.
    zoho.delete_record("Campaigns", campaigns[3])
    gone_lead = sorted(zoho.campaign_members(campaigns[4], "Leads"))[0]
    zoho.delete_record("Leads", gone_lead)

    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    for stream in JUNCTIONS:
        assert junction_rows(stream, second.records[stream]) == junction_truth(zoho, stream), stream
    leads_rows = junction_rows("Campaigns_Leads", second.records["Campaigns_Leads"])
    assert (int(campaigns[0]), int(changed_member), new_status) in leads_rows
    assert not {
        r
        for r in leads_rows
        if r[1] in {int(removed_member), int(gone_lead)}
        and r[0] in {int(campaigns[0]), int(campaigns[4])}
    }
    assert (int(campaigns[1]), int(added_lead), "Planned") in leads_rows
    assert not {r for r in leads_rows if r[0] == int(campaigns[3])}
    roles = junction_rows("Deals_Contact_Roles", second.records["Deals_Contact_Roles"])
    assert (int(other), int(new_contact), "Decision Maker") in roles
    assert not {r for r in roles if r[:2] == (int(deal), int(role_contact))}
    # The second run costs exactly a full pass over the parents that exist now.
    expected = {
        "Campaigns": campaign_passes_cost(zoho),
        "Deals": junction_cost(zoho, "Deals_Contact_Roles"),
    }
    got = {parent: calls_for(zoho, parent) for parent in expected}
    print(f"\nsecond sync: {got} API calls (documented: {expected})")
    assert got == expected


def test_per_parent_calls_run_concurrently_within_max_concurrency(fresh):
    zoho = fresh
    zoho.faults.latency_s = 0.01
    zoho.faults.concurrency_limit = 3  # Zoho answers 429 past this; none may happen
    config = zoho.tap_config(max_concurrency=3)
    catalog = select_only(discover(config), {"Deals_Contact_Roles"})
    zoho.stats.reset()
    with peak_in_flight(zoho) as peak:
        result = run_sync(config, catalog=catalog)
    assert junction_rows(
        "Deals_Contact_Roles", result.records["Deals_Contact_Roles"]
    ) == junction_truth(zoho, "Deals_Contact_Roles")
    assert 1 < peak[0] <= 3
    assert calls_for(zoho, "Deals") == junction_cost(zoho, "Deals_Contact_Roles")  # no 429 retries


def test_changed_parents_mode_between_full_passes(fresh):
    zoho = fresh
    config = zoho.tap_config(junction_full_pass_hours=24, emit_activate_version_messages=True)
    catalog = select_only(discover(config), {"Campaigns_Leads"})
    first = run_sync(config, catalog=catalog)
    state = first.final_state
    mark = state["bookmarks"]["Campaigns_Leads"]
    assert instant(mark["last_full_pass"]) <= dt.datetime.now(dt.UTC)
    assert [m for m in first.messages if m["type"] == "ACTIVATE_VERSION"]

    campaigns = sorted(zoho.record_ids("Campaigns"))
    untouched = campaigns[5]
    touched = campaigns[6]
    zoho.clock.advance(5)
    # A status change under an untouched parent; the touched parent is edited, and its
    # membership changes too.
    member = sorted(zoho.campaign_members(untouched, "Leads"))[0]
    zoho.set_member_status(untouched, "Leads", member, "Sent")
    zoho.update_record("Campaigns", touched)
    removed = sorted(zoho.campaign_members(touched, "Leads"))[0]
    zoho.remove_member(touched, "Leads", removed)
    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=state)
    assert not [m for m in second.messages if m["type"] == "ACTIVATE_VERSION"]
    rows = junction_rows("Campaigns_Leads", second.records["Campaigns_Leads"])
    truth = {r for r in junction_truth(zoho, "Campaigns_Leads") if r[0] == int(touched)}
    # Only the parents modified since the last run were read (those the last run read at the
    # bookmark's own instant are skipped, as a module bookmark skips its tied ids).
    since = instant(mark["parents_modified_since"])
    read_at_since = set(mark["parents_at_since"])
    reread = [
        c
        for c in campaigns
        if instant(zoho.get_record("Campaigns", c)["Modified_Time"]) > since
        or (
            instant(zoho.get_record("Campaigns", c)["Modified_Time"]) == since
            and int(c) not in read_at_since
        )
    ]
    assert int(touched) in {int(c) for c in reread}
    assert {r[0] for r in rows} <= {int(c) for c in reread}
    assert truth <= rows
    assert calls_for(zoho, "Campaigns") == junction_cost(zoho, "Campaigns_Leads", parents=reread)
    assert not {r for r in rows if r[0] == int(untouched)}  # waits for the next full pass

    # Once the last full pass is older than the interval, the next run is a full pass again.
    aged = second.final_state
    aged["bookmarks"]["Campaigns_Leads"]["last_full_pass"] = utc(
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    )
    third = run_sync(config, catalog=catalog, state=aged)
    assert [m for m in third.messages if m["type"] == "ACTIVATE_VERSION"]
    assert junction_rows("Campaigns_Leads", third.records["Campaigns_Leads"]) == junction_truth(
        zoho, "Campaigns_Leads"
    )


def test_junctions_need_their_modules(demo):
    catalog = discover(demo.tap_config(exclude_modules=["Deals", "Campaigns_Contacts"]))
    names = {e["tap_stream_id"] for e in catalog["streams"]}
    assert "Campaigns_Leads" in names
    assert not names & {"Campaigns_Contacts", "Deals_Contact_Roles"}
    only = discover(demo.tap_config(include_modules=["Campaigns", "Leads", "Campaigns_Leads"]))
    assert {e["tap_stream_id"] for e in only["streams"]} == {
        "Campaigns",
        "Campaigns_deleted",
        "Leads",
        "Leads_deleted",
        "Campaigns_Leads",
    }


@pytest.mark.parametrize("stream", sorted(JUNCTION_MEMBERS))
def test_member_rows_carry_the_member_info(demo, demo_catalog, stream):
    result = run_sync(demo.tap_config(), catalog=select_only(demo_catalog, {stream}))
    by_key: dict[tuple[int, int], Any] = {}
    for row in result.records[stream]:
        key = (
            row["_parent_id"],
            row[{"Campaigns_Leads": "Lead_Id", "Campaigns_Contacts": "Contact_Id"}[stream]],
        )
        assert key not in by_key
        by_key[key] = row
    assert by_key


def test_a_full_pass_stopped_by_the_credit_budget_resumes_where_it_stopped(fresh):
    zoho = fresh
    stream = "Deals_Contact_Roles"
    # A budget of our own far above the org's: Zoho's own limit is what stops this run.
    config = zoho.tap_config(
        page_size=50,
        max_retries=3,
        max_credits_per_run=10**6,
        emit_activate_version_messages=True,
    )
    catalog = select_only(discover(config), {stream})
    # Enough credits for about a quarter of the 400 Deals' related-list calls.
    zoho.faults.daily_credits = zoho.stats.credits + 120
    seen: list[dict[str, Any]] = []
    with pytest.raises(ZohoCreditsExhaustedError):
        run_sync(config, catalog=catalog, on_message=seen.append)
    assert not [m for m in seen if m["type"] == "ACTIVATE_VERSION"]  # no half-pass activation
    state = [m for m in seen if m["type"] == "STATE"][-1]["value"]
    progress = state["bookmarks"][stream]["pass_in_progress"]
    assert progress["full"] is True
    cursor = instant(progress["replication_key_value"])
    done_ids = set(progress["ids_at_replication_key_value"])
    deals = {
        int(d): instant(zoho.get_record("Deals", d)["Modified_Time"])
        for d in zoho.record_ids("Deals")
    }
    left = {d for d, at in deals.items() if at > cursor or (at == cursor and d not in done_ids)}
    assert 0 < len(left) < len(deals) - 50  # stopped part-way, after whole batches

    zoho.faults.daily_credits = None
    # `plan` foresees the resumed pass: the Deals left, one related-list call each, plus the
    # walk over them (within the plan's 10 %).
    planner = TapZohoCrm(config=dict(config), catalog=catalog, state=state, parse_env_config=False)
    (row,) = [r for r in make_plan(planner, catalog_given=True).rows if r.stream == stream]
    assert row.mode.startswith("resumed complete pass"), row.mode
    zoho.stats.reset()
    resumed = run_sync(config, catalog=catalog, state=state)
    # Only the Deals the stopped run had not finished are read again.
    assert zoho.stats.calls_by_module[(RELATED_ROUTE, "Deals")] == len(left)
    spent = calls_for(zoho, "Deals")
    assert abs(row.calls - spent) <= 0.1 * spent, (row.calls, spent)
    first_rows = [m["record"] for m in seen if m["type"] == "RECORD"]
    assert junction_rows(stream, first_rows + resumed.records[stream]) == junction_truth(
        zoho, stream
    )
    # Both runs' rows carry the pass's one version, which the resumed run activates at its end.
    activations = [m for m in resumed.messages if m["type"] == "ACTIVATE_VERSION"]
    assert [m["version"] for m in activations] == [progress["version"]]
    versions = {m.get("version") for m in seen + resumed.messages if m["type"] == "RECORD"}
    assert versions == {progress["version"]}
    assert "pass_in_progress" not in resumed.final_state["bookmarks"][stream]


def test_per_parent_passes_sync_after_the_module_streams(demo, demo_catalog):
    streams = {"Campaigns", "Campaigns_Leads", "Deals", "Deals_Contact_Roles", "Leads", "Users"}
    result = run_sync(demo.tap_config(), catalog=select_only(demo_catalog, streams))
    order = [m["stream"] for m in result.messages if m["type"] == "SCHEMA"]
    order = list(dict.fromkeys(order))
    assert set(order) == streams
    assert order[-2:] == ["Campaigns_Leads", "Deals_Contact_Roles"]


def test_a_campaign_with_more_members_than_page_token_reaches_is_read_whole():
    """Zoho's tokens reach 100,000 rows; the emulator's reach is lowered to 3,000 here so that a
    5,000-member campaign meets the same cap (`PAGINATION_LIMIT_EXCEEDED`)."""
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 5_300}) as zoho:
        zoho.faults.page_token_reach = 3_000
        campaign = sorted(zoho.record_ids("Campaigns"))[0]
        members = set(zoho.campaign_members(campaign, "Leads"))
        for lead in zoho.record_ids("Leads"):
            if lead not in members:
                zoho.add_member(campaign, "Leads", lead, "Sent")
        big = len(zoho.campaign_members(campaign, "Leads"))
        assert big > 3_000
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Campaigns_Leads"})
        zoho.stats.reset()
        result = run_sync(config, catalog=catalog)
        rows = result.records["Campaigns_Leads"]
        assert len(rows) == len({(r["_parent_id"], r["Lead_Id"]) for r in rows})  # no repeats
        assert junction_rows("Campaigns_Leads", rows) == junction_truth(zoho, "Campaigns_Leads")
        # The big campaign: the token walk up to the cap (15 pages and the refused 16th), then
        # the keyset walk from the start (about one call per 199 rows); 1 call per other one.
        related = zoho.stats.calls_by_module[(RELATED_ROUTE, "Campaigns")]
        others = len(zoho.record_ids("Campaigns")) - 1
        print(f"\n{related} related-list calls ({big} members in the big campaign)")
        assert related <= 16 + math.ceil(big / 199) + 1 + others


@pytest.mark.parametrize("seed", range(3))
def test_a_same_second_block_of_parents_in_an_unstable_order_is_read_whole(fresh, seed):
    """400 Deals updated in one second, which Zoho may return in a new order on every call:
    the parent walk notices and lists the block by id through COQL, so no deal is skipped."""
    zoho = fresh
    zoho.update_records("Deals", sorted(zoho.record_ids("Deals")))  # one shared Modified_Time
    zoho.faults.unstable_tie_order = True
    zoho.faults.fault_seed = seed
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Deals_Contact_Roles"})
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog)
    rows = result.records["Deals_Contact_Roles"]
    assert junction_rows("Deals_Contact_Roles", rows) == junction_truth(zoho, "Deals_Contact_Roles")
    # Every deal's related list was read exactly once.
    assert zoho.stats.calls_by_module[(RELATED_ROUTE, "Deals")] == len(zoho.record_ids("Deals"))
    assert zoho.stats.calls["POST /crm/v8/coql"] > 0
