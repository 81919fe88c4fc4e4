"""page_token: a server-side position bound to the params and the user, 24 h, 100k records."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


@pytest.fixture(scope="module")
def big() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=5, size={"Contacts": 2500}) as zoho:
        yield zoho


def first_page(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/crm/v8/Contacts", {"fields": "Last_Name", **params})
    assert response.status_code == 200
    return response.json()


def test_tokens_walk_every_record_once(big: ZohoEmulator) -> None:
    api = Api(big)
    seen: list[str] = []
    body = first_page(api, sort_by="Modified_Time", sort_order="asc")
    assert body["info"]["next_page_token"], "the first page already carries a token"
    assert body["info"]["previous_page_token"] is None
    assert body["info"]["page_token_expiry"]
    seen += [r["id"] for r in body["data"]]
    while body["info"]["more_records"]:
        token = body["info"]["next_page_token"]
        response = api.get(
            "/crm/v8/Contacts",
            {
                "fields": "Last_Name",
                "sort_by": "Modified_Time",
                "sort_order": "asc",
                "page_token": token,
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["info"]["page"] == 1, "token pages report page 1, as Zoho's sample does"
        assert body["info"]["previous_page_token"]
        seen += [r["id"] for r in body["data"]]
    assert len(seen) == len(set(seen)) == big.count("Contacts")
    assert set(seen) == big.record_ids("Contacts")


def test_token_bound_to_the_other_params(big: ZohoEmulator) -> None:
    api = Api(big)
    token = first_page(api)["info"]["next_page_token"]
    changes: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"fields": "Last_Name,Email"}, {}),
        ({"fields": "Last_Name", "sort_order": "asc"}, {}),
        ({"fields": "Last_Name", "per_page": 100}, {}),
        ({"fields": "Last_Name"}, {"If_Modified_Since": "2020-01-01T00:00:00+00:00"}),
    ]
    for params, headers in changes:
        body = assert_error(
            api.get("/crm/v8/Contacts", {**params, "page_token": token}, **headers),
            400,
            "TOKEN_BOUND_DATA_MISMATCH",
        )
        assert body["details"]["param_name"] == "page_token"
    same = api.get("/crm/v8/Contacts", {"fields": "Last_Name", "page_token": token})
    assert same.status_code == 200


def test_token_bound_to_the_user(big: ZohoEmulator) -> None:
    token = first_page(Api(big))["info"]["next_page_token"]
    other_user = big.user_ids()[1]
    refresh = big.issue_refresh_token(other_user)
    other = Api(big, big.oauth.mint(refresh, count=False))
    assert other.get("/crm/v8/Contacts", {"fields": "Last_Name"}).status_code == 200
    assert_error(
        other.get("/crm/v8/Contacts", {"fields": "Last_Name", "page_token": token}),
        400,
        "INVALID_DATA",
    )
    assert_error(
        Api(big).get("/crm/v8/Contacts", {"fields": "Last_Name", "page_token": "c8582xx9e7c7"}),
        400,
        "INVALID_DATA",
    )


def test_token_expires_after_24_hours_of_emulator_time() -> None:
    with ZohoEmulator(profile="minimal", size={"Contacts": 500}) as zoho:
        api = Api(zoho)
        body = first_page(api)
        token = body["info"]["next_page_token"]
        zoho.clock.advance(23 * 3600)
        api = Api(zoho)
        follow = api.get("/crm/v8/Contacts", {"fields": "Last_Name", "page_token": token})
        assert follow.status_code == 200
        chained = follow.json()["info"]["next_page_token"]
        zoho.clock.advance(3600 + 1)
        api = Api(zoho)
        for stale in (token, chained):
            assert_error(
                api.get("/crm/v8/Contacts", {"fields": "Last_Name", "page_token": stale}),
                400,
                "EXPIRED_VALUE",
            )


def test_token_is_a_position_in_the_list_as_ordered_now() -> None:
    """A record modified mid-pagination moves to the end; later pages shift under the token."""
    with ZohoEmulator(profile="minimal", size={"Contacts": 600}) as zoho:
        api = Api(zoho)
        params = {"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"}
        page1 = api.get("/crm/v8/Contacts", params).json()
        before = api.get(
            "/crm/v8/Contacts", {**params, "page_token": page1["info"]["next_page_token"]}
        ).json()
        first_of_page2 = before["data"][0]["id"]
        zoho.update_record("Contacts", page1["data"][0]["id"], {"Title": "Moved"})
        after = api.get(
            "/crm/v8/Contacts", {**params, "page_token": page1["info"]["next_page_token"]}
        ).json()
        assert after["data"][0]["id"] == before["data"][1]["id"]
        seen = {r["id"] for r in page1["data"]} | {r["id"] for r in after["data"]}
        assert first_of_page2 not in seen, "the shifted record is skipped by token paging"


def test_page_tokens_stop_at_100k_records() -> None:
    started = time.perf_counter()
    with ZohoEmulator(profile="minimal", size={"Contacts": 100_400}) as zoho:
        api = Api(zoho)
        params = {"fields": "id", "sort_by": "id", "sort_order": "asc"}
        body = api.get("/crm/v8/Contacts", params).json()
        fetched = len(body["data"])
        while fetched < 100_000:
            response = api.get(
                "/crm/v8/Contacts", {**params, "page_token": body["info"]["next_page_token"]}
            )
            assert response.status_code == 200
            body = response.json()
            fetched += len(body["data"])
        assert fetched == 100_000
        assert body["info"]["more_records"] is True
        body = assert_error(
            api.get("/crm/v8/Contacts", {**params, "page_token": body["info"]["next_page_token"]}),
            400,
            "PAGINATION_LIMIT_EXCEEDED",
        )
        assert body["details"]["limit"] == 100_000
    print(f"walked 100k records in {time.perf_counter() - started:.1f}s")


def test_the_page_token_reach_can_be_lowered_for_small_tests() -> None:
    """`faults.page_token_reach` moves the 100,000 cap, so tests can meet it on little data."""
    with ZohoEmulator(profile="minimal", seed=5, size={"Contacts": 700}) as zoho:
        zoho.faults.page_token_reach = 400
        api = Api(zoho)
        params = {"fields": "id", "sort_by": "id", "sort_order": "asc", "per_page": 200}
        body = api.get("/crm/v8/Contacts", params).json()
        fetched = len(body["data"])
        while fetched < 400:
            token = body["info"]["next_page_token"]
            body = api.get("/crm/v8/Contacts", {**params, "page_token": token}).json()
            fetched += len(body["data"])
        assert body["info"]["more_records"] is True
        token = body["info"]["next_page_token"]
        body = assert_error(
            api.get("/crm/v8/Contacts", {**params, "page_token": token}),
            400,
            "PAGINATION_LIMIT_EXCEEDED",
        )
        assert body["details"]["limit"] == 400


def test_tokens_only_from_page_10_under_the_other_reading(big: ZohoEmulator) -> None:
    """``records_token_from_page_10``: pages 1-9 say more_records without a token; the page
    ending at record 2,000 carries the token that reaches past it."""
    big.faults.records_token_from_page_10 = True
    try:
        api = Api(big)
        seen: list[str] = []
        for page in range(1, 11):
            body = first_page(api, page=str(page))
            assert body["info"]["more_records"]
            assert bool(body["info"].get("next_page_token")) == (page == 10), page
            seen += [r["id"] for r in body["data"]]
        rest = first_page(api, page_token=body["info"]["next_page_token"])
        seen += [r["id"] for r in rest["data"]]
        while rest["info"]["more_records"]:
            rest = first_page(api, page_token=rest["info"]["next_page_token"])
            seen += [r["id"] for r in rest["data"]]
    finally:
        big.faults.records_token_from_page_10 = False
    assert sorted(seen) == sorted(big.record_ids("Contacts"))
