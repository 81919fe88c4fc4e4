"""Get Records (`GET /crm/v8/{module}`): every documented rule, pinned over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def big() -> Iterator[ZohoEmulator]:
    """3,000 leads: enough to cross the 2,000-record page limit."""
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 3000}) as zoho:
        yield zoho


def test_fields_is_mandatory(api: Api) -> None:
    body = assert_error(api.get("/crm/v8/Leads"), 400, "REQUIRED_PARAM_MISSING")
    assert body["message"] == "One of the expected parameter is missing"
    assert body["details"] == {"param_name": "fields", "param": "fields"}
    assert_error(api.get("/crm/v8/Leads", {"fields": ""}), 400, "REQUIRED_PARAM_MISSING")


def test_at_most_50_fields(api: Api, emulator: ZohoEmulator) -> None:
    names = [f["api_name"] for f in emulator.fields("Installations")]
    assert len(names) > 51
    body = assert_error(
        api.get("/crm/v8/Installations", {"fields": ",".join(names[:51])}), 400, "LIMIT_EXCEEDED"
    )
    assert body["details"]["param_name"] == "fields"
    ok = api.get("/crm/v8/Installations", {"fields": ",".join(names[:50]), "per_page": 5})
    assert ok.status_code == 200
    assert set(ok.json()["data"][0]) - {"id"} <= set(names[:50]) | {
        "$editable",
        "$approved",
        "$approval_state",
        "$currency_symbol",
        "$se_module",
    }


def test_unknown_field_name_is_invalid_data(api: Api) -> None:
    body = assert_error(api.get("/crm/v8/Leads", {"fields": "Last_Name,Nope"}), 400, "INVALID_DATA")
    assert body["details"]["api_name"] == "Nope"


def test_per_page_at_most_200(api: Api) -> None:
    assert_error(
        api.get("/crm/v8/Leads", {"fields": "Last_Name", "per_page": 201}), 400, "INVALID_DATA"
    )
    ok = api.get("/crm/v8/Leads", {"fields": "Last_Name", "per_page": 200})
    assert ok.status_code == 200
    assert ok.json()["info"]["per_page"] == 200
    assert len(ok.json()["data"]) == 200


def test_page_stops_at_record_2000(big: ZohoEmulator) -> None:
    api = Api(big)
    tenth = api.get("/crm/v8/Leads", {"fields": "Last_Name", "page": 10})
    assert tenth.status_code == 200
    assert tenth.json()["info"]["more_records"] is True
    assert tenth.json()["info"]["next_page_token"]
    body = assert_error(
        api.get("/crm/v8/Leads", {"fields": "Last_Name", "page": 11}),
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    )
    assert body["details"]["limit"] == 2000
    assert_error(
        api.get("/crm/v8/Leads", {"fields": "Last_Name", "page": 21, "per_page": 100}),
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    )


def test_ambiguity_errors(big: ZohoEmulator) -> None:
    api = Api(big)
    first = api.get("/crm/v8/Leads", {"fields": "Last_Name"}).json()["info"]["next_page_token"]
    assert_error(
        api.get("/crm/v8/Leads", {"fields": "Last_Name", "page": 2, "page_token": first}),
        400,
        "AMBIGUITY_DURING_PROCESSING",
    )
    assert_error(
        api.get("/crm/v8/Leads", {"fields": "Last_Name", "cvid": "123", "sort_by": "id"}),
        400,
        "AMBIGUITY_DURING_PROCESSING",
    )


def test_sort_by_whitelist_and_default_order(api: Api, emulator: ZohoEmulator) -> None:
    body = assert_error(
        api.get("/crm/v8/Contacts", {"fields": "Last_Name", "sort_by": "Last_Name"}),
        400,
        "INVALID_DATA",
    )
    assert body["details"]["param_name"] == "sort_by"
    default = api.get("/crm/v8/Contacts", {"fields": "Last_Name"}).json()
    assert default["info"]["sort_by"] == "id"
    assert default["info"]["sort_order"] == "desc"
    ids = [int(r["id"]) for r in default["data"]]
    assert ids == sorted(ids, reverse=True)
    assert str(ids[0]) == max(emulator.record_ids("Contacts"), key=int)
    by_time = api.get(
        "/crm/v8/Contacts",
        {"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"},
    ).json()["data"]
    stamps = [parse(r["Modified_Time"]) for r in by_time]
    assert stamps == sorted(stamps)
    created = api.get(
        "/crm/v8/Contacts", {"fields": "Created_Time", "sort_by": "Created_Time"}
    ).json()["data"]
    created_stamps = [parse(r["Created_Time"]) for r in created]
    assert created_stamps == sorted(created_stamps, reverse=True)


def test_only_requested_fields_plus_id_and_dollar_keys(api: Api) -> None:
    data = api.get("/crm/v8/Leads", {"fields": "Last_Name,Modified_Time"}).json()["data"]
    for record in data:
        plain = {k for k in record if not k.startswith("$")}
        assert plain == {"id", "Last_Name", "Modified_Time"}
        assert isinstance(record["id"], str)
        assert len(record["id"]) == 19
        assert record["id"].isdigit()


def test_converted_leads_hidden_by_default(api: Api, emulator: ZohoEmulator) -> None:
    truth = {r["id"]: r["Converted__s"] for r in emulator.iter_records("Leads")}
    converted = {i for i, flag in truth.items() if flag}
    assert converted, "the demo org has converted leads"

    def ids(mode: str | None) -> set[str]:
        out: set[str] = set()
        params = {"fields": "Converted__s", **({"converted": mode} if mode else {})}
        token = None
        while True:
            page = api.get("/crm/v8/Leads", {**params, **({"page_token": token} if token else {})})
            assert page.status_code == 200
            out |= {r["id"] for r in page.json()["data"]}
            token = page.json()["info"]["next_page_token"]
            if not token:
                return out

    assert ids(None) == set(truth) - converted
    assert ids("false") == set(truth) - converted
    assert ids("true") == converted
    assert ids("both") == set(truth)
    assert_error(
        api.get("/crm/v8/Leads", {"fields": "Email", "converted": "maybe"}), 400, "INVALID_DATA"
    )


def test_if_modified_since_is_inclusive_and_304(api: Api, emulator: ZohoEmulator) -> None:
    records = list(emulator.iter_records("Contacts"))
    pivot = sorted(records, key=lambda r: parse(r["Modified_Time"]))[len(records) // 2]
    since = pivot["Modified_Time"]
    expected = {r["id"] for r in records if parse(r["Modified_Time"]) >= parse(since)}
    seen: set[str] = set()
    token = None
    while True:
        params = {"fields": "Modified_Time", **({"page_token": token} if token else {})}
        page = api.get("/crm/v8/Contacts", params, If_Modified_Since=since)
        assert page.status_code == 200
        seen |= {r["id"] for r in page.json()["data"]}
        token = page.json()["info"]["next_page_token"]
        if not token:
            break
    assert pivot["id"] in seen, "If-Modified-Since is inclusive"
    assert seen == expected
    utc = parse(since).astimezone(dt.UTC).isoformat()
    same = api.get("/crm/v8/Contacts", {"fields": "id", "ids": pivot["id"]}, If_Modified_Since=utc)
    assert [r["id"] for r in same.json()["data"]] == [pivot["id"]]
    future = api.get(
        "/crm/v8/Contacts",
        {"fields": "Last_Name"},
        If_Modified_Since="2999-01-01T00:00:00+00:00",
    )
    assert future.status_code == 304
    assert future.content == b""
    assert_error(
        api.get("/crm/v8/Contacts", {"fields": "Last_Name"}, If_Modified_Since="yesterday"),
        400,
        "INVALID_DATA",
    )


def test_if_modified_since_can_take_the_exclusive_reading(
    fresh_api: Api, fresh: ZohoEmulator
) -> None:
    """Section 15, point 1: the other reading (``>``), switched on for the tap's tests."""
    pivot = sorted(fresh.iter_records("Contacts"), key=lambda r: parse(r["Modified_Time"]))[10]
    params = {"fields": "id", "ids": pivot["id"]}
    since = pivot["Modified_Time"]
    assert fresh_api.get("/crm/v8/Contacts", params, If_Modified_Since=since).status_code == 200
    fresh.faults.if_modified_since_exclusive = True
    assert fresh_api.get("/crm/v8/Contacts", params, If_Modified_Since=since).status_code == 304
    earlier = (parse(since) - dt.timedelta(seconds=1)).isoformat()
    again = fresh_api.get("/crm/v8/Contacts", params, If_Modified_Since=earlier)
    assert [r["id"] for r in again.json()["data"]] == [pivot["id"]]


def test_empty_module_answers_204(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.add_module("Empty_Things", count=0)
    response = fresh_api.get("/crm/v8/Empty_Things", {"fields": "Name"})
    assert response.status_code == 204
    assert response.content == b""
    assert fresh_api.get("/crm/v8/Actions_Performed", {"fields": "x"}).status_code == 204


def test_ids_parameter(api: Api, emulator: ZohoEmulator) -> None:
    wanted = sorted(emulator.record_ids("Accounts"), key=int)[:5]
    response = api.get("/crm/v8/Accounts", {"fields": "Account_Name", "ids": ",".join(wanted)})
    assert response.status_code == 200
    assert sorted(r["id"] for r in response.json()["data"]) == wanted
    for record in response.json()["data"]:
        assert (
            record["Account_Name"] == emulator.get_record("Accounts", record["id"])["Account_Name"]
        )
    too_many = ",".join(sorted(emulator.record_ids("Accounts"))[:101])
    assert_error(
        api.get("/crm/v8/Accounts", {"fields": "id", "ids": too_many}), 400, "LIMIT_EXCEEDED"
    )


def test_subform_and_multi_lookup_only_on_single_record_get(
    api: Api, emulator: ZohoEmulator
) -> None:
    quote_id = max(emulator.record_ids("Quotes"), key=int)
    listed = api.get(
        "/crm/v8/Quotes", {"fields": "Subject,Quoted_Items,Grand_Total", "ids": quote_id}
    ).json()["data"][0]
    assert "Quoted_Items" not in listed
    single = api.get(f"/crm/v8/Quotes/{quote_id}")
    assert single.status_code == 200
    full = single.json()["data"][0]
    assert full == emulator.get_record("Quotes", quote_id)
    rows = full["Quoted_Items"]
    assert rows
    for row in rows:
        assert row["Parent_Id"]["id"] == quote_id
        assert len(row["id"]) == 19
        assert row["Product_Name"]["id"] in emulator.record_ids("Products")
    assert full["Sub_Total"] == round(sum(r["Total"] for r in rows), 2)
    lead = next(r for r in emulator.iter_records("Leads") if r["Interested_Products"])
    listed_lead = api.get(
        "/crm/v8/Leads",
        {"fields": "Interested_Products,Last_Name", "ids": lead["id"], "converted": "both"},
    ).json()["data"][0]
    assert "Interested_Products" not in listed_lead
    single_lead = api.get(f"/crm/v8/Leads/{lead['id']}").json()["data"][0]
    assert single_lead["Interested_Products"] == lead["Interested_Products"]
    for link in single_lead["Interested_Products"]:
        assert link["Product"]["id"] in emulator.record_ids("Products")
        assert link["id"] in emulator.record_ids("Leads_X_Products")


def test_rich_text_truncated_in_lists(api: Api, emulator: ZohoEmulator) -> None:
    record = next(
        r for r in emulator.iter_records("Installations") if len(r["Rich_Summary"] or "") > 500
    )
    listed = api.get(
        "/crm/v8/Installations", {"fields": "Rich_Summary", "ids": record["id"]}
    ).json()["data"][0]
    assert listed["Rich_Summary"] == record["Rich_Summary"][:500]
    single = api.get(f"/crm/v8/Installations/{record['id']}").json()["data"][0]
    assert single["Rich_Summary"] == record["Rich_Summary"]


def test_module_errors(api: Api) -> None:
    body = assert_error(api.get("/crm/v8/Nope", {"fields": "Name"}), 400, "INVALID_MODULE")
    assert body["details"]["resource_path_index"] == 0
    assert_error(api.get("/crm/v8/Home", {"fields": "Name"}), 400, "INVALID_MODULE")
    assert_error(api.get("/crm/v8/Quoted_Items", {"fields": "Total"}), 400, "INVALID_MODULE")
    assert_error(api.get("/crm/v8/Leads/search", {"fields": "x"}), 404, "INVALID_URL_PATTERN")
    assert api.get("/crm/v8/Leads/4876876099999999999").status_code == 204


def test_notes_listing_is_admin_only() -> None:
    with ZohoEmulator(profile="minimal", admin=False) as zoho:
        api = Api(zoho)
        body = assert_error(
            api.get("/crm/v8/Notes", {"fields": "Note_Title"}), 403, "NOT_SUPPORTED"
        )
        assert body["message"] == "This API is supported only for admin users."
    with ZohoEmulator(profile="minimal", admin=True) as zoho:
        listed = Api(zoho).get("/crm/v8/Notes", {"fields": "Note_Title,Parent_Id"})
        assert listed.status_code == 200
        assert {r["id"] for r in listed.json()["data"]} == zoho.record_ids("Notes")


def test_record_count(api: Api, emulator: ZohoEmulator) -> None:
    both = api.get("/crm/v8/Leads/actions/count", {"converted": "both"}).json()["count"]
    assert both == emulator.count("Leads")
    default = api.get("/crm/v8/Leads/actions/count").json()["count"]
    converted = sum(1 for r in emulator.iter_records("Leads") if r["Converted__s"])
    assert default == both - converted


def test_the_order_within_a_tie_can_be_unstable(fresh: ZohoEmulator) -> None:
    """Zoho promises no order among records sharing a Modified_Time; the switch takes the
    least forgiving reading: a new order on every call."""
    ids = sorted(fresh.record_ids("Leads"))[:25]
    fresh.update_records("Leads", ids)  # one shared Modified_Time
    api = Api(fresh)
    stamp = fresh.get_record("Leads", ids[0])["Modified_Time"]
    params = {
        "fields": "id,Modified_Time",
        "sort_by": "Modified_Time",
        "sort_order": "asc",
        "per_page": 10,
        "converted": "both",
    }

    def first_page() -> list[str]:
        response = api.get("/crm/v8/Leads", params, If_Modified_Since=stamp)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["data"]]

    assert first_page() == first_page()
    fresh.faults.unstable_tie_order = True
    pages = [first_page() for _ in range(5)]
    assert len({tuple(page) for page in pages}) > 1
    assert all(set(page) <= set(ids) for page in pages)
