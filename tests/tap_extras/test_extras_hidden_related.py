"""A related list Zoho refuses for every parent is an unavailable stream, never an empty table.

Zoho answers 400 ``INVALID_DATA`` both for a parent deleted meanwhile and for a related list the
layout hides (spec section 7). A junction pass that meets it for every parent checks one parent
with a single-record GET: if the parent is there, the list itself is refused, and the stream is
unavailable (skipped with a warning, or a failure with ``skip_unavailable_streams=false`` and in
the Lakeflow bridge, where an empty snapshot would delete every row of the target).
"""

from __future__ import annotations

import logging

import pytest

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect, ZohoCrmReadError
from tap_zoho_crm.client.errors import ZohoModuleUnavailableError
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, run_sync, select_only

STREAM = "Deals_Contact_Roles"
VERSIONS = {"emit_activate_version_messages": True, "junction_full_pass_hours": 0}


@pytest.fixture
def hidden() -> ZohoEmulator:
    with ZohoEmulator(profile="minimal", seed=4) as zoho:
        zoho.faults.hidden_related_lists = {"Deals/Contact_Roles"}
        yield zoho


def test_the_emulator_refuses_a_hidden_list(hidden):
    deal = sorted(hidden.record_ids("Deals"))[0]
    config = hidden.tap_config()
    catalog = select_only(discover(config), {STREAM})
    with pytest.raises(ZohoModuleUnavailableError, match="RELATED_LIST_REFUSED"):
        run_sync({**config, "skip_unavailable_streams": False, **VERSIONS}, catalog=catalog)
    assert hidden.contact_roles(deal) is not None  # the relations are still there


def test_a_refused_list_is_skipped_with_a_warning_and_nothing_is_activated(hidden, caplog):
    config = {**hidden.tap_config(), **VERSIONS}
    catalog = select_only(discover(config), {STREAM})
    caplog.set_level(logging.WARNING)
    result = run_sync(config, catalog=catalog)
    assert not result.records.get(STREAM)
    assert not [m for m in result.messages if m["type"] == "ACTIVATE_VERSION"]
    assert [r for r in caplog.records if "RELATED_LIST_REFUSED" in r.getMessage()]
    assert "last_full_pass" not in result.final_state["bookmarks"].get(STREAM, {})


def test_the_bridge_fails_the_read_instead_of_returning_an_empty_snapshot(hidden):
    options = {key: str(value) for key, value in hidden.tap_config().items()}
    connector = ZohoCrmLakeflowConnect(options)
    with pytest.raises(ZohoCrmReadError, match=STREAM):
        connector.read_table(STREAM, {}, {})
