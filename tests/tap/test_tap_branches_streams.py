"""Branches of the derived streams (``tap_zoho_crm/streams/``) that decide what is read.

Each test drives one branch through the real tap against the emulator and checks the output
id by id against the emulator's own data. Where a branch needs the org to change at an exact
point of a run (a parent deleted once its related list is about to be read), the test changes
it from the emulator's ``before_call`` hook, never at a moment it hopes for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap_extras.extras_helpers import junction_rows, junction_truth

RELATED_ROUTE = "GET /crm/v8/{module}/{id}/{related}"


@pytest.fixture(params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=13) as zoho:
        zoho.faults.if_modified_since_exclusive = request.param
        yield zoho


def once_at(route: str, action: Callable[[], None]) -> Callable[[str, str, dict], None]:
    """A ``before_call`` hook that runs ``action`` when the first call of ``route`` comes."""
    done = threading.Lock()
    fired: list[bool] = []

    def hook(called: str, path: str, query: dict) -> None:
        del path, query
        with done:
            if called != route or fired:
                return
            fired.append(True)
            action()

    return hook


def test_a_pass_whose_every_parent_was_deleted_keeps_the_previous_rows(org, caplog):
    """Every campaign is deleted after the walk listed it, before its member list was read:
    every list answers "record gone", and the one parent checked is gone too. The pass sends
    no rows and no ACTIVATE_VERSION (the previous rows stay, not a table emptied by mistake);
    the next pass, over no campaign, is complete and activates an empty version."""
    stream = "Campaigns_Leads"
    config = {
        **org.tap_config(),
        "emit_activate_version_messages": True,
        "junction_full_pass_hours": 0,
    }
    catalog = select_only(discover(config), {stream})
    first = run_sync(config, catalog=catalog)
    assert junction_rows(stream, first.records[stream]) == junction_truth(org, stream)
    campaigns = sorted(org.record_ids("Campaigns"))

    def delete_every_campaign() -> None:
        for campaign in campaigns:
            org.delete_record("Campaigns", campaign)

    org.faults.before_call = once_at(RELATED_ROUTE, delete_every_campaign)
    caplog.set_level(logging.WARNING)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    org.faults.before_call = None
    assert not org.record_ids("Campaigns")
    assert not second.records.get(stream)
    assert not [m for m in second.messages if m["type"] == "ACTIVATE_VERSION"]
    assert [r for r in caplog.records if "was deleted before its" in r.getMessage()]
    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert junction_rows(stream, third.records.get(stream, [])) == junction_truth(org, stream)
    assert [m for m in third.messages if m["type"] == "ACTIVATE_VERSION"]
