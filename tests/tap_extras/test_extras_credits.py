"""The tap's own credit tally (client/credits.py) against what the emulator charges per call."""

from __future__ import annotations

from typing import Any

import pytest

from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.config import ZohoSettings
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, run_sync


def client_for(zoho: ZohoEmulator, **overrides: Any) -> ZohoClient:
    return ZohoClient(ZohoSettings.from_config(zoho.tap_config(**overrides), user_agent="test"))


CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "Leads", {"fields": "id,Last_Name", "per_page": 5}),
    ("GET", "Leads", {"fields": "id", "cvid": "1", "per_page": 5}),
    ("GET", "Deals/actions/count", {}),
    ("GET", "Leads/deleted", {"type": "all"}),
    ("GET", "org", {}),
    ("GET", "Leads", {"fields": "No_Such_Field"}),  # answered 400: Zoho served and charged it
    ("POST", "coql", {"select_query": "select id from Leads limit 200"}),
    ("POST", "coql", {"select_query": "select id from Leads limit 1000"}),
    ("POST", "coql", {"select_query": "select id from Leads limit 0, 2000"}),
    ("POST", "coql", {"select_query": "select id from Leads where id is not null"}),
]


@pytest.mark.parametrize(
    ("method", "path", "args"), CALLS, ids=[f"{m} {p} {a}" for m, p, a in CALLS]
)
def test_each_call_costs_what_zoho_charges(demo, method, path, args):
    client = client_for(demo)
    client.api_base  # noqa: B018 - mint the token before counting
    before_tap, before_zoho = client.credits_spent, demo.stats.credits
    try:
        if method == "GET":
            client.get(path, params=args)
        else:
            client.post_json(path, args)
    except ZohoAPIError:
        pass
    charged = demo.stats.credits - before_zoho
    assert charged > 0
    assert client.credits_spent - before_tap == charged


def test_a_whole_sync_is_tallied_as_zoho_charges_it(fresh):
    config = fresh.tap_config(
        include_subforms=True,
        include_modules=["Deals", "Quotes", "Quoted_Items", "Deals_Contact_Roles", "Users"],
    )
    catalog = discover(config)
    fresh.update_records("Deals", sorted(fresh.record_ids("Deals"))[:50])  # a tie: COQL reads it
    fresh.stats.reset()
    result = run_sync(config, catalog=catalog)
    print(f"\n{fresh.stats.credits} credits charged, {result.tap.client.credits_spent} tallied")
    assert result.tap.client.credits_spent == fresh.stats.credits
    assert fresh.stats.calls["POST /crm/v8/coql"] > 0


def test_run_credits_left_follows_the_setting_or_zohos_report(fresh):
    capped = client_for(fresh, max_credits_per_run=7)
    assert capped.run_credits_left() == 7
    capped.get("org")
    assert capped.run_credits_left() == 7 - capped.credits_spent

    open_ended = client_for(fresh)
    open_ended.get("org")
    assert open_ended.run_credits_left() is None  # Zoho has not said what is left
    fresh.faults.daily_credits = fresh.stats.credits + 2  # the next call crosses half the day
    open_ended.get("org")
    reported = open_ended.credits_remaining
    assert reported is not None
    assert open_ended.run_credits_left() == reported // 2
