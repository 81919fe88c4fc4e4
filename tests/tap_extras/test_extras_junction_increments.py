"""Junction streams that cost what changed, and the per-run credit budget (docs/junctions.md).

Costs are read off the emulator's own counters (credits charged, calls by route); expected rows
come from the emulator's relations. Membership and contact-role changes are tried under every
reading of what they do to Modified_Time (the emulator's relation switches).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from tap_zoho_crm.run_outcome import StreamsFailedError
from tap_zoho_crm.streams.junctions import MAX_STALLED_RUNS
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, instant, run_sync, select_only
from tests.tap_extras.extras_helpers import (
    RECORDS_ROUTE,
    RELATED_ROUTE,
    junction_rows,
    junction_truth,
    utc,
)

JUNCTIONS = ["Campaigns_Contacts", "Campaigns_Leads", "Deals_Contact_Roles"]
PARENT = {
    "Campaigns_Leads": "Campaigns",
    "Campaigns_Contacts": "Campaigns",
    "Deals_Contact_Roles": "Deals",
}
NO_CHANGE_CREDIT_BOUND = 60
SPREAD_LINE = "resumes in the next run"

#: (relation_change_touches_parent, relation_change_touches_member)
READINGS = {
    "neither-touched": (False, False),
    "parent-touched": (True, False),
    "member-touched": (False, True),
    "both-touched": (True, True),
}


def age_last_complete_pass(state: dict[str, Any], hours: float) -> dict[str, Any]:
    """The state as a run `hours` later would find it (the tap compares with the wall clock)."""
    aged = {**state, "bookmarks": {**state["bookmarks"]}}
    for stream in JUNCTIONS:
        mark = dict(aged["bookmarks"][stream])
        mark["last_full_pass"] = utc(instant(mark["last_full_pass"]) - dt.timedelta(hours=hours))
        aged["bookmarks"][stream] = mark
    return aged


#: ACTIVATE_VERSION marks where a complete pass ends; off by default (for targets without it),
#: so these tests turn it on. It costs no API call, so the credit bounds are the defaults'.
VERSIONS = {"emit_activate_version_messages": True}


def activations(messages: list[dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]


def latest_rows(stream: str, *runs: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    """The rows a target holds after upserting `runs` in order (last write per key wins)."""
    held: dict[tuple[int, int], tuple[int, int, str]] = {}
    for rows in runs:
        for row in junction_rows(stream, rows):
            held[row[:2]] = row
    return set(held.values())


def parents_modified_after(zoho: ZohoEmulator, module: str, mark: dict[str, Any]) -> set[int]:
    """Parents a changed-parents read must re-read: modified after the stream's mark, or at
    it and not read there yet (from the emulator's records)."""
    since = instant(mark["parents_modified_since"])
    read_at = set(mark["parents_at_since"])
    out = set()
    for record_id in zoho.record_ids(module):
        at = instant(zoho.get_record(module, record_id)["Modified_Time"])
        if at > since or (at == since and int(record_id) not in read_at):
            out.add(int(record_id))
    return out


def test_a_no_change_run_of_the_demo_org_costs_at_most_60_credits(fresh):
    zoho = fresh
    # Default settings, every stream selected (as Meltano's '*.*').
    config = zoho.tap_config(**VERSIONS)
    catalog = discover(config)
    zoho.stats.reset()
    first = run_sync(config, catalog=catalog)
    first_credits = zoho.stats.credits
    assert first.tap.client.credits_spent == first_credits  # the tap's tally is Zoho's
    for stream in JUNCTIONS:
        assert len(activations(first.messages, stream)) == 1, stream  # a complete pass

    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    credits = zoho.stats.credits
    print(f"\nfirst run {first_credits} credits, no-change run {credits} credits")
    assert credits <= NO_CHANGE_CREDIT_BOUND
    assert second.tap.client.credits_spent == credits
    # The junctions cost one parent-walk call each and read no related list.
    assert zoho.stats.calls[RELATED_ROUTE] == 0
    for parent, junctions in (("Campaigns", 2), ("Deals", 1)):
        module_stream_calls = 1  # the module's own incremental read
        walk_calls = zoho.stats.calls_by_module[(RECORDS_ROUTE, parent)] - module_stream_calls
        assert walk_calls == junctions, parent
    for stream in JUNCTIONS:
        assert not second.records.get(stream), stream
        assert not activations(second.messages, stream), stream


def change_relations(zoho: ZohoEmulator) -> dict[str, Any]:
    """5 campaign-membership changes (2 adds, 1 removal, 2 status changes) and 2 contact-role
    changes (1 added, 1 relabelled); returns what the next passes must show."""
    campaigns = sorted(zoho.record_ids("Campaigns"))
    leads = sorted(zoho.record_ids("Leads"))
    contacts = sorted(zoho.record_ids("Contacts"))
    shown: dict[str, set[tuple[int, int, str]]] = {stream: set() for stream in JUNCTIONS}
    removed: dict[str, set[tuple[int, int]]] = {stream: set() for stream in JUNCTIONS}

    lead = next(x for x in leads if x not in zoho.campaign_members(campaigns[0], "Leads"))
    zoho.add_member(campaigns[0], "Leads", lead, "Planned")
    shown["Campaigns_Leads"].add((int(campaigns[0]), int(lead), "Planned"))
    contact = next(x for x in contacts if x not in zoho.campaign_members(campaigns[1], "Contacts"))
    zoho.add_member(campaigns[1], "Contacts", contact, "Invited")
    shown["Campaigns_Contacts"].add((int(campaigns[1]), int(contact), "Invited"))
    gone = sorted(zoho.campaign_members(campaigns[2], "Leads"))[0]
    zoho.remove_member(campaigns[2], "Leads", gone)
    removed["Campaigns_Leads"].add((int(campaigns[2]), int(gone)))
    for stream, campaign, module in (
        ("Campaigns_Leads", campaigns[3], "Leads"),
        ("Campaigns_Contacts", campaigns[4], "Contacts"),
    ):
        members = zoho.campaign_members(campaign, module)
        member = sorted(members)[0]
        status = "Responded" if members[member] != "Responded" else "Sent"
        zoho.set_member_status(campaign, module, member, status)
        shown[stream].add((int(campaign), int(member), status))

    deals = sorted(zoho.record_ids("Deals"))
    deal = deals[0]
    new_contact = next(x for x in contacts if x not in zoho.contact_roles(deal))
    zoho.set_contact_role(deal, new_contact, "Decision Maker")
    shown["Deals_Contact_Roles"].add((int(deal), int(new_contact), "Decision Maker"))
    other = next(d for d in deals[1:] if zoho.contact_roles(d))
    roles = zoho.contact_roles(other)
    relabelled = sorted(roles)[0]
    role = "Evaluator" if roles[relabelled] != "Evaluator" else "Purchasing"
    zoho.set_contact_role(other, relabelled, role)
    shown["Deals_Contact_Roles"].add((int(other), int(relabelled), role))
    return {"shown": shown, "removed": removed}


@pytest.mark.parametrize("reading", sorted(READINGS))
def test_relation_changes_arrive_within_the_documented_freshness(fresh, reading):
    """docs/junctions.md: with the parent's Modified_Time stamped, adds and changes arrive in
    the next run; otherwise in the next complete pass (at most junction_full_pass_hours later).
    Removals always arrive with the next complete pass, whose version drops them."""
    zoho = fresh
    touches_parent, touches_member = READINGS[reading]
    zoho.faults.relation_change_touches_parent = touches_parent
    zoho.faults.relation_change_touches_member = touches_member
    config = zoho.tap_config(**VERSIONS)
    catalog = select_only(discover(config), set(JUNCTIONS))
    first = run_sync(config, catalog=catalog)
    zoho.clock.advance(5)
    expected = change_relations(zoho)

    zoho.stats.reset()
    marks = first.final_state["bookmarks"]
    must_read = {
        parent: parents_modified_after(
            zoho, parent, marks[next(s for s in JUNCTIONS if PARENT[s] == parent)]
        )
        for parent in ("Campaigns", "Deals")
    }
    second = run_sync(config, catalog=catalog, state=first.final_state)
    # A changed-parents run: one walk call per junction, one related-list call per changed parent.
    for parent, junctions in (("Campaigns", 2), ("Deals", 1)):
        assert zoho.stats.calls_by_module[(RECORDS_ROUTE, parent)] == junctions, parent
        assert zoho.stats.calls_by_module[(RELATED_ROUTE, parent)] == junctions * len(
            must_read[parent]
        ), parent
    print(f"\n{reading}: changed-parents run {zoho.stats.credits} credits")
    for stream in JUNCTIONS:
        assert not activations(second.messages, stream), stream
        emitted = junction_rows(stream, second.records.get(stream, []))
        if touches_parent:
            assert expected["shown"][stream] <= emitted, stream  # fresh by the next run
        else:
            assert not emitted, stream  # nothing shows a change: the complete pass brings it
        assert emitted <= junction_truth(zoho, stream), stream

    # The next complete pass (its interval elapsed) brings everything, and drops removals.
    third = run_sync(config, catalog=catalog, state=age_last_complete_pass(second.final_state, 25))
    for stream in JUNCTIONS:
        rows = third.records[stream]
        assert len(activations(third.messages, stream)) == 1, stream
        assert junction_rows(stream, rows) == junction_truth(zoho, stream), stream
        assert expected["shown"][stream] <= junction_rows(stream, rows), stream
        version = activations(third.messages, stream)[0]["version"]
        assert {
            m["version"]
            for m in third.messages
            if m.get("stream") == stream and m["type"] == "RECORD"
        } == {version}
        dropped = {row[:2] for row in latest_rows(stream, first.records[stream])} - {
            row[:2] for row in junction_rows(stream, rows)
        }
        assert expected["removed"][stream] <= dropped, stream


def test_a_complete_pass_spread_over_three_runs_loses_nothing(fresh, caplog):
    zoho = fresh
    stream = "Deals_Contact_Roles"
    deals = sorted(zoho.record_ids("Deals"))
    # About a third of the pass per run (the walk, the count and a reserve aside).
    budget = len(deals) // 3 + 10
    config = zoho.tap_config(max_credits_per_run=budget, **VERSIONS)
    catalog = select_only(discover(config), {stream})
    contacts = sorted(zoho.record_ids("Contacts"))
    runs: list[Any] = []
    state: dict[str, Any] | None = None
    related_calls = 0
    for number in range(1, 4):
        zoho.stats.reset()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            result = run_sync(config, catalog=catalog, state=state)
        runs.append(result)
        related_calls += zoho.stats.calls_by_module[(RELATED_ROUTE, "Deals")]
        print(f"\nrun {number}: {zoho.stats.credits} credits (budget {budget})")
        assert zoho.stats.credits <= budget
        assert result.tap.client.credits_spent == zoho.stats.credits
        spread = [r for r in caplog.records if SPREAD_LINE in r.getMessage()]
        state = result.final_state
        if number < 3:
            assert len(spread) == 1, [r.getMessage() for r in spread]  # one line says so
            assert stream in spread[0].getMessage()
            assert not activations(result.messages, stream)
            assert "pass_in_progress" in state["bookmarks"][stream]
        else:
            assert not spread
            assert len(activations(result.messages, stream)) == 1
            assert "pass_in_progress" not in state["bookmarks"][stream]
        # Changes while the pass is under way, ahead of where it stopped.
        if number == 1:
            new_deal = zoho.create_record("Deals")
            zoho.set_contact_role(new_deal, contacts[0], "Influencer")
        if number == 2:
            progress = state["bookmarks"][stream]["pass_in_progress"]
            cursor = instant(progress["replication_key_value"])
            ahead = next(
                d
                for d in sorted(zoho.record_ids("Deals"))
                if instant(zoho.get_record("Deals", d)["Modified_Time"]) > cursor
            )
            zoho.set_contact_role(ahead, contacts[1], "Technical Buyer")
    # Every deal's list was read exactly once, and the target holds exactly Zoho's roles.
    assert related_calls == len(zoho.record_ids("Deals"))
    held = latest_rows(stream, *(r.records.get(stream, []) for r in runs))
    assert held == junction_truth(zoho, stream)
    versions = {
        m["version"]
        for r in runs
        for m in r.messages
        if m.get("stream") == stream and m["type"] == "RECORD"
    }
    assert len(versions) == 1  # one pass, one version, activated at its end


def test_without_a_setting_a_run_spends_half_of_what_zoho_says_is_left(fresh):
    zoho = fresh
    stream = "Deals_Contact_Roles"
    config = zoho.tap_config(**VERSIONS)
    catalog = select_only(discover(config), {stream})
    # Zoho reports the remaining credits once half of the day's are used; this org's day has
    # room for less than the pass.
    charged_before = zoho.stats.credits
    zoho.faults.daily_credits = charged_before + 300
    first = run_sync(config, catalog=catalog)  # never raises for its budget
    reported = first.tap.client.credits_remaining
    assert reported is not None
    spent = zoho.stats.credits - charged_before
    state = first.final_state["bookmarks"][stream]
    assert "pass_in_progress" in state
    assert not activations(first.messages, stream)
    # The org still has credits left (all of today's charges are in the 24-hour window).
    assert zoho.stats.credits < zoho.faults.daily_credits
    assert reported > 0
    print(f"\nfirst run: {spent} credits before the pass stopped ({reported} reported left)")

    zoho.clock.advance(86_400)  # a day later the window is empty again
    second = run_sync(config, catalog=catalog, state=first.final_state)
    assert len(activations(second.messages, stream)) == 1
    held = latest_rows(stream, first.records[stream], second.records[stream])
    assert held == junction_truth(zoho, stream)


def test_a_budget_too_small_for_one_parent_reads_nothing_and_fails_nothing(fresh, caplog):
    zoho = fresh
    stream = "Deals_Contact_Roles"
    config = zoho.tap_config(max_credits_per_run=2, **VERSIONS)  # the parent count and nothing more
    catalog = select_only(discover(config), {stream})
    zoho.stats.reset()
    with caplog.at_level(logging.INFO):
        result = run_sync(config, catalog=catalog)
    assert zoho.stats.credits <= 2
    assert zoho.stats.calls[RELATED_ROUTE] == 0
    assert not result.records.get(stream)
    assert len([r for r in caplog.records if SPREAD_LINE in r.getMessage()]) == 1
    assert "pass_in_progress" in result.final_state["bookmarks"][stream]


def test_a_pass_without_credit_run_after_run_fails_the_third_run(fresh):
    """Warnings alone would let a budget the module streams use up hold a pass back for ever."""
    zoho = fresh
    stream = "Deals_Contact_Roles"
    config = zoho.tap_config(max_credits_per_run=2, **VERSIONS)
    catalog = select_only(discover(config), {stream})
    state: dict[str, Any] | None = None
    for _ in range(MAX_STALLED_RUNS - 1):
        state = run_sync(config, catalog=catalog, state=state).final_state
    messages: list[dict[str, Any]] = []
    with pytest.raises(StreamsFailedError, match="raise max_credits_per_run"):
        run_sync(config, catalog=catalog, state=state, on_message=messages.append)
    assert zoho.stats.calls[RELATED_ROUTE] == 0
    state = next(m["value"] for m in reversed(messages) if m["type"] == "STATE")
    assert state["bookmarks"][stream]["pass_in_progress"]["stalled_runs"] == MAX_STALLED_RUNS

    # With room again the pass completes from where it stood.
    done = run_sync(zoho.tap_config(**VERSIONS), catalog=catalog, state=state)
    assert "pass_in_progress" not in done.final_state["bookmarks"][stream]
    assert junction_rows(stream, done.records[stream]) == junction_truth(zoho, stream)


def test_without_activate_version_the_first_complete_pass_says_what_the_target_misses(
    fresh, caplog
):
    zoho = fresh
    stream = "Deals_Contact_Roles"
    config = zoho.tap_config(emit_activate_version_messages=False)
    catalog = select_only(discover(config), {stream})
    line = "rows removed in Zoho will stay in the target"
    with caplog.at_level(logging.INFO, logger="tap-zoho-crm"):
        first = run_sync(config, catalog=catalog)
    assert len([r for r in caplog.records if line in r.getMessage()]) == 1
    caplog.clear()
    later = {**config, "junction_full_pass_hours": 0}  # every run a complete pass
    zoho.stats.reset()
    with caplog.at_level(logging.INFO, logger="tap-zoho-crm"):
        again = run_sync(later, catalog=catalog, state=first.final_state)
    assert not [r for r in caplog.records if line in r.getMessage()]
    # The second run made a complete pass too: every deal's related list was read, and the
    # pass is recorded (both runs may end within one second: the instants may be equal).
    assert zoho.stats.calls_by_module[(RELATED_ROUTE, "Deals")] == len(zoho.record_ids("Deals"))
    passes = [run.final_state["bookmarks"][stream]["last_full_pass"] for run in (first, again)]
    assert passes[0] <= passes[1]
    assert not [m for m in first.messages + again.messages if m["type"] == "ACTIVATE_VERSION"]
