"""Mutations through the Python API and the admin HTTP path, seen through the CRM API."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from emu_helpers import TIMEOUT, Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def admin(zoho: ZohoEmulator, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, f"{zoho.base_url}/__emulator{path}", timeout=TIMEOUT, **kwargs)


def test_create_update_delete_bump_modified_time(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    start = fresh.clock.now()
    new_id = fresh.create_record(
        "Leads", {"Last_Name": "Zylker", "Company": "Zylker Ltd", "Lead_Status": "Contacted"}
    )
    record = fresh.get_record("Leads", new_id)
    assert record["Last_Name"] == "Zylker"
    assert dt.datetime.fromisoformat(record["Created_Time"]) >= start.replace(microsecond=0)
    assert record["Created_By"]["id"] == fresh.api_user_id
    newest = api.get("/crm/v8/Leads", {"fields": "Last_Name", "per_page": 1}).json()["data"]
    assert newest[0]["id"] == new_id, "new records get the highest ids"
    fresh.clock.advance(120)
    fresh.update_record("Leads", new_id, {"Lead_Status": "Junk Lead"})
    updated = fresh.get_record("Leads", new_id)
    assert updated["Lead_Status"] == "Junk Lead"
    assert dt.datetime.fromisoformat(updated["Modified_Time"]) > dt.datetime.fromisoformat(
        record["Modified_Time"]
    )
    api = Api(fresh)
    since = api.get(
        "/crm/v8/Leads",
        {"fields": "Lead_Status"},
        If_Modified_Since=updated["Modified_Time"],
    ).json()["data"]
    assert [r["id"] for r in since] == [new_id]
    fresh.delete_record("Leads", new_id)
    assert new_id not in fresh.record_ids("Leads")
    assert api.get(f"/crm/v8/Leads/{new_id}").status_code == 204


def test_mass_update_shares_one_modified_time(fresh: ZohoEmulator) -> None:
    ids = sorted(fresh.record_ids("Contacts"))[:5]
    fresh.update_records("Contacts", ids, {"Department": "Legal"})
    stamps = {fresh.get_record("Contacts", i)["Modified_Time"] for i in ids}
    assert len(stamps) == 1


def test_subform_update(fresh: ZohoEmulator) -> None:
    quote = sorted(fresh.record_ids("Quotes"))[0]
    product = sorted(fresh.record_ids("Products"))[0]
    fresh.update_record(
        "Quotes",
        quote,
        {"Quoted_Items": [{"Product_Name": {"id": product}, "Quantity": 2.0, "List_Price": 10.0}]},
    )
    record = Api(fresh).get(f"/crm/v8/Quotes/{quote}").json()["data"][0]
    rows = record["Quoted_Items"]
    assert len(rows) == 1
    assert rows[0]["Product_Name"]["id"] == product
    assert rows[0]["Total"] == 20.0
    assert record["Sub_Total"] == 20.0
    assert rows[0]["Parent_Id"]["id"] == quote


def test_bad_mutations_raise(fresh: ZohoEmulator) -> None:
    with pytest.raises(KeyError, match="no live Leads record"):
        fresh.update_record("Leads", "4876876019999999999", {})
    with pytest.raises(KeyError, match="Nope"):
        fresh.create_record("Nope", {})
    with pytest.raises(ValueError, match="No_Such_Field"):
        fresh.create_record("Leads", {"No_Such_Field": 1})
    with pytest.raises(ValueError, match="set by the emulator"):
        fresh.update_record("Leads", sorted(fresh.record_ids("Leads"))[0], {"Modified_Time": "x"})


def test_admin_http_path(fresh: ZohoEmulator) -> None:
    info = admin(fresh, "GET", "/info").json()
    assert info["tap_config"]["client_id"] == fresh.client_id
    created = admin(
        fresh, "POST", "/records/Contacts", json={"values": {"Last_Name": "Remote"}}
    ).json()["id"]
    assert fresh.get_record("Contacts", created)["Last_Name"] == "Remote"
    patched = admin(
        fresh, "PATCH", f"/records/Contacts/{created}", json={"values": {"Title": "CTO"}}
    )
    assert patched.status_code == 200
    assert admin(fresh, "GET", f"/records/Contacts/{created}").json()["Title"] == "CTO"
    ids = admin(fresh, "GET", "/records/Contacts/ids").json()["ids"]
    assert set(ids) == fresh.record_ids("Contacts")
    assert admin(fresh, "GET", "/records/Contacts/count").json()["count"] == len(ids)
    removed = admin(fresh, "DELETE", f"/records/Contacts/{created}", params={"permanent": "true"})
    assert removed.status_code == 200
    deleted = admin(fresh, "GET", "/deleted/Contacts").json()["data"]
    assert {"id": created, "type": "permanent"}.items() <= next(
        d for d in deleted if d["id"] == created
    ).items()
    assert admin(fresh, "GET", f"/records/Contacts/{created}").status_code == 404
    assert admin(fresh, "POST", "/records/Contacts", json={"values": {"Bad": 1}}).status_code == 400
    before = fresh.clock.now()
    moved = admin(fresh, "POST", "/clock/advance", json={"seconds": 3600}).json()
    assert dt.datetime.fromisoformat(moved["now"]) - before >= dt.timedelta(seconds=3600)
    faults = admin(fresh, "PATCH", "/faults", json={"error_rate": 1.0}).json()
    assert faults["error_rate"] == 1.0
    assert_error(Api(fresh).get("/crm/v8/org"), 500, "INTERNAL_ERROR")
    admin(fresh, "PATCH", "/faults", json={"error_rate": 0.0})
    assert admin(fresh, "POST", "/modules", json={"api_name": "Gadgets", "count": 3}).ok
    assert admin(
        fresh, "POST", "/fields/Gadgets", json={"api_name": "Colour", "data_type": "text"}
    ).ok
    assert "Gadgets" in admin(fresh, "GET", "/modules").json()["modules"]
    campaign = sorted(fresh.record_ids("Campaigns"))[0]
    lead = sorted(fresh.record_ids("Leads"))[-1]
    admin(fresh, "POST", f"/members/{campaign}/Leads", json={"member_id": lead, "status": "Sent"})
    members = admin(fresh, "GET", f"/members/{campaign}/Leads").json()["members"]
    assert members[lead] == "Sent"
    deal = sorted(fresh.record_ids("Deals"))[0]
    contact = sorted(fresh.record_ids("Contacts"))[0]
    admin(fresh, "PUT", f"/contact_roles/{deal}/{contact}", json={"role": "Evaluator"})
    assert admin(fresh, "GET", f"/contact_roles/{deal}").json()["contact_roles"][contact] == (
        "Evaluator"
    )
    assert admin(fresh, "POST", "/oauth/revoke").ok
    token = requests.post(
        fresh.base_url + "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": fresh.client_id,
            "client_secret": fresh.client_secret,
            "refresh_token": fresh.refresh_token,
        },
        timeout=TIMEOUT,
    )
    assert token.json() == {"error": "invalid_code"}
