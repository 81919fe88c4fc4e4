"""The bad-answer and bad-record switches (off by default): what each one answers, and when."""

from __future__ import annotations

import json

import pytest
from emu_helpers import Api

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.badanswers import BAD_ANSWER_KINDS, BAD_RECORD_KINDS

LEADS = "/crm/v8/Leads"


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize("kind", BAD_ANSWER_KINDS)
def test_each_bad_answer_is_a_200_that_is_not_a_well_formed_success(
    fresh_api: Api, fresh: ZohoEmulator, kind: str
) -> None:
    good = fresh_api.get(LEADS, {"fields": "id,Last_Name"})
    assert good.status_code == 200
    assert good.json()["data"]
    fresh.faults.update({"bad_answer_kind": kind, "bad_answer_path": LEADS})
    bad = fresh_api.get(LEADS, {"fields": "id,Last_Name"})
    assert bad.status_code == 200
    body = _json_or_none(bad.text)
    if kind in {"html_200", "malformed_json", "truncated_json", "empty_200"}:
        assert body is None, bad.text[:200]
        if kind == "truncated_json":
            assert good.text.startswith(bad.text)
            assert len(bad.text) < len(good.text)
    elif kind == "error_body_200":
        assert body == {
            "code": "INTERNAL_ERROR",
            "details": {},
            "message": "Internal Server Error",
            "status": "error",
        }
    elif kind == "data_entry_error":
        assert isinstance(body, dict)
        assert body["data"][0]["status"] == "error"
    else:
        assert isinstance(body, dict)
        assert "data" not in body
    assert fresh.faults.injected[kind] == 1
    # Other paths are untouched.
    assert fresh_api.get("/crm/v8/Contacts", {"fields": "id"}).json()["data"]


def test_bad_answer_after_times_and_rate(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.faults.update(
        {
            "bad_answer_kind": "error_body_200",
            "bad_answer_path": LEADS,
            "bad_answer_after": 2,
            "bad_answer_times": 1,
        }
    )
    codes = ["data" in (fresh_api.get(LEADS, {"fields": "id"}).json() or {}) for _ in range(5)]
    assert codes == [True, True, False, True, True]
    fresh.faults.update({"bad_answer_times": None, "bad_answer_rate": 0.5, "fault_seed": 3})
    good = sum("data" in fresh_api.get(LEADS, {"fields": "id"}).json() for _ in range(40))
    assert 5 < good < 35
    assert fresh.faults.injected["error_body_200"] == 1 + 40 - good


def test_unknown_kinds_are_refused(fresh: ZohoEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        fresh.faults.update({"bad_answer_kinds": "html_200"})


@pytest.mark.parametrize("kind", BAD_RECORD_KINDS)
def test_bad_records_are_spoiled_in_every_data_list(
    fresh_api: Api, fresh: ZohoEmulator, kind: str
) -> None:
    record_id = sorted(fresh.record_ids("Leads"))[3]
    fresh.faults.bad_records = {record_id: kind}
    rows = fresh_api.get(LEADS, {"fields": "id,Modified_Time"}).json()["data"]
    by_id = fresh_api.get(LEADS, {"fields": "id,Modified_Time", "ids": record_id}).json()["data"]
    stored = fresh.get_record("Leads", record_id)
    for found in (rows, by_id):
        spoiled = [r for r in found if str(r["id"]).lstrip("x") == record_id]
        assert len(spoiled) == 1
        row = spoiled[0]
        if kind == "missing_modified_time":
            assert "Modified_Time" not in row
        elif kind == "null_modified_time":
            assert row["Modified_Time"] is None
        elif kind == "invalid_modified_time":
            assert row["Modified_Time"] != stored["Modified_Time"]
            assert not row["Modified_Time"][:4].isdigit()
        else:
            assert row["id"] == f"x{record_id}"
    assert sum(1 for r in rows if str(r["id"]).lstrip("x") != record_id) == len(rows) - 1


def _spoiled(rows: list[dict[str, object]], record_id: str) -> dict[str, object]:
    found = [r for r in rows if str(r["id"]).lstrip("x") == record_id]
    assert len(found) == 1, rows
    return found[0]


@pytest.mark.parametrize("kind", ["null_modified_time", "non_numeric_id"])
def test_bad_records_reach_deleted_lists_users_and_coql(
    fresh_api: Api, fresh: ZohoEmulator, kind: str
) -> None:
    deleted = sorted(fresh.record_ids("Leads"))[5]
    fresh.delete_record("Leads", deleted)
    lead = sorted(fresh.record_ids("Leads"))[3]
    user = sorted(fresh.user_ids())[0]
    fresh.faults.bad_records = {deleted: kind, lead: kind, user: kind}
    entries = fresh_api.get(f"{LEADS}/deleted", {"type": "all"}).json()["data"]
    users = fresh_api.get("/crm/v8/users", {"type": "AllUsers"}).json()["users"]
    query = f"select id, Modified_Time from Leads where id = '{lead}'"
    coql = fresh_api.post("/crm/v8/coql", json={"select_query": query}).json()["data"]
    if kind == "null_modified_time":
        # A deleted list is keyed by deleted_time: that is the datetime spoiled there.
        assert _spoiled(entries, deleted)["deleted_time"] is None
        assert _spoiled(users, user)["Modified_Time"] is None
        assert _spoiled(coql, lead)["Modified_Time"] is None
    else:
        assert _spoiled(entries, deleted)["id"] == f"x{deleted}"
        assert _spoiled(users, user)["id"] == f"x{user}"
        assert _spoiled(coql, lead)["id"] == f"x{lead}"
    fresh.faults.bad_records = {}
    clean = fresh_api.get(f"{LEADS}/deleted", {"type": "all"}).json()["data"]
    assert _spoiled(clean, deleted)["deleted_time"] is not None


def test_bad_records_can_be_limited_to_requests_with_one_parameter(
    fresh_api: Api, fresh: ZohoEmulator
) -> None:
    record_id = sorted(fresh.record_ids("Leads"))[3]
    fresh.faults.update({"bad_records": {record_id: "non_numeric_id"}, "bad_records_param": "ids"})
    listed = fresh_api.get(LEADS, {"fields": "id"}).json()["data"]
    by_id = fresh_api.get(LEADS, {"fields": "id", "ids": record_id}).json()["data"]
    assert record_id in {str(r["id"]) for r in listed}
    assert [r["id"] for r in by_id] == [f"x{record_id}"]
