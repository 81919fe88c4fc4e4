"""``tap-zoho-crm plan``: its estimates against what the following run spends on the demo org.

The truth is the emulator's own call log (calls and credits charged), for a first sync and for
incremental runs after mutations of every kind the run reads: updated, created and deleted
records, campaign memberships and contact roles.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tap_helpers import (
    cli,
    discover,
    instant,
    plan_next_run,
    run_sync,
    select_only,
    write_json,
)

from tap_zoho_crm.plan import DISCOVERY, Plan, render
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import crm_calls

#: How close the estimate must be to the run's calls and credits.
TOLERANCE = 0.10
UPDATED_LEADS = 40
CREATED_DEALS = 5


def plan_for(
    zoho: ZohoEmulator,
    config: dict[str, Any],
    catalog: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> Plan:
    """A plan, checking that it spent exactly the calls it says (emulator's count)."""
    zoho.stats.reset()
    plan = plan_next_run(config, catalog, state)
    assert plan.spent_calls == crm_calls(zoho)
    assert plan.spent_credits == zoho.stats.credits
    return plan


def run_and_compare(
    zoho: ZohoEmulator,
    config: dict[str, Any],
    catalog: dict[str, Any],
    plan: Plan,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the sync the plan was for; assert the estimate within TOLERANCE; return its state."""
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog, state=state)
    calls, credits = crm_calls(zoho), zoho.stats.credits
    print(
        f"\nplan {plan.calls} calls / {plan.credits} credits; run {calls} / {credits} "
        f"(plan spent {plan.spent_calls})"
    )
    assert abs(plan.calls - calls) <= TOLERANCE * calls
    assert abs(plan.credits - credits) <= TOLERANCE * credits
    return result.final_state


def mutate(zoho: ZohoEmulator) -> None:
    """Changes of every kind a run reads, spread over emulated seconds."""
    zoho.clock.advance(600)
    leads = sorted(zoho.record_ids("Leads"))
    for lead in leads[:UPDATED_LEADS]:
        zoho.update_record("Leads", lead)
        zoho.clock.advance(1)
    zoho.update_records("Contacts", sorted(zoho.record_ids("Contacts"))[:250])  # a mass update
    for _ in range(CREATED_DEALS):
        zoho.create_record("Deals")
        zoho.clock.advance(1)
    for account in sorted(zoho.record_ids("Accounts"))[:3]:
        zoho.delete_record("Accounts", account)
    campaign = sorted(zoho.record_ids("Campaigns"))[0]
    members = zoho.campaign_members(campaign, "Leads")
    outsider = next(lead for lead in leads if int(lead) not in members and lead not in members)
    zoho.add_member(campaign, "Leads", outsider, "Planned")
    if members:
        zoho.remove_member(campaign, "Leads", next(iter(members)))
    deal = sorted(zoho.record_ids("Deals"))[0]
    contact = sorted(zoho.record_ids("Contacts"))[-1]
    zoho.set_contact_role(deal, contact, "Evaluator")
    zoho.clock.advance(600)


def test_plan_of_a_first_sync_is_within_10_percent_of_the_run(fresh_demo):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = discover(config)
    plan = plan_for(zoho, config, catalog)
    modes = {row.stream: row.mode for row in plan.rows}
    assert modes["Leads"] == "first sync, every record"
    assert modes["Deals_Contact_Roles"] == "complete pass over every parent"
    # Cheap: no more than a few calls per stream, and a small share of the run.
    assert plan.spent_calls <= 0.1 * plan.calls
    run_and_compare(zoho, config, catalog, plan)


@pytest.mark.parametrize("full_pass_hours", [None, 24], ids=["default", "junction-24h"])
def test_plan_of_an_incremental_run_after_mutations_is_within_10_percent(
    fresh_demo, full_pass_hours
):
    zoho = fresh_demo
    config = zoho.tap_config()
    if full_pass_hours is not None:
        config["junction_full_pass_hours"] = full_pass_hours
    catalog = discover(config)
    zoho.stats.reset()
    state = run_sync(config, catalog=catalog).final_state
    mutate(zoho)
    plan = plan_for(zoho, config, catalog, state)
    modes = {row.stream: row.mode for row in plan.rows}
    assert modes["Leads"].startswith("incremental since ")
    records = {row.stream: row.records for row in plan.rows}
    assert records["Leads"] == UPDATED_LEADS  # counted from the sample page, exactly
    assert records["Deals"] == CREATED_DEALS
    print(render(plan))
    run_and_compare(zoho, config, catalog, plan, state)


def test_plan_cli_prints_each_stream_and_what_the_plan_spent(demo, tmp_path):
    config = demo.tap_config()
    streams = {"Leads", "Deals", "Deals_deleted", "Users", "Campaigns_Leads"}
    catalog = select_only(discover(config), streams)
    config_path = write_json(tmp_path / "config.json", config)
    catalog_path = write_json(tmp_path / "catalog.json", catalog)
    state_path = write_json(tmp_path / "state.json", {})

    demo.stats.reset()
    # Options may come first, as `meltano invoke tap-zoho-crm plan` passes them.
    table = cli(["--config", config_path, "--catalog", catalog_path, "--state", state_path, "plan"])
    assert table.returncode == 0, table.stderr[-3000:]
    spent = crm_calls(demo)
    lines = table.stdout.splitlines()
    assert {line.split()[0] for line in lines[2:-3]} == streams
    assert lines[-2].startswith("Next run: about ")
    assert lines[-1].startswith(f"This plan spent {spent} API calls")

    demo.stats.reset()
    as_json = cli(["plan", "--config", config_path, "--json"])  # no catalog: discovery too
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    plan = json.loads(as_json.stdout)
    assert plan["spent"]["calls"] == crm_calls(demo)
    discovery = plan["streams"][0]
    assert discovery["stream"] == DISCOVERY
    assert 0 < discovery["calls"] < plan["spent"]["calls"]
    assert plan["total"]["calls"] == sum(row["calls"] for row in plan["streams"])


def test_plan_cli_with_a_missing_file_says_so_in_one_line(tmp_path):
    missing = str(tmp_path / "nope.json")
    result = cli(["plan", "--config", missing])
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"config file {missing}: no such file" in result.stderr


def test_plan_of_a_first_sync_from_start_date_counts_by_coql(fresh_demo):
    zoho = fresh_demo
    stamps = sorted(instant(str(row["Modified_Time"])) for row in zoho.iter_records("Leads"))
    start = stamps[len(stamps) // 3]
    truth = sum(1 for stamp in stamps if stamp >= start)
    config = {**zoho.tap_config(), "start_date": start.isoformat()}
    catalog = select_only(discover(config), {"Leads", "Contacts", "Deals"})
    plan = plan_for(zoho, config, catalog)
    (leads,) = [row for row in plan.rows if row.stream == "Leads"]
    assert leads.mode.startswith("first sync, records modified since ")
    assert leads.records is not None
    assert 200 < truth <= 2000  # more than the sample page: counted by one COQL call
    assert abs(leads.records - truth) <= 0.02 * truth
    run_and_compare(zoho, config, catalog, plan)


def test_more_than_2000_changed_records_are_counted_by_coql_bisection():
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 6000}) as zoho:
        stamps = sorted(instant(str(row["Modified_Time"])) for row in zoho.iter_records("Leads"))
        start = stamps[len(stamps) // 3]
        truth = sum(1 for stamp in stamps if stamp >= start)
        config = {**zoho.tap_config(), "start_date": start.isoformat()}
        catalog = select_only(discover(config), {"Leads"})
        plan = plan_for(zoho, config, catalog)
        probes = zoho.stats.calls["POST /crm/v8/coql"]
    (leads,) = plan.rows
    assert truth > 2000
    assert leads.records is not None
    assert abs(leads.records - truth) <= 0.02 * truth
    assert 2 <= probes <= 15  # one 2,000-row page, then a bisection to 2 %


def test_plan_cli_with_an_incomplete_config_names_what_is_missing(tmp_path):
    config = write_json(tmp_path / "config.json", {"client_id": "only-this"})
    result = cli(["plan", "--config", config])
    assert result.returncode == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "missing required setting(s): client_secret" in errors[0]
    assert "refresh_token" in errors[0]
