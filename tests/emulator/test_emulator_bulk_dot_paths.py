"""Bulk Read ``Lookup.Field`` dot paths (spec section 10) and the module ``display_field``.

Expected values come from Get Records on the same org (what a lookup shows) and from the
looked-up records themselves; the column names and empty cells under each reading of the
switches that cover what Zoho leaves undocumented.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from emu_helpers import Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator

BULK = "/crm/bulk/v8/read"


def _export(api: Api, module: str, fields: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    created = api.post(BULK, {"query": {"module": {"api_name": module}, "fields": fields}})
    assert created.status_code == 201, created.text
    job = created.json()["data"][0]["details"]["id"]
    for _ in range(5):
        entry = api.get(f"{BULK}/{job}").json()["data"][0]
        if entry["state"] == "COMPLETED":
            break
    archive = zipfile.ZipFile(io.BytesIO(api.get(entry["result"]["download_url"]).content))
    rows = list(csv.reader(io.StringIO(archive.read(archive.namelist()[0]).decode("utf-8"))))
    header = rows[0]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _display_field(api: Api, module: str) -> str:
    entry = api.get(f"/crm/v8/settings/modules/{module}").json()["modules"][0]
    return str(entry["display_field"]["api_name"])


def _labels(api: Api, module: str) -> dict[str, str]:
    fields = api.get("/crm/v8/settings/fields", {"module": module}).json()["fields"]
    return {f["api_name"]: f["field_label"] for f in fields}


def _lookup_target(api: Api, module: str, field: str) -> str:
    fields = api.get("/crm/v8/settings/fields", {"module": module}).json()["fields"]
    entry = next(f for f in fields if f["api_name"] == field)
    return str(entry["lookup"]["module"]["api_name"])


def test_display_field_names_what_a_lookup_shows(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    display = _display_field(api, "Accounts")
    for contact_id in sorted(fresh.record_ids("Contacts")):
        shown = fresh.get_record("Contacts", contact_id)["Account_Name"]
        if shown:
            account = fresh.get_record("Accounts", shown["id"])
            assert shown["name"] == account[display]
    listed = api.get("/crm/v8/settings/modules").json()["modules"]
    assert all("display_field" in m for m in listed if m["api_name"] in {"Accounts", "Leads"})
    fresh.faults.no_display_field = True
    entry = api.get("/crm/v8/settings/modules/Accounts").json()["modules"][0]
    assert "display_field" not in entry
    listed = api.get("/crm/v8/settings/modules").json()["modules"]
    assert not any("display_field" in m for m in listed)


@pytest.mark.parametrize(
    ("reading", "empty"), [("requested", ""), ("module", "null"), ("label", "")]
)
def test_a_dot_path_column_holds_the_looked_up_field(
    fresh: ZohoEmulator, reading: str, empty: str
) -> None:
    fresh.faults.bulk_dot_path_header = reading
    fresh.faults.bulk_dot_path_empty = empty
    api = Api(fresh)
    cases = [("Contacts", "Account_Name"), ("Leads", "Data_Processing_Basis_Details")]
    for module, lookup in cases:
        target = _lookup_target(api, module, lookup)
        display = _display_field(api, target)
        other = "Created_Time" if module == "Contacts" else "id"
        paths = [f"{lookup}.{display}", f"{lookup}.{other}"]
        header, rows = _export(api, module, [lookup, *paths])
        assert header[:2] == ["id", lookup]
        if reading == "label":
            # The consent module's fields are not API-readable: its labels only for Accounts.
            if target == "Accounts":
                label, target_labels = _labels(api, module)[lookup], _labels(api, target)
                names = [f"{label}.{target_labels[display]}", f"{label}.{target_labels[other]}"]
                assert header[2:] == names
            assert not set(header[2:]) & {*paths, f"{target}.{display}", f"{target}.{other}"}
        else:
            module_names = [f"{target}.{display}", f"{target}.{other}"]
            assert header[2:] == (paths if reading == "requested" else module_names)
        seen_empty = seen_set = False
        for row in rows:
            shown = fresh.get_record(module, row["id"])[lookup]
            name_cell, other_cell = row[header[2]], row[header[3]]
            if shown is None:
                seen_empty = True
                assert row[lookup] == ""
                assert (name_cell, other_cell) == (empty, empty)
                continue
            seen_set = True
            assert row[lookup] == shown["id"]
            assert name_cell == (shown["name"] or "")
            if other == "id":
                assert other_cell == shown["id"]
            else:
                assert other_cell == (fresh.get_record(target, shown["id"])[other] or "")
        assert seen_set, module
        assert seen_empty or module == "Contacts", module


def test_an_invalid_dot_path_is_invalid_data(fresh: ZohoEmulator) -> None:
    api = Api(fresh)
    for path in ("Last_Name.Account_Name", "Account_Name.Nope", "Nope.Name", "Owner.Nope"):
        module = "Leads" if path.startswith("Last_Name") else "Contacts"
        answer = api.post(BULK, {"query": {"module": {"api_name": module}, "fields": [path]}})
        body = assert_error(answer, 400, "INVALID_DATA")
        assert body["details"]["api_name"] == path
