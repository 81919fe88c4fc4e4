"""Pages assembled from cached record fragments are byte for byte the freshly rendered ones.

The emulator keeps each listed record's JSON (``rendered.RenderedRecords``) so a page is a join,
not a render. Each request here is served three ways, over real HTTP: cold (cache just emptied),
warm (the same request again) and fresh (cache switched off); the bodies must be identical once
the page tokens, which are new on every call, are masked. After every kind of write the pages
must show the write, still identical to a fresh render.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emu_helpers import Api

from tap_zoho_crm.schema import is_listable
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.store import Tail

MODULES = ("Leads", "Contacts", "Deals", "Accounts")
QUERIES: tuple[dict[str, str], ...] = (
    {},
    {"sort_by": "Modified_Time", "sort_order": "asc", "per_page": "150"},
    {"sort_by": "id", "sort_order": "desc", "page": "2", "per_page": "57"},
    {"sort_by": "Created_Time", "converted": "both"},
)
IMS = "2025-06-01T00:00:00+00:00"
_TOKENS = re.compile(rb'"(next_page_token|previous_page_token|page_token_expiry)":"[^"]*"')


def _masked(response: requests.Response) -> tuple[int, bytes]:
    return response.status_code, _TOKENS.sub(rb'"\1":"-"', response.content)


def _field_sets(zoho: ZohoEmulator, module: str) -> dict[str, list[str]]:
    listable = [f["api_name"] for f in zoho.fields(module) if is_listable(f)]
    return {
        "all": listable[:50],
        "every third": listable[::3][:12],
        "keys only": ["id", "Modified_Time"],
    }


Answer = tuple[int, bytes]


def _three_ways(
    zoho: ZohoEmulator, api: Api, path: str, params: dict[str, Any], **headers: str
) -> tuple[Answer, Answer, Answer, int]:
    """The masked (cold, warm, fresh) answers to one request."""
    cache = zoho.org.rendered
    cache.clear()
    cold = _masked(api.get(path, params, **headers))
    cached = len(cache)
    warm = _masked(api.get(path, params, **headers))
    assert len(cache) == cached  # the warm call found every fragment
    cache.enabled = False
    try:
        fresh = _masked(api.get(path, params, **headers))
    finally:
        cache.enabled = True
    return cold, warm, fresh, cached


@pytest.fixture(scope="module")
def zoho() -> Iterator[ZohoEmulator]:
    """A demo org of its own (the shared one must not have its cache switched off)."""
    with ZohoEmulator(profile="demo", seed=7, user_time_zone="America/New_York") as emu:
        yield emu


def _other_zone_user(zoho: ZohoEmulator) -> str:
    """An active user whose time zone differs from the API user's (offsets differ per user)."""
    for uid, user in zoho.org.users.items():
        if (
            uid != zoho.api_user_id
            and user["status"] == "active"
            and user["time_zone"] != zoho.org.user_time_zone
        ):
            return uid
    raise AssertionError("the demo org has no user in another time zone")


@pytest.mark.parametrize("zone", ["api user", "other user"])
def test_cached_pages_are_byte_identical_to_fresh_ones(zoho: ZohoEmulator, zone: str) -> None:
    token = None
    if zone == "other user":
        token = zoho.oauth.mint(zoho.issue_refresh_token(_other_zone_user(zoho)), count=False)
    api = Api(zoho, token)
    served = 0
    for module in MODULES:
        for name, fields in _field_sets(zoho, module).items():
            for query in QUERIES:
                params = {"fields": ",".join(fields), **query}
                cold, warm, fresh, cached = _three_ways(zoho, api, f"/crm/v8/{module}", params)
                assert cold[0] == 200, (module, name, query)
                assert cold == warm == fresh, (module, name, query)
                assert cached > 0
                served += 1
        for order in ("asc", "desc"):
            since = {"fields": ",".join(_field_sets(zoho, module)["all"]), "sort_order": order}
            since["sort_by"] = "Modified_Time"
            cold, warm, fresh, _ = _three_ways(
                zoho, api, f"/crm/v8/{module}", since, If_Modified_Since=IMS
            )
            assert cold[0] == 200
            assert cold == warm == fresh
    assert served == len(MODULES) * 3 * len(QUERIES)


def test_time_zones_never_share_fragments(zoho: ZohoEmulator) -> None:
    """The same page for two users in two zones: same records, other offsets."""
    fields = {"fields": "Last_Name,Created_Time,Modified_Time", "per_page": "20"}
    mine = Api(zoho).get("/crm/v8/Leads", fields).json()["data"]
    other = zoho.oauth.mint(zoho.issue_refresh_token(_other_zone_user(zoho)), count=False)
    theirs = Api(zoho, other).get("/crm/v8/Leads", fields).json()["data"]
    assert [r["id"] for r in mine] == [r["id"] for r in theirs]
    assert [r["Modified_Time"] for r in mine] != [r["Modified_Time"] for r in theirs]


def _page_of(api: Api, module: str, fields: str, **extra: str) -> dict[str, dict[str, Any]]:
    body = api.get(f"/crm/v8/{module}", {"fields": fields, "per_page": "200", **extra}).json()
    return {record["id"]: record for record in body["data"]}


def _same_as_fresh(zoho: ZohoEmulator, api: Api, module: str, fields: str) -> None:
    params = {"fields": fields, "sort_by": "id", "sort_order": "asc"}
    warm_first = _masked(api.get(f"/crm/v8/{module}", params))
    zoho.org.rendered.enabled = False
    try:
        fresh = _masked(api.get(f"/crm/v8/{module}", params))
    finally:
        zoho.org.rendered.enabled = True
    assert warm_first == fresh


def test_every_write_is_served_fresh(fresh: ZohoEmulator, fresh_api: Api) -> None:
    """Writes through the emulator's HTTP admin API; the warm pages show each one at once."""
    zoho, api = fresh, fresh_api
    admin = f"{zoho.base_url}/__emulator"
    lead_fields = "Last_Name,Company,Modified_Time"
    contact_fields = "Last_Name,Account_Name,Modified_Time"
    leads = _page_of(api, "Leads", lead_fields, sort_by="id", sort_order="asc")
    contacts = _page_of(api, "Contacts", contact_fields, sort_by="id", sort_order="asc")
    _page_of(api, "Leads", lead_fields, sort_by="id", sort_order="asc")  # warm
    assert len(zoho.org.rendered) > 0

    # update: the record itself
    lead_id = sorted(leads)[1]
    zoho.clock.advance(5)
    answer = requests.patch(
        f"{admin}/records/Leads/{lead_id}", json={"values": {"Last_Name": "Renamed"}}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    after = _page_of(api, "Leads", lead_fields, sort_by="id", sort_order="asc")
    assert after[lead_id]["Last_Name"] == "Renamed"
    assert after[lead_id]["Modified_Time"] != leads[lead_id]["Modified_Time"]
    assert after[lead_id]["Modified_Time"] == zoho.get_record("Leads", lead_id)["Modified_Time"]
    _same_as_fresh(zoho, api, "Leads", lead_fields)

    # update of another module: the lookup names that point at it
    with_account = next(r for r in contacts.values() if r["Account_Name"])
    account_id = with_account["Account_Name"]["id"]
    answer = requests.patch(
        f"{admin}/records/Accounts/{account_id}",
        json={"values": {"Account_Name": "Renamed Holdings"}},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    after_contacts = _page_of(api, "Contacts", contact_fields, sort_by="id", sort_order="asc")
    pointing = [
        r for r in after_contacts.values() if (r["Account_Name"] or {}).get("id") == account_id
    ]
    assert pointing
    assert all(r["Account_Name"]["name"] == "Renamed Holdings" for r in pointing)
    _same_as_fresh(zoho, api, "Contacts", contact_fields)

    # create and delete
    answer = requests.post(
        f"{admin}/records/Leads", json={"values": {"Last_Name": "Newcomer"}}, timeout=10
    )
    created = answer.json()["id"]
    newest = _page_of(api, "Leads", lead_fields, sort_by="id", sort_order="desc")
    assert newest[created]["Last_Name"] == "Newcomer"
    gone = sorted(leads)[0]
    answer = requests.delete(f"{admin}/records/Leads/{gone}", timeout=10)
    assert answer.status_code == 200, answer.text
    assert gone not in _page_of(api, "Leads", lead_fields, sort_by="id", sort_order="asc")
    _same_as_fresh(zoho, api, "Leads", lead_fields)

    # a new field: every record lists it from now on
    answer = requests.post(
        f"{admin}/fields/Leads",
        json={"api_name": "Fresh_Field__c", "data_type": "text"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    page = _page_of(api, "Leads", lead_fields + ",Fresh_Field__c", sort_by="id", sort_order="asc")
    assert all("Fresh_Field__c" in record for record in page.values())
    _same_as_fresh(zoho, api, "Leads", lead_fields + ",Fresh_Field__c")


def test_a_tail_reads_like_the_list_suffix_it_stands_for() -> None:
    """``store.Tail``: keyset walks get a suffix of the ordered indices without a copy."""
    rng = random.Random(3)
    items = rng.sample(range(10_000), 300)
    for start in (0, 1, 150, 299, 300):
        tail, copy = Tail(items, start), items[start:]
        assert len(tail) == len(copy)
        assert list(tail) == copy
        assert bool(tail) == bool(copy)
        for _ in range(50):
            a, b = rng.randint(-320, 320), rng.randint(-320, 320)
            step = rng.choice((None, 1, 2, -1, -3))
            assert tail[a:b:step] == copy[a:b:step], (start, a, b, step)
        for i in range(-len(copy), len(copy)):
            assert tail[i] == copy[i]
        with pytest.raises(IndexError):
            tail[len(copy)]
