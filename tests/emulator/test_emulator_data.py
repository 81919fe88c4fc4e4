"""Data shapes: ids, DST-crossing offsets, determinism, realistic values, lazy large modules."""

from __future__ import annotations

import datetime as dt
import re
import resource
import time
from zoneinfo import ZoneInfo

from emu_helpers import Api

from tap_zoho_crm.testing.emulator import ZohoEmulator

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def test_datetimes_use_the_api_users_zone_and_cross_dst(api: Api, emulator: ZohoEmulator) -> None:
    data = api.get(
        "/crm/v8/Leads", {"fields": "Created_Time,Modified_Time", "converted": "both"}
    ).json()["data"]
    offsets = set()
    la = ZoneInfo("America/Los_Angeles")
    for record in data:
        for key in ("Created_Time", "Modified_Time"):
            value = record[key]
            assert ISO.match(value), value
            parsed = dt.datetime.fromisoformat(value)
            assert parsed.utcoffset() == parsed.astimezone(la).utcoffset()
            offsets.add(value[-6:])
    all_offsets = {r["Modified_Time"][-6:] for r in emulator.iter_records("Contacts")} | offsets
    assert {"-07:00", "-08:00"} <= all_offsets, "offsets change with DST inside one org"


def test_user_time_zone_changes_offsets_not_instants() -> None:
    with (
        ZohoEmulator(profile="minimal", seed=3) as ist,
        ZohoEmulator(profile="minimal", seed=3, user_time_zone="UTC") as utc,
    ):
        a = Api(ist).get("/crm/v8/Leads", {"fields": "Modified_Time"}).json()["data"]
        b = Api(utc).get("/crm/v8/Leads", {"fields": "Modified_Time"}).json()["data"]
        assert [r["id"] for r in a] == [r["id"] for r in b]
        for left, right in zip(a, b, strict=True):
            assert left["Modified_Time"].endswith("+05:30")
            assert right["Modified_Time"].endswith("+00:00")
            assert dt.datetime.fromisoformat(left["Modified_Time"]) == dt.datetime.fromisoformat(
                right["Modified_Time"]
            )


def test_deterministic_from_the_seed() -> None:
    with (
        ZohoEmulator(profile="minimal", seed=21) as one,
        ZohoEmulator(profile="minimal", seed=21) as two,
        ZohoEmulator(profile="minimal", seed=22) as other,
    ):
        assert one.client_id == two.client_id
        for module in one.module_names():
            assert list(one.iter_records(module)) == list(two.iter_records(module))
        assert list(one.iter_records("Leads")) != list(other.iter_records("Leads"))


def test_realistic_values_for_every_field_type(emulator: ZohoEmulator) -> None:
    records = list(emulator.iter_records("Installations"))
    users = set(emulator.user_ids())
    accounts = emulator.record_ids("Accounts")
    contacts = emulator.record_ids("Contacts")
    fields = {f["api_name"]: f for f in emulator.fields("Installations")}
    filled: dict[str, int] = dict.fromkeys(fields, 0)
    for record in records:
        for name, value in record.items():
            if name in filled and value not in (None, [], ""):
                filled[name] += 1
        assert record["Owner"]["id"] in users
        assert "@" in record["Owner"]["email"]
        if record["Site"]:
            assert record["Site"]["id"] in accounts
            assert (
                record["Site"]["name"]
                == emulator.get_record("Accounts", record["Site"]["id"])["Account_Name"]
            )
        if record["Primary_Contact"]:
            assert record["Primary_Contact"]["id"] in contacts
        assert isinstance(record["Features"], list)
        assert isinstance(record["Amount"], float)
        assert isinstance(record["Units"], int)
        assert isinstance(record["Active"], bool)
        assert re.match(r"^\d{4}-\d{2}-\d{2}$", record["Install_Date"])
        assert record["Parts_Count"] == len(record["Installation_Parts"])
        if record["Related_To"]:
            assert record["$se_module"] in ("Accounts", "Deals", "Leads", "Contacts")
        for link in record["Crew"]:
            assert link["Crew_Member"]["id"] in users
    never_filled = [name for name, n in filled.items() if n == 0 and name != "Crew"]
    assert never_filled == [], never_filled
    assert any(r["Crew"] for r in records)


def test_campaign_members_and_contact_roles_exist(emulator: ZohoEmulator) -> None:
    campaign = max(emulator.record_ids("Campaigns"), key=int)
    members = emulator.campaign_members(campaign, "Leads")
    assert members
    assert set(members) <= emulator.record_ids("Leads")
    roles = [emulator.contact_roles(d) for d in sorted(emulator.record_ids("Deals"))[:40]]
    assert any(roles)


def test_demo_size_and_large_modules_are_lazy() -> None:
    with ZohoEmulator(profile="demo") as demo:
        total = sum(demo.count(m) for m in demo.module_names())
        assert 4500 <= total <= 6000
        assert sum(1 for m in demo.module_names() if demo.count(m) > 0) >= 12
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with ZohoEmulator(profile="minimal", size={"Leads": 200_000}) as zoho:
        assert zoho.count("Leads") == 200_000
        api = Api(zoho)
        page = api.get(
            "/crm/v8/Leads",
            {"fields": "Last_Name,Modified_Time", "sort_by": "Modified_Time", "converted": "both"},
        )
        assert page.status_code == 200
        assert len(page.json()["data"]) == 200
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert grown_mb < 150, f"200k records should not be materialised ({grown_mb:.0f} MB)"
    assert time.perf_counter() - started < 15
