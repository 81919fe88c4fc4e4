"""The COQL subset and Bulk Read jobs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def coql(api: Api, query: str):  # type: ignore[no-untyped-def]
    return api.post("/crm/v8/coql", {"select_query": query})


def test_keyset_paging_with_where_and_order(api: Api, emulator: ZohoEmulator) -> None:
    truth = {r["id"]: r for r in emulator.iter_records("Contacts")}
    seen: list[str] = []
    anchor = "1970-01-01T00:00:00+00:00"
    last_id = "0"
    while True:
        response = coql(
            api,
            "select Last_Name, Modified_Time, Owner from Contacts "
            f"where (Modified_Time >= '{anchor}' and id != {last_id}) "
            "order by Modified_Time asc, id asc limit 200",
        )
        if response.status_code == 204:
            break
        body = response.json()
        rows = [r for r in body["data"] if r["id"] not in seen]
        seen += [r["id"] for r in rows]
        for row in rows:
            assert row["Last_Name"] == truth[row["id"]]["Last_Name"]
            assert row["Owner"]["id"] == truth[row["id"]]["Owner"]["id"]
        if not body["info"]["more_records"]:
            break
        anchor, last_id = body["data"][-1]["Modified_Time"], body["data"][-1]["id"]
    assert set(seen) == set(truth)
    stamps = [dt.datetime.fromisoformat(truth[i]["Modified_Time"]) for i in seen]
    assert stamps == sorted(stamps)


def test_limit_offset_and_credits(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    fresh.stats.reset()
    page1 = coql(api, "select Last_Name from Leads where id is not null order by id asc limit 5")
    page2 = coql(api, "select Last_Name from Leads order by id asc limit 5 offset 5")
    ids = sorted(fresh.record_ids("Leads"), key=int)
    assert [r["id"] for r in page1.json()["data"]] == ids[:5]
    assert [r["id"] for r in page2.json()["data"]] == ids[5:10]
    assert page1.json()["info"] == {"count": 5, "more_records": True}
    assert fresh.stats.credits == 2
    coql(api, "select Last_Name from Leads limit 1500")
    assert fresh.stats.credits == 5
    lo, hi = ids[3], ids[6]
    between = coql(api, f"select Last_Name from Leads where id >= {lo} and id <= {hi}")
    assert sorted(r["id"] for r in between.json()["data"]) == ids[3:7]


def test_coql_errors_and_limits(api: Api) -> None:
    assert_error(coql(api, "select Last_Name from Leads limit 2001"), 400, "LIMIT_EXCEEDED")
    assert_error(
        coql(api, "select Last_Name from Leads limit 2000 offset 98001"), 400, "LIMIT_EXCEEDED"
    )
    assert_error(coql(api, "selec Last_Name from Leads"), 400, "SYNTAX_ERROR")
    assert_error(coql(api, "select Nope from Leads"), 400, "INVALID_QUERY")
    assert_error(coql(api, "select Last_Name from Nope"), 400, "INVALID_QUERY")
    assert_error(
        coql(api, "select Last_Name from Leads order by id asc, id desc"), 400, "DUPLICATE_DATA"
    )
    assert_error(api.post("/crm/v8/coql", {}), 400, "REQUIRED_PARAM_MISSING")
    empty = coql(api, "select Last_Name from Leads where Modified_Time > '2999-01-01T00:00:00Z'")
    assert empty.status_code == 204


def test_subform_rows_through_coql(api: Api, emulator: ZohoEmulator) -> None:
    rows = []
    offset = 0
    while True:
        response = coql(
            api,
            f"select Product_Name, Quantity, Parent_Id from Quoted_Items limit 200 offset {offset}",
        )
        if response.status_code == 204:
            break
        rows += response.json()["data"]
        offset += 200
    expected = {
        row["id"]: quote["id"]
        for quote in emulator.iter_records("Quotes")
        for row in quote["Quoted_Items"]
    }
    assert {r["id"]: r["Parent_Id"]["id"] for r in rows} == expected


def test_bulk_read_job_lifecycle(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    fresh.stats.reset()
    created = api.post(
        "/crm/bulk/v8/read",
        {
            "query": {
                "module": {"api_name": "Leads"},
                "fields": ["Last_Name", "Owner", "Modified_Time", "Preferred_Channels"],
                "criteria": {
                    "group_operator": "and",
                    "group": [
                        {
                            "field": {"api_name": "Modified_Time"},
                            "comparator": "greater_equal",
                            "value": "2000-01-01T00:00:00+00:00",
                        }
                    ],
                },
            },
            "file_type": "csv",
        },
    )
    assert created.status_code == 201
    details = created.json()["data"][0]["details"]
    assert created.json()["data"][0]["code"] == "ADDED_SUCCESSFULLY"
    assert details["state"] == "ADDED"
    assert fresh.stats.credits == 50
    job = details["id"]
    early = api.get(f"/crm/bulk/v8/read/{job}/result")
    assert_error(early, 400, "INVALID_DATA")
    states = [api.get(f"/crm/bulk/v8/read/{job}").json()["data"][0]["state"] for _ in range(2)]
    assert states == ["IN PROGRESS", "COMPLETED"]
    result = api.get(f"/crm/bulk/v8/read/{job}").json()["data"][0]["result"]
    assert result["count"] == fresh.count("Leads")
    assert result["download_url"] == f"/crm/bulk/v8/read/{job}/result"
    download = api.get(result["download_url"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.namelist() == [f"{job}.csv"]
    rows = list(csv.DictReader(io.StringIO(archive.read(f"{job}.csv").decode("utf-8"))))
    assert {r["id"] for r in rows} == fresh.record_ids("Leads")
    for row in rows:
        truth = fresh.get_record("Leads", row["id"])
        assert row["Owner"] == truth["Owner"]["id"]
        assert row["Preferred_Channels"] == ";".join(truth["Preferred_Channels"])
        assert row["Modified_Time"] == truth["Modified_Time"]
    for _ in range(9):
        api.get(result["download_url"])
    assert_error(api.get(result["download_url"]), 429, "TOO_MANY_REQUESTS")


def test_bulk_read_errors(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    wrong_type = api.session.post(
        fresh.base_url + "/crm/bulk/v8/read",
        data="query=1",
        headers={**api.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(wrong_type, 415, "MEDIA_TYPE_NOT_SUPPORTED")
    assert_error(api.get("/crm/bulk/v8/read/4876876940000009999"), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        api.post("/crm/bulk/v8/read", {"query": {"module": {"api_name": "Nope"}}}),
        400,
        "INVALID_MODULE",
    )
    fresh.faults.bulk_failure = True
    job = api.post("/crm/bulk/v8/read", {"query": {"module": {"api_name": "Leads"}}}).json()
    job_id = job["data"][0]["details"]["id"]
    for _ in range(2):
        state = api.get(f"/crm/bulk/v8/read/{job_id}").json()["data"][0]
    assert state["state"] == "FAILURE"
    assert state["result"]["error_message"]["code"]


def test_coql_empty_result_as_data_under_the_other_reading(
    api: Api, emulator: ZohoEmulator
) -> None:
    """Section 9: an empty COQL result is 204 or ``data: []``; the switch gives the latter."""
    emulator.faults.coql_empty_as_data = True
    try:
        empty = coql(
            api, "select Last_Name from Leads where Modified_Time > '2999-01-01T00:00:00Z'"
        )
    finally:
        emulator.faults.coql_empty_as_data = False
    assert empty.status_code == 200
    assert empty.json() == {"data": [], "info": {"count": 0, "more_records": False}}


def _bulk_job(api: Api, query: dict) -> str:  # type: ignore[type-arg]
    created = api.post("/crm/bulk/v8/read", {"query": {"module": {"api_name": "Leads"}, **query}})
    assert created.status_code == 201, created.text
    return str(created.json()["data"][0]["details"]["id"])


def _finished(api: Api, job: str) -> dict:  # type: ignore[type-arg]
    for _ in range(5):
        entry = api.get(f"/crm/bulk/v8/read/{job}").json()["data"][0]
        if entry["state"] == "COMPLETED":
            return dict(entry["result"])
    raise AssertionError(entry)


def _ids(api: Api, result: dict) -> list[str]:  # type: ignore[type-arg]
    archive = zipfile.ZipFile(io.BytesIO(api.get(result["download_url"]).content))
    text = archive.read(archive.namelist()[0]).decode("utf-8")
    return [row["id"] for row in csv.DictReader(io.StringIO(text))]


def test_bulk_read_chunks_by_page_and_page_token(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    total = fresh.count("Leads")
    per_job = total // 3
    fresh.bulk_records_per_job = per_job
    first = _finished(api, _bulk_job(api, {"fields": ["Last_Name"]}))
    assert first["count"] == per_job
    assert first["more_records"] is True
    assert first["per_page"] == per_job
    token = first["next_page_token"]
    assert token
    by_page = _finished(api, _bulk_job(api, {"fields": ["Last_Name"], "page": 2}))
    by_token = _finished(api, _bulk_job(api, {"fields": ["Last_Name"], "page_token": token}))
    ids_first, ids_page, ids_token = _ids(api, first), _ids(api, by_page), _ids(api, by_token)
    assert ids_page == ids_token
    assert ids_first == sorted(ids_first, key=int)  # ascending id order
    assert int(ids_first[-1]) < int(ids_page[0])
    assert len(ids_first) + len(ids_page) == 2 * per_job
    other = {
        "fields": ["Last_Name"],
        "page_token": token,
        "criteria": {"field": {"api_name": "id"}, "comparator": "greater_than", "value": "1"},
    }
    assert_error(
        api.post("/crm/bulk/v8/read", {"query": {"module": {"api_name": "Leads"}, **other}}),
        400,
        "TOKEN_BOUND_DATA_MISMATCH",
    )
    after = _finished(
        api,
        _bulk_job(
            api,
            {
                "fields": ["Last_Name"],
                "criteria": {
                    "field": {"api_name": "id"},
                    "comparator": "greater_than",
                    "value": ids_first[-1],
                },
            },
        ),
    )
    assert _ids(api, after) == ids_page


def test_bulk_read_results_expire_under_both_readings(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    job = _bulk_job(api, {"fields": ["Last_Name"]})
    result = _finished(api, job)
    fresh.clock.advance(fresh.bulk_retention_s + 1)
    api = Api(fresh)  # a fresh access token: the old one expired too
    assert_error(api.get(f"/crm/bulk/v8/read/{job}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(api.get(result["download_url"]), 404, "RESOURCE_NOT_FOUND")
    fresh.faults.bulk_expired_status_kept = True
    assert api.get(f"/crm/bulk/v8/read/{job}").json()["data"][0]["state"] == "COMPLETED"
    assert_error(api.get(result["download_url"]), 404, "RESOURCE_NOT_FOUND")


def test_bulk_read_download_429_with_and_without_retry_after(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    result = _finished(api, _bulk_job(api, {"fields": ["Last_Name"]}))
    fresh.faults.bulk_download_429_times = 2
    refused = api.get(result["download_url"])
    assert_error(refused, 429, "TOO_MANY_REQUESTS")
    assert "Retry-After" not in refused.headers
    fresh.faults.bulk_download_retry_after = 7
    refused = api.get(result["download_url"])
    assert_error(refused, 429, "TOO_MANY_REQUESTS")
    assert refused.headers["Retry-After"] == "7"
    assert api.get(result["download_url"]).status_code == 200
