"""Bulk Read switches for what Zoho leaves open (section 15, point 12): the CSV encoding of
multi-select picklists and booleans, and a limit on jobs in progress.

Expected cells come from the emulator's own store (Get Records' JSON of each record), never
from the CSV writer's code.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
import requests
from emu_helpers import TIMEOUT, Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator

CREATE = "/crm/bulk/v8/read"
#: Reading -> how a list of values is expected to look in a cell.
MULTI_READINGS = {
    "semicolon": ";".join,
    "comma": ",".join,
    "json": lambda values: json.dumps(values, ensure_ascii=False) if values else "",
}
BOOLEAN_READINGS = {
    "true/false": ("true", "false"),
    "TRUE/FALSE": ("TRUE", "FALSE"),
    "1/0": ("1", "0"),
}


def _create(api: Api, fields: list[str] | None = None) -> requests.Response:
    query: dict[str, Any] = {"module": {"api_name": "Leads"}}
    if fields is not None:
        query["fields"] = fields
    return api.post(CREATE, {"query": query, "file_type": "csv"})


def _job(api: Api, fields: list[str] | None = None) -> str:
    created = _create(api, fields)
    assert created.status_code == 201, created.text
    return str(created.json()["data"][0]["details"]["id"])


def _complete(api: Api, job: str) -> dict[str, Any]:
    for _ in range(5):
        entry = api.get(f"{CREATE}/{job}").json()["data"][0]
        if entry["state"] == "COMPLETED":
            return dict(entry["result"])
    raise AssertionError(entry)


def _rows(api: Api, result: dict[str, Any]) -> list[dict[str, str]]:
    archive = zipfile.ZipFile(io.BytesIO(api.get(result["download_url"]).content))
    text = archive.read(archive.namelist()[0]).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _field_of_type(zoho: ZohoEmulator, data_type: str) -> str:
    return next(f["api_name"] for f in zoho.fields("Leads") if f["data_type"] == data_type)


@pytest.mark.parametrize("boolean", list(BOOLEAN_READINGS))
@pytest.mark.parametrize("multi", list(MULTI_READINGS))
def test_multi_select_and_boolean_cells_under_each_reading(
    fresh: ZohoEmulator, multi: str, boolean: str
) -> None:
    api = Api(fresh)
    picklist, flag = _field_of_type(fresh, "multiselectpicklist"), _field_of_type(fresh, "boolean")
    lead = sorted(fresh.record_ids("Leads"), key=int)[0]
    fresh.update_record("Leads", lead, {picklist: ["North,East", "West;Coast", 'Say "hi"']})
    fresh.faults.update({"bulk_multi_value_encoding": multi, "bulk_boolean_encoding": boolean})
    rows = _rows(api, _complete(api, _job(api, [picklist, flag])))
    assert {row["id"] for row in rows} == fresh.record_ids("Leads")
    true, false = BOOLEAN_READINGS[boolean]
    seen = set()
    for row in rows:
        truth = fresh.get_record("Leads", row["id"])
        assert row[picklist] == MULTI_READINGS[multi](truth[picklist] or [])
        assert row[flag] == (true if truth[flag] else false)
        seen.add(row[flag])
    assert seen == {true, false}
    if multi == "json":
        assert json.loads(next(r for r in rows if r["id"] == lead)[picklist])[2] == 'Say "hi"'


def test_the_encoding_switches_are_on_the_admin_surface(fresh: ZohoEmulator) -> None:
    url = f"{fresh.base_url}/__emulator/faults"
    defaults = requests.get(url, timeout=TIMEOUT).json()
    assert defaults["bulk_multi_value_encoding"] == "semicolon"
    assert defaults["bulk_boolean_encoding"] == "true/false"
    assert defaults["bulk_jobs_limit"] is None
    changed = requests.patch(
        url,
        json={"bulk_multi_value_encoding": "json", "bulk_jobs_limit": 1},
        timeout=TIMEOUT,
    ).json()
    assert changed["bulk_multi_value_encoding"] == "json"
    assert fresh.faults.bulk_jobs_limit == 1
    refused = requests.patch(url, json={"bulk_boolean_encoding": "yes/no"}, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert fresh.faults.bulk_boolean_encoding == "true/false"


@pytest.mark.parametrize(("status", "code"), [(400, "LIMIT_EXCEEDED"), (429, "TOO_MANY_REQUESTS")])
def test_a_limit_on_jobs_in_progress_refuses_creates_past_it(
    fresh: ZohoEmulator, status: int, code: str
) -> None:
    api = Api(fresh)
    fresh.faults.update(
        {"bulk_jobs_limit": 2, "bulk_jobs_limit_status": status, "bulk_jobs_limit_code": code}
    )
    first, second = _job(api, ["Last_Name"]), _job(api, ["Last_Name"])
    assert_error(_create(api, ["Last_Name"]), status, code)
    _complete(api, first)  # COMPLETED: no longer in progress
    third = _job(api, ["Last_Name"])
    assert_error(_create(api, ["Last_Name"]), status, code)
    fresh.faults.bulk_failure = True
    for job in (second, third):  # FAILURE ends a job too
        _complete_or_fail(api, job)
    _job(api, ["Last_Name"])
    assert fresh.bulk_jobs.peak_in_progress == 2
    assert fresh.bulk_jobs.refused == 2
    assert fresh.faults.injected["bulk_jobs_limit"] == 2


def _complete_or_fail(api: Api, job: str) -> None:
    for _ in range(5):
        if api.get(f"{CREATE}/{job}").json()["data"][0]["state"] in ("COMPLETED", "FAILURE"):
            return
    raise AssertionError(job)


def test_expired_jobs_do_not_count_against_the_limit(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    fresh.faults.bulk_jobs_limit = 1
    _job(api, ["Last_Name"])
    assert_error(_create(api, ["Last_Name"]), 400, "LIMIT_EXCEEDED")
    fresh.clock.advance(fresh.bulk_retention_s + 1)
    api = Api(fresh)  # the old access token expired too
    _job(api, ["Last_Name"])
