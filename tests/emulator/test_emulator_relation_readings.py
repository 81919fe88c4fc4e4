"""The readings of what a membership or contact-role change does to Modified_Time (switches).

Zoho does not document whether adding, removing or re-labelling a campaign member or a deal
contact role stamps the parent's or the member's Modified_Time; each reading is a switch, read
back here over HTTP as a client would see it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from emu_helpers import Api

from tap_zoho_crm.testing.emulator import ZohoEmulator

Change = Callable[[ZohoEmulator], tuple[str, str, str, str]]


def modified(api: Api, module: str, record_id: str) -> str:
    response = api.get(f"/crm/v8/{module}/{record_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["Modified_Time"])


def add_member(zoho: ZohoEmulator) -> tuple[str, str, str, str]:
    campaign = sorted(zoho.record_ids("Campaigns"))[0]
    members = zoho.campaign_members(campaign, "Leads")
    lead = next(lead for lead in sorted(zoho.record_ids("Leads")) if lead not in members)
    zoho.add_member(campaign, "Leads", lead, "Planned")
    return "Campaigns", campaign, "Leads", lead


def change_status(zoho: ZohoEmulator) -> tuple[str, str, str, str]:
    campaign = sorted(zoho.record_ids("Campaigns"))[0]
    members = zoho.campaign_members(campaign, "Contacts")
    contact = sorted(members)[0]
    status = "Sent" if members[contact] != "Sent" else "Opened"
    zoho.set_member_status(campaign, "Contacts", contact, status)
    return "Campaigns", campaign, "Contacts", contact


def remove_member(zoho: ZohoEmulator) -> tuple[str, str, str, str]:
    campaign = sorted(zoho.record_ids("Campaigns"))[1]
    lead = sorted(zoho.campaign_members(campaign, "Leads"))[0]
    zoho.remove_member(campaign, "Leads", lead)
    return "Campaigns", campaign, "Leads", lead


def set_role(zoho: ZohoEmulator) -> tuple[str, str, str, str]:
    deal = sorted(zoho.record_ids("Deals"))[0]
    contact = next(
        c for c in sorted(zoho.record_ids("Contacts")) if c not in zoho.contact_roles(deal)
    )
    zoho.set_contact_role(deal, contact, "Decision Maker")
    return "Deals", deal, "Contacts", contact


def remove_role(zoho: ZohoEmulator) -> tuple[str, str, str, str]:
    deal = next(d for d in sorted(zoho.record_ids("Deals")) if zoho.contact_roles(d))
    contact = sorted(zoho.contact_roles(deal))[0]
    zoho.remove_contact_role(deal, contact)
    return "Deals", deal, "Contacts", contact


CHANGES: list[Change] = [add_member, change_status, remove_member, set_role, remove_role]


@pytest.mark.parametrize("parent", [False, True], ids=["parent-untouched", "parent-touched"])
@pytest.mark.parametrize("member", [False, True], ids=["member-untouched", "member-touched"])
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_a_relation_change_stamps_what_the_switches_say(
    fresh: ZohoEmulator, fresh_api: Api, change: Change, parent: bool, member: bool
) -> None:
    fresh.faults.relation_change_touches_parent = parent
    fresh.faults.relation_change_touches_member = member
    before: dict[tuple[str, str], str] = {}
    # Which records the change will involve is only known once it is made: snapshot every
    # Campaign, Deal, Lead and Contact the change functions can pick.
    for module in ("Campaigns", "Deals", "Leads", "Contacts"):
        for record_id in fresh.record_ids(module):
            before[(module, record_id)] = fresh.get_record(module, record_id)["Modified_Time"]
    fresh.clock.advance(5)
    parent_module, parent_id, member_module, member_id = change(fresh)
    parent_after = modified(fresh_api, parent_module, parent_id)
    member_after = modified(fresh_api, member_module, member_id)
    assert (parent_after != before[(parent_module, parent_id)]) is parent
    assert (member_after != before[(member_module, member_id)]) is member
    # Nothing else moved.
    for (module, record_id), stamp in before.items():
        if (module, record_id) not in {(parent_module, parent_id), (member_module, member_id)}:
            assert fresh.get_record(module, record_id)["Modified_Time"] == stamp, record_id


def test_the_switches_are_faults_of_the_admin_path(fresh: ZohoEmulator) -> None:
    url = f"{fresh.base_url}/__emulator/faults"
    body = {"relation_change_touches_parent": True, "relation_change_touches_member": True}
    patched = requests.patch(url, json=body, timeout=10)
    assert patched.status_code == 200, patched.text
    got = requests.get(url, timeout=10).json()
    assert got["relation_change_touches_parent"] is True
    assert got["relation_change_touches_member"] is True
    assert fresh.faults.relation_change_touches_parent is True
