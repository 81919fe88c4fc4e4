"""Every RECORD the real CLI writes for the demo org equals, exactly, its emulator record mapped
by the tap's documented contract (docs/ARCHITECTURE.md, "JSON Schema produced by the tap").

Why this and not a comparison with the tap's previous output: a golden file of today's output
would be a hard-coded expectation, and keeping the previous normaliser in the tests to compare
with would check the tap against itself. The emulator's stored records are the ground truth
every other end-to-end test uses, and the contract that maps them is short enough to write out
here without the tap's code (`expected_record`): integer ids (top level and every ``id`` inside
objects), datetimes as UTC ``YYYY-MM-DDTHH:MM:SS+00:00`` (top-level datetime fields and
datetime strings inside objects), lookups and rows as objects, ``$`` keys left out, every
field a list call serves present (null when empty) and nothing else. The comparison is whole
records with ``==`` on parsed JSON, so a missing, extra, retyped or reformatted value fails.

It reads what a target reads: the CLI's stdout (the msgspec writer, not the test helpers'
writer), parsed line by line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from tap_helpers import cli, discover, listable_fields, write_json

from tap_zoho_crm.testing.emulator import ZohoEmulator

_OFFSET_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})")
DATETIME_TYPES = {"datetime", "event_reminder"}


def utc_text(raw: str) -> str:
    """A datetime with an offset as the contract's UTC text."""
    instant = dt.datetime.fromisoformat(raw).astimezone(dt.UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def expected_nested(value: Any) -> Any:
    """Objects: ``id`` values as integers, datetime strings in UTC, ``$`` keys left out."""
    if isinstance(value, list):
        return [expected_nested(item) if isinstance(item, dict | list) else item for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.startswith("$"):
                continue
            if key == "id" and isinstance(item, str) and item.isdigit():
                out[key] = int(item)
            elif isinstance(item, dict | list):
                out[key] = expected_nested(item)
            elif isinstance(item, str) and _OFFSET_DATETIME.fullmatch(item):
                out[key] = utc_text(item)
            else:
                out[key] = item
        return out
    return value


def is_datetime_field(meta: dict[str, Any]) -> bool:
    data_type = meta.get("data_type")
    if data_type in DATETIME_TYPES:
        return True
    spec = meta.get("formula") or meta.get("rollup_summary") or {}
    return data_type in {"formula", "rollup_summary"} and spec.get("return_type") == "datetime"


def expected_record(fields: dict[str, dict[str, Any]], truth: dict[str, Any]) -> dict[str, Any]:
    """The RECORD payload the contract gives for one stored record."""
    out: dict[str, Any] = {}
    for name, meta in fields.items():
        raw = truth.get(name)
        if raw is None:
            out[name] = None
        elif name == "id" or meta.get("data_type") == "bigint":
            out[name] = int(raw)
        elif is_datetime_field(meta) and isinstance(raw, str) and _OFFSET_DATETIME.fullmatch(raw):
            out[name] = utc_text(raw)
        elif isinstance(raw, dict | list):
            out[name] = expected_nested(raw)
        else:
            out[name] = raw
    return out


def module_catalog(catalog: dict[str, Any]) -> dict[str, Any]:
    """Only the module streams selected (the record path under test)."""
    out = json.loads(json.dumps(catalog))
    for entry in out["streams"]:
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        root["selected"] = root.get("zoho-stream-kind") == "module"
    return out


def test_every_record_payload_equals_its_stored_record_mapped_by_the_contract(
    demo: ZohoEmulator, tmp_path: Path
) -> None:
    config = write_json(tmp_path / "config.json", demo.tap_config())
    catalog = write_json(tmp_path / "catalog.json", module_catalog(discover(demo.tap_config())))
    done = cli(["--config", config, "--catalog", catalog], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    records: dict[str, list[dict[str, Any]]] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    modules = demo.module_names(readable_only=True)
    assert set(records) == set(modules)
    compared = 0
    for module in modules:
        fields = listable_fields(demo, module)
        assert sorted(r["id"] for r in records[module]) == sorted(
            int(i) for i in demo.record_ids(module)
        ), module
        for record in records[module]:
            expected = expected_record(fields, demo.get_record(module, str(record["id"])))
            if record != expected:
                diff = {
                    key: (record.get(key, "<absent>"), expected.get(key, "<absent>"))
                    for key in set(record) | set(expected)
                    if record.get(key, "<absent>") != expected.get(key, "<absent>")
                }
                raise AssertionError(f"{module} {record['id']}: {diff}")
            compared += 1
    assert compared == sum(demo.count(module) for module in modules)


def test_stream_maps_and_flattening_still_apply_to_every_record(
    demo: ZohoEmulator, tmp_path: Path
) -> None:
    """Records go out through the SDK's message path when a stream map or flattening applies.

    Without maps the tap encodes RECORD messages itself (streams/base.py); with them, every
    record must still be renamed, pruned and flattened by the SDK as configured.
    """
    module = "Leads"
    settings = {
        **demo.tap_config(),
        "stream_maps": {module: {"__alias__": "leads_mapped", "Description": "__NULL__"}},
        "flattening_enabled": True,
        "flattening_max_depth": 1,
    }
    config = write_json(tmp_path / "config.json", settings)
    catalog = module_catalog(discover(demo.tap_config()))
    for entry in catalog["streams"]:
        root = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])
        root["selected"] = entry["tap_stream_id"] == module
    done = cli(["--config", config, "--catalog", write_json(tmp_path / "c.json", catalog)])
    assert done.returncode == 0, done.stderr[-3000:]

    records = [
        message["record"]
        for message in map(json.loads, done.stdout.splitlines())
        if message["type"] == "RECORD"
    ]
    assert {m["stream"] for m in map(json.loads, done.stdout.splitlines()) if "stream" in m} == {
        "leads_mapped"
    }
    assert sorted(r["id"] for r in records) == sorted(int(i) for i in demo.record_ids(module))
    fields = listable_fields(demo, module)
    for record in records:
        expected = expected_record(fields, demo.get_record(module, str(record["id"])))
        assert "Description" not in record
        owner = expected["Owner"]
        assert record["Owner__id"] == (owner["id"] if owner else None), record["id"]
        assert "Owner" not in record
