"""`GET /crm/v8/{module}/deleted`: recycle and permanent entries, retention, paging, 304."""

from __future__ import annotations

import datetime as dt

from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator

DAY = 86_400


def all_deleted(api: Api, module: str, **params: str) -> list[dict]:
    out: list[dict] = []
    page = 1
    while True:
        response = api.get(f"/crm/v8/{module}/deleted", {"per_page": 2, "page": page, **params})
        if response.status_code == 204:
            return out
        assert response.status_code == 200
        body = response.json()
        out += body["data"]
        if not body["info"]["more_records"]:
            return out
        page += 1


def test_both_types_with_nulls_on_permanent(api: Api, emulator: ZohoEmulator) -> None:
    listed = all_deleted(api, "Leads")
    assert listed == emulator.deleted_records("Leads")
    types = {entry["type"] for entry in listed}
    assert types == {"recycle", "permanent"}
    for entry in listed:
        assert set(entry) == {
            "id",
            "display_name",
            "type",
            "deleted_time",
            "deleted_by",
            "created_by",
        }
        assert len(entry["id"]) == 19
        assert entry["id"] not in emulator.record_ids("Leads")
        if entry["type"] == "permanent":
            assert entry["display_name"] is None
            assert entry["deleted_by"] is None
            assert entry["created_by"] is None
        else:
            assert entry["deleted_by"]["id"] in emulator.user_ids()
    recycle = all_deleted(api, "Leads", type="recycle")
    assert {e["type"] for e in recycle} == {"recycle"}
    assert len(recycle) + len(all_deleted(api, "Leads", type="permanent")) == len(listed)


def test_bad_type_is_pattern_not_matched(api: Api) -> None:
    body = assert_error(
        api.get("/crm/v8/Leads/deleted", {"type": "trash"}), 400, "PATTERN_NOT_MATCHED"
    )
    assert body["message"] == "Please check whether the input values are correct"


def test_mutation_deletes_and_retention(fresh: ZohoEmulator) -> None:
    contact, other = sorted(fresh.record_ids("Contacts"))[:2]
    fresh.delete_record("Contacts", contact)
    fresh.delete_record("Contacts", other, permanent=True)
    api = Api(fresh)
    listed = {e["id"]: e for e in all_deleted(api, "Contacts")}
    assert listed[contact]["type"] == "recycle"
    assert listed[contact]["deleted_by"]["id"] == fresh.api_user_id
    assert listed[other]["type"] == "permanent"
    assert listed[other]["deleted_by"] is None
    assert contact not in fresh.record_ids("Contacts")
    assert api.get(f"/crm/v8/Contacts/{contact}").status_code == 204
    since = listed[contact]["deleted_time"]
    recent = api.get("/crm/v8/Contacts/deleted", If_Modified_Since=since)
    assert {e["id"] for e in recent.json()["data"]} == {contact, other}
    later = (dt.datetime.fromisoformat(since) + dt.timedelta(seconds=1)).isoformat()
    none = api.get("/crm/v8/Contacts/deleted", If_Modified_Since=later)
    assert none.status_code == 304
    assert none.content == b""
    fresh.clock.advance(61 * DAY)
    api = Api(fresh)
    after_60 = {e["id"] for e in all_deleted(api, "Contacts")}
    assert contact not in after_60, "recycle-bin entries are visible 60 days"
    assert other in after_60
    fresh.clock.advance(60 * DAY)
    api = Api(fresh)
    assert other not in {e["id"] for e in all_deleted(api, "Contacts")}


def test_no_deleted_records_answers_204(fresh: ZohoEmulator) -> None:
    fresh.add_module("Fresh_Things", count=3)
    response = Api(fresh).get("/crm/v8/Fresh_Things/deleted")
    assert response.status_code == 204
    assert response.content == b""


def test_deleted_list_paging_and_order_take_each_undocumented_reading(
    fresh: ZohoEmulator,
) -> None:
    """Section 15.10: page tokens on /deleted, and the list's order, are switches."""
    contacts = sorted(fresh.record_ids("Contacts"))[:4]
    for offset, contact in enumerate(contacts):
        fresh.clock.advance(10)
        fresh.delete_record("Contacts", contact, permanent=offset % 2 == 1)
    api = Api(fresh)
    first = api.get("/crm/v8/Contacts/deleted", {"per_page": 2}).json()
    assert first["info"]["more_records"] is True
    assert first["info"]["next_page_token"]
    newest_first = [e["deleted_time"] for e in all_deleted(api, "Contacts")]

    fresh.faults.deleted_without_page_token = True
    plain = api.get("/crm/v8/Contacts/deleted", {"per_page": 2}).json()
    assert plain["info"]["more_records"] is True
    assert "next_page_token" not in plain["info"]
    body = assert_error(
        api.get("/crm/v8/Contacts/deleted", {"per_page": 200, "page": 11}),
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    )
    assert body["details"]["limit"] == 2000

    fresh.faults.deleted_oldest_first = True
    oldest_first = [e["deleted_time"] for e in all_deleted(api, "Contacts")]
    assert sorted(oldest_first, key=dt.datetime.fromisoformat) == oldest_first
    assert sorted(newest_first) == sorted(oldest_first)
    assert newest_first != oldest_first


def test_single_get_of_an_unknown_id_takes_either_reading(fresh: ZohoEmulator) -> None:
    """Section 5: an unknown id answers 204, or 400 INVALID_DATA under the switch."""
    contact = sorted(fresh.record_ids("Contacts"))[0]
    fresh.delete_record("Contacts", contact)
    api = Api(fresh)
    assert api.get(f"/crm/v8/Contacts/{contact}").status_code == 204
    fresh.faults.unknown_id_answers_400 = True
    assert_error(api.get(f"/crm/v8/Contacts/{contact}"), 400, "INVALID_DATA")
    live = sorted(fresh.record_ids("Contacts"))[0]
    assert api.get(f"/crm/v8/Contacts/{live}").status_code == 200
