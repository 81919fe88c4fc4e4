"""settings/modules, settings/fields and settings/related_lists."""

from __future__ import annotations

from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator

SPEC_DATA_TYPES = {
    "text",
    "email",
    "phone",
    "website",
    "picklist",
    "textarea",
    "autonumber",
    "integer",
    "bigint",
    "double",
    "currency",
    "percent",
    "boolean",
    "date",
    "datetime",
    "lookup",
    "ownerlookup",
    "userlookup",
    "layout",
    "multiselectpicklist",
    "territories",
    "subform",
    "multiselectlookup",
    "multiuserlookup",
    "fileupload",
    "imageupload",
    "profileimage",
    "formula",
    "rollup_summary",
    "consent_lookup",
    "multi_module_lookup",
    "event_reminder",
    "ALARM",
    "RRULE",
    "multireminder",
    "linetax",
}


def test_modules_cover_every_kind(api: Api, emulator: ZohoEmulator) -> None:
    response = api.get("/crm/v8/settings/modules")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    modules = {m["api_name"]: m for m in response.json()["modules"]}
    assert modules == {m["api_name"]: m for m in emulator.all_modules()}
    kinds = {m["generated_type"] for m in modules.values()}
    assert {"default", "custom", "linking", "subform"} <= kinds
    assert modules["Installations"]["generated_type"] == "custom"
    assert modules["Leads_X_Products"]["generated_type"] == "linking"
    assert modules["Quoted_Items"]["parent_module"]["api_name"] == "Quotes"
    assert modules["Events"]["plural_label"] == "Meetings"
    assert any(not m["api_supported"] for m in modules.values())
    for module in modules.values():
        assert len(module["id"]) == 19
        assert module["id"].isdigit()
    expected_streams = {
        name
        for name, m in modules.items()
        if m["api_supported"]
        and m["generated_type"] in ("default", "custom", "linking")
        and name != "Actions_Performed"
    }
    assert set(emulator.module_names()) == expected_streams


def test_inventory_modules_listed_but_unreadable_when_inventory_is_off() -> None:
    with ZohoEmulator(profile="minimal", inventory=False) as zoho:
        api = Api(zoho)
        modules = {m["api_name"]: m for m in api.get("/crm/v8/settings/modules").json()["modules"]}
        assert modules["Quotes"]["api_supported"] is True
        assert "Quotes" not in zoho.module_names()
        assert "Quotes" in zoho.module_names(readable_only=False)
        body = assert_error(api.get("/crm/v8/Quotes", {"fields": "Subject"}), 400, "INVALID_MODULE")
        assert body["message"] == "the module name given seems to be invalid"
        assert api.get("/crm/v8/Leads", {"fields": "Last_Name"}).status_code == 200


def test_fields_cover_every_data_type_of_the_spec(api: Api, emulator: ZohoEmulator) -> None:
    seen: set[str] = set()
    for module in emulator.module_names():
        response = api.get("/crm/v8/settings/fields", {"module": module})
        assert response.status_code == 200
        fields = response.json()["fields"]
        assert fields == emulator.fields(module)
        seen |= {f["data_type"] for f in fields}
        by_name = {f["api_name"]: f for f in fields}
        assert by_name["id"]["data_type"] == "bigint"
        assert by_name["id"]["json_type"] == "string"
        for field in fields:
            for key in ("api_name", "data_type", "json_type", "visible", "view_type", "lookup"):
                assert key in field, (module, field["api_name"], key)
    assert seen >= SPEC_DATA_TYPES, SPEC_DATA_TYPES - seen
    custom = api.get("/crm/v8/settings/fields", {"module": "Installations"}).json()["fields"]
    assert len(custom) > 50
    tag = next(f for f in emulator.fields("Leads") if f["api_name"] == "Tag")
    assert (tag["data_type"], tag["json_type"]) == ("text", "jsonarray")
    msl = next(f for f in emulator.fields("Leads") if f["data_type"] == "multiselectlookup")
    assert msl["multiselectlookup"]["linking_module"]["api_name"] == "Leads_X_Products"
    lookup = next(f for f in emulator.fields("Contacts") if f["api_name"] == "Account_Name")
    assert lookup["lookup"]["module"]["api_name"] == "Accounts"


def test_fields_errors_and_204(api: Api) -> None:
    assert_error(api.get("/crm/v8/settings/fields"), 400, "REQUIRED_PARAM_MISSING")
    assert_error(api.get("/crm/v8/settings/fields", {"module": "Nope"}), 400, "INVALID_MODULE")
    empty = api.get("/crm/v8/settings/fields", {"module": "Actions_Performed"})
    assert empty.status_code == 204
    assert empty.content == b""
    assert api.get("/crm/v8/settings/modules/Actions_Performed").status_code == 204
    one = api.get("/crm/v8/settings/modules/Leads")
    assert one.status_code == 200
    assert one.json()["modules"][0]["api_name"] == "Leads"


def test_related_lists(api: Api) -> None:
    response = api.get("/crm/v8/settings/related_lists", {"module": "Campaigns"})
    assert response.status_code == 200
    lists = {r["api_name"]: r for r in response.json()["related_lists"]}
    assert lists["Leads"]["href"] == "Campaigns/{ENTITYID}/Leads"
    assert lists["Contacts"]["module"]["api_name"] == "Contacts"
    assert isinstance(lists["Leads"]["sequence_number"], str)
    assert lists["Activities_Chronological_View_History"]["href"] is None
    deals = api.get("/crm/v8/settings/related_lists", {"module": "Deals"}).json()
    assert "Contact_Roles" in {r["api_name"] for r in deals["related_lists"]}
    assert_error(api.get("/crm/v8/settings/related_lists"), 400, "REQUIRED_PARAM_MISSING")


def test_added_field_and_module_appear_in_metadata(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.add_field("Leads", "Loyalty_Tier", "picklist", options=["Gold", "Silver"])
    fields = fresh_api.get("/crm/v8/settings/fields", {"module": "Leads"}).json()["fields"]
    added = next(f for f in fields if f["api_name"] == "Loyalty_Tier")
    assert added["custom_field"] is True
    assert [v["actual_value"] for v in added["pick_list_values"]] == ["-None-", "Gold", "Silver"]
    lead = next(iter(fresh.record_ids("Leads")))
    assert fresh.get_record("Leads", lead)["Loyalty_Tier"] is None
    fresh.add_module("Projects", count=5)
    names = {m["api_name"] for m in fresh_api.get("/crm/v8/settings/modules").json()["modules"]}
    assert "Projects" in names
    assert "Projects" in fresh.module_names()
    listed = fresh_api.get("/crm/v8/Projects", {"fields": "Name"})
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json()["data"]} == fresh.record_ids("Projects")
