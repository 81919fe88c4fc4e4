"""Junction passes from a state they cannot use, and without a parent count: read whole anyway.

A junction pass decides from its state whether to read every parent (a complete pass) or only
the changed ones. A state it cannot parse must never narrow the read: it falls back to a
complete pass, checked here row by row against the emulator's relations.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, run_sync, select_only
from tests.tap_extras.extras_helpers import RELATED_ROUTE, junction_rows, junction_truth

STREAM = "Campaigns_Leads"
CONFIG = {"junction_full_pass_hours": 24, "emit_activate_version_messages": True}


def activations(result: Any) -> list[dict[str, Any]]:
    return [m for m in result.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == STREAM]


def complete_pass(zoho: ZohoEmulator, result: Any) -> None:
    """The run read every parent's list and emitted every current row, then activated them."""
    assert junction_rows(STREAM, result.records[STREAM]) == junction_truth(zoho, STREAM)
    assert len(result.records[STREAM]) == len(junction_truth(zoho, STREAM))
    assert zoho.stats.calls_by_module[(RELATED_ROUTE, "Campaigns")] >= len(
        zoho.record_ids("Campaigns")
    )
    assert len(activations(result)) == 1


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param({"last_full_pass": "not a time"}, id="last-full-pass"),
        pytest.param({"parents_modified_since": "yesterday"}, id="parents-since"),
        # A complete pass was under way (the last one is a day old) but its record is spoiled.
        pytest.param(
            {
                "last_full_pass": "2020-01-01T00:00:00+00:00",
                "pass_in_progress": {"full": True, "started": "noon", "version": 1},
            },
            id="pass-in-progress-started",
        ),
        pytest.param(
            {
                "last_full_pass": "2020-01-01T00:00:00+00:00",
                "pass_in_progress": {"full": True, "started": "2026-01-01T00:00:00+00:00"},
            },
            id="pass-in-progress-no-version",
        ),
        pytest.param(
            {
                "parents_modified_since": None,
                "pass_in_progress": {"full": False, "started": "2026-01-01T00:00:00+00:00"},
            },
            id="changed-parents-pass-without-since",
        ),
    ],
)
def test_an_unreadable_junction_state_falls_back_to_a_complete_pass(fresh, spoil):
    zoho = fresh
    config = zoho.tap_config(**CONFIG)
    catalog = select_only(discover(config), {STREAM})
    first = run_sync(config, catalog=catalog)
    complete_pass(zoho, first)

    # A change the changed-parents mode would not see: a member's status under an untouched
    # campaign. Only a complete pass reads it.
    campaign = sorted(zoho.record_ids("Campaigns"))[2]
    member = sorted(zoho.campaign_members(campaign, "Leads"))[0]
    status = "Sent" if zoho.campaign_members(campaign, "Leads")[member] != "Sent" else "Planned"
    zoho.set_member_status(campaign, "Leads", member, status)

    state = copy.deepcopy(first.final_state)
    state["bookmarks"][STREAM].update(spoil)
    zoho.stats.reset()
    second = run_sync(config, catalog=catalog, state=state)
    complete_pass(zoho, second)
    assert (int(campaign), int(member), status) in junction_rows(STREAM, second.records[STREAM])


def test_a_pass_under_a_budget_runs_whole_when_zoho_gives_no_parent_count(fresh, caplog):
    """The count (GET /actions/count) only feeds an estimate; a bad answer there reads on."""
    zoho = fresh
    # One try per call: the spoiled count is given up at once (it is not worth retrying).
    config = zoho.tap_config(max_credits_per_run=5000, max_retries=1, **CONFIG)
    catalog = select_only(discover(config), {STREAM})
    zoho.faults.bad_answer_kind = "error_body_200"
    zoho.faults.bad_answer_path = "/crm/v8/Campaigns/actions/count"
    zoho.stats.reset()
    with caplog.at_level(logging.WARNING):
        result = run_sync(config, catalog=catalog)
    assert zoho.faults.injected["error_body_200"] >= 1, "the count was asked and spoiled"
    complete_pass(zoho, result)
    assert not [r for r in caplog.records if "will not fit" in r.getMessage()]


def test_a_pass_over_no_parents_leaves_a_state_the_next_pass_reads_whole(fresh):
    """No campaign at all: the pass emits nothing and notes no instant; once campaigns exist,
    the next run reads them all."""
    with ZohoEmulator(profile="minimal", seed=11, size={"Campaigns": 0}) as zoho:
        config = zoho.tap_config(
            junction_full_pass_hours=0, **{"emit_activate_version_messages": True}
        )
        catalog = select_only(discover(config), {STREAM})
        empty = run_sync(config, catalog=catalog)
        assert not empty.records.get(STREAM)
        mark = empty.final_state["bookmarks"][STREAM]
        assert "parents_modified_since" not in mark

        campaign = zoho.create_record("Campaigns", {"Campaign_Name": "First"})
        leads = sorted(zoho.record_ids("Leads"))[:3]
        for lead in leads:
            zoho.add_member(campaign, "Leads", lead, "Planned")
        second = run_sync(config, catalog=catalog, state=empty.final_state)
        rows = junction_rows(STREAM, second.records[STREAM])
        assert rows == junction_truth(zoho, STREAM)
        assert {(int(campaign), int(lead), "Planned") for lead in leads} <= rows
