"""Users (paged), roles, profiles, org."""

from __future__ import annotations

import datetime as dt

from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def test_users_paged_with_types(api: Api, emulator: ZohoEmulator) -> None:
    seen: list[dict] = []
    page = 1
    while True:
        response = api.get("/crm/v8/users", {"type": "AllUsers", "per_page": 2, "page": page})
        assert response.status_code == 200
        body = response.json()
        assert set(body["info"]) == {"per_page", "count", "page", "more_records"}
        seen += body["users"]
        if not body["info"]["more_records"]:
            break
        page += 1
    assert len(seen) >= 5
    zones = {u["time_zone"] for u in seen}
    assert len(zones) >= 4
    statuses = {u["status"] for u in seen}
    assert statuses == {"active", "inactive"}
    for user in seen:
        assert user["id"] in emulator.user_ids()
        assert "created_time" in user
        assert "Modified_Time" in user
        assert user["role"]["id"]
        assert user["profile"]["name"] in ("Administrator", "Standard")
    deleted = api.get("/crm/v8/users", {"type": "DeletedUsers"}).json()["users"]
    assert [u["status"] for u in deleted] == ["deleted"]
    me = api.get("/crm/v8/users", {"type": "CurrentUser"}).json()["users"]
    assert [u["id"] for u in me] == [emulator.api_user_id]
    assert me[0]["time_zone"] == "America/Los_Angeles"
    assert_error(api.get("/crm/v8/users", {"type": "Everyone"}), 400, "INVALID_DATA")


def test_users_if_modified_since(api: Api) -> None:
    users = api.get("/crm/v8/users").json()["users"]
    pivot = sorted(users, key=lambda u: dt.datetime.fromisoformat(u["Modified_Time"]))[2]
    recent = api.get("/crm/v8/users", If_Modified_Since=pivot["Modified_Time"]).json()["users"]
    assert pivot["id"] in {u["id"] for u in recent}
    assert len(recent) < len(users)
    none = api.get("/crm/v8/users", If_Modified_Since="2999-01-01T00:00:00Z")
    assert none.status_code == 304


def test_roles_profiles_org(api: Api) -> None:
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    by_name = {r["name"]: r for r in roles}
    assert by_name["Manager"]["reporting_to"]["id"] == by_name["CEO"]["id"]
    profiles = api.get("/crm/v8/settings/profiles").json()
    assert {p["name"] for p in profiles["profiles"]} == {"Administrator", "Standard"}
    assert "license_limit" in profiles["info"]
    org = api.get("/crm/v8/org").json()["org"]
    assert len(org) == 1
    assert org[0]["license_details"]["paid_type"] == "enterprise"
    assert org[0]["time_zone"] == "Europe/London"


def test_unknown_path_is_invalid_url_pattern(api: Api) -> None:
    assert_error(api.get("/crm/v8/settings/nope"), 404, "INVALID_URL_PATTERN")
    assert_error(api.get("/crm/v9/Leads"), 404, "INVALID_URL_PATTERN")
