"""Related records: campaign members ($member_info), deal contact roles, linking rows, notes,
attachments."""

from __future__ import annotations

import datetime as dt

from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def related(api: Api, path: str, fields: str, **params: str) -> list[dict]:
    out: list[dict] = []
    token = None
    while True:
        response = api.get(
            path,
            {
                "fields": fields,
                "per_page": 10,
                **params,
                **({"page_token": token} if token else {}),
            },
        )
        if response.status_code == 204:
            return out
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["data"]
        token = body["info"]["next_page_token"]
        if not token:
            return out


def test_campaign_members_carry_member_info(api: Api, emulator: ZohoEmulator) -> None:
    checked = 0
    for campaign in sorted(emulator.record_ids("Campaigns")):
        for module in ("Leads", "Contacts"):
            truth = emulator.campaign_members(campaign, module)
            rows = related(
                api,
                f"/crm/v8/Campaigns/{campaign}/{module}",
                "Last_Name,Email",
                converted="both",
            )
            assert {r["id"]: r["$member_info"]["Member_Status"] for r in rows} == truth
            for row in rows:
                info = row["$member_info"]
                assert set(info) == {"Member_Status", "Created_Time", "Modified_Time", "id"}
                assert len(info["id"]) == 19
            checked += len(rows)
    assert checked > 50


def test_converted_members_hidden_unless_asked(api: Api, emulator: ZohoEmulator) -> None:
    converted = {r["id"] for r in emulator.iter_records("Leads") if r["Converted__s"]}
    for campaign in sorted(emulator.record_ids("Campaigns")):
        members = set(emulator.campaign_members(campaign, "Leads"))
        if members & converted:
            default = related(api, f"/crm/v8/Campaigns/{campaign}/Leads", "Last_Name")
            assert {r["id"] for r in default} == members - converted
            return
    raise AssertionError("the demo org has a campaign with a converted lead")


def test_member_mutations(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    campaign = sorted(fresh.record_ids("Campaigns"))[0]
    members = fresh.campaign_members(campaign, "Contacts")
    outsider = sorted(fresh.record_ids("Contacts") - set(members))[0]
    fresh.add_member(campaign, "Contacts", outsider, "Invited")
    first = sorted(members)[0]
    fresh.set_member_status(campaign, "Contacts", first, "Responded")
    second = sorted(members)[1]
    fresh.remove_member(campaign, "Contacts", second)
    rows = related(api, f"/crm/v8/Campaigns/{campaign}/Contacts", "Last_Name")
    statuses = {r["id"]: r["$member_info"]["Member_Status"] for r in rows}
    assert statuses[outsider] == "Invited"
    assert statuses[first] == "Responded"
    assert second not in statuses
    assert statuses == fresh.campaign_members(campaign, "Contacts")
    back = related(api, f"/crm/v8/Contacts/{outsider}/Campaigns", "Campaign_Name")
    assert campaign in {r["id"] for r in back}


def test_deal_contact_roles(api: Api, emulator: ZohoEmulator) -> None:
    seen = 0
    for deal in sorted(emulator.record_ids("Deals"))[:60]:
        truth = emulator.contact_roles(deal)
        rows = related(api, f"/crm/v8/Deals/{deal}/Contact_Roles", "Last_Name,Email")
        assert {r["id"]: r["Contact_Role"]["name"] for r in rows} == truth
        seen += len(rows)
    assert seen > 10


def test_contact_role_mutations(fresh: ZohoEmulator) -> None:
    deal = sorted(fresh.record_ids("Deals"))[0]
    contact = sorted(fresh.record_ids("Contacts"))[0]
    fresh.set_contact_role(deal, contact, "Decision Maker")
    rows = related(Api(fresh), f"/crm/v8/Deals/{deal}/Contact_Roles", "Email")
    assert {r["id"]: r["Contact_Role"]["name"] for r in rows}[contact] == "Decision Maker"
    fresh.remove_contact_role(deal, contact)
    assert contact not in fresh.contact_roles(deal)
    roles = Api(fresh).get("/crm/v8/Contacts/roles").json()["contact_roles"]
    assert "Decision Maker" in {r["name"] for r in roles}


def test_notes_and_attachments_per_parent(api: Api, emulator: ZohoEmulator) -> None:
    notes = list(emulator.iter_records("Notes"))
    by_parent: dict[str, set[str]] = {}
    for note in notes:
        by_parent.setdefault(note["Parent_Id"]["id"], set()).add(note["id"])
    parent, expected = next((p, ids) for p, ids in by_parent.items() if len(ids) > 1)
    module = next(n["Parent_Id"]["module"]["api_name"] for n in notes if n["id"] in expected)
    rows = related(api, f"/crm/v8/{module}/{parent}/Notes", "Note_Title,Parent_Id")
    assert {r["id"] for r in rows} == expected
    found = False
    for lead in sorted(emulator.record_ids("Leads"))[:20]:
        rows = related(api, f"/crm/v8/Leads/{lead}/Attachments", "File_Name,Size,Parent_Id,Owner")
        for row in rows:
            found = True
            assert row["Parent_Id"]["id"] == lead
            assert row["$se_module"] == "Leads"
            assert row["Owner"]["id"] in emulator.user_ids()
    assert found


def test_linking_rows_as_related_list(api: Api, emulator: ZohoEmulator) -> None:
    lead = next(r for r in emulator.iter_records("Leads") if r["Interested_Products"])
    rows = related(
        api, f"/crm/v8/Leads/{lead['id']}/Interested_Products", "Lead,Product", converted="both"
    )
    assert {r["id"] for r in rows} == {link["id"] for link in lead["Interested_Products"]}


def test_related_rules(api: Api, emulator: ZohoEmulator) -> None:
    campaign = sorted(emulator.record_ids("Campaigns"))[0]
    assert_error(api.get(f"/crm/v8/Campaigns/{campaign}/Leads"), 400, "REQUIRED_PARAM_MISSING")
    assert_error(
        api.get(f"/crm/v8/Campaigns/{campaign}/Nope", {"fields": "Last_Name"}), 400, "INVALID_DATA"
    )
    assert_error(
        api.get(
            f"/crm/v8/Campaigns/{campaign}/Activities_Chronological_View_History",
            {"fields": "Subject"},
        ),
        400,
        "INVALID_DATA",
    )
    future = api.get(
        f"/crm/v8/Campaigns/{campaign}/Leads",
        {"fields": "Last_Name"},
        If_Modified_Since="2999-01-01T00:00:00+00:00",
    )
    assert future.status_code == 304


def test_an_uploaded_attachment_is_listed_with_its_parent(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    lead = sorted(fresh.record_ids("Leads"))[0]
    before = related(api, f"/crm/v8/Leads/{lead}/Attachments", "File_Name,Modified_Time")
    fresh.clock.advance(30)
    new_id = fresh.add_attachment("Leads", lead, "signed.pdf")
    rows = related(api, f"/crm/v8/Leads/{lead}/Attachments", "File_Name,Modified_Time,Parent_Id")
    assert {r["id"] for r in rows} == {r["id"] for r in before} | {new_id}
    added = next(r for r in rows if r["id"] == new_id)
    assert added["File_Name"] == "signed.pdf"
    assert added["Parent_Id"]["id"] == lead
    assert dt.datetime.fromisoformat(added["Modified_Time"]) >= fresh.clock.now().replace(
        microsecond=0
    ) - dt.timedelta(seconds=1)
    assert new_id in {a["id"] for a in fresh.attachments("Leads")}
