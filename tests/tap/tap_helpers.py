"""Helpers for the tap tests: run the tap in-process or as the real CLI, against the emulator.

Every run talks to a `ZohoEmulator` over real HTTP on 127.0.0.1. In-process runs capture the
Singer messages exactly as a target would read them (serialised by the SDK's writer, then
parsed back), so tests see integer ids and UTC strings, not Python objects.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from singer_sdk.singerlib.encoding import GenericSingerWriter, SimpleSingerWriter
from singer_sdk.singerlib.messages import Message

from tap_zoho_crm.tap import TapZohoCrm

DEMO_SEED = 7
REPO = Path(__file__).resolve().parents[2]


class CollectingWriter(GenericSingerWriter[str, Message]):
    """Keeps every message as the parsed JSON line a target would receive."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._encoder = SimpleSingerWriter()
        self.messages: list[dict[str, Any]] = []
        self._on_message = on_message

    def serialize_message(self, message: Message) -> str:
        return self._encoder.serialize_message(message)

    def write_message(self, message: Message) -> None:
        parsed = json.loads(self.serialize_message(message))
        self.messages.append(parsed)
        if self._on_message is not None:
            self._on_message(parsed)


@dataclass
class SyncResult:
    """What one sync emitted."""

    messages: list[dict[str, Any]]
    tap: TapZohoCrm
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    #: Each stream's ``key_properties``, from its SCHEMA message.
    keys: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "SCHEMA":
                self.schemas[message["stream"]] = message["schema"]
                self.keys[message["stream"]] = list(message.get("key_properties") or [])
            elif message["type"] == "STATE":
                self.states.append(message["value"])

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str) -> list[int]:
        return [record["id"] for record in self.records.get(stream, [])]


def duplicate_keys(records: list[dict[str, Any]], key_properties: list[str]) -> list[tuple]:
    """Primary-key values sent more than once in one sync.

    The SDK's standard primary-key test cannot see these (0.54.9 puts generator objects in a
    set, so every key looks unique), so the project's own tests check keys with this.
    """
    seen: set[tuple] = set()
    repeated: list[tuple] = []
    for record in records:
        key = tuple(json.dumps(record.get(name), sort_keys=True) for name in key_properties)
        if key in seen:
            repeated.append(key)
        seen.add(key)
    return repeated


def select_only(catalog: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """A copy of a catalog with exactly `names` selected."""
    out = json.loads(json.dumps(catalog))
    for entry in out["streams"]:
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["selected"] = entry["tap_stream_id"] in names
    return out


def run_sync(
    config: dict[str, Any],
    *,
    catalog: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    on_message: Callable[[dict[str, Any]], None] | None = None,
) -> SyncResult:
    """One in-process sync with the SDK-standard surface."""
    writer = CollectingWriter(on_message)
    tap = TapZohoCrm(
        config=dict(config),
        catalog=catalog,
        state=state,
        parse_env_config=False,
        message_writer=writer,
    )
    tap.sync_all()
    return SyncResult(messages=writer.messages, tap=tap)


def plan_next_run(
    config: dict[str, Any],
    catalog: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> Any:
    """`tap-zoho-crm plan` for the next sync, in-process (a `tap_zoho_crm.plan.Plan`)."""
    from tap_zoho_crm.plan import make_plan  # noqa: PLC0415 - only the plan tests need it

    tap = TapZohoCrm(
        config=dict(config),
        catalog=catalog,
        state=state,
        parse_env_config=False,
        setup_mapper=False,
    )
    return make_plan(tap, catalog_given=True)


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The catalog the tap discovers (as `--discover` prints it)."""
    tap = TapZohoCrm(config=dict(config), parse_env_config=False, setup_mapper=False)
    return json.loads(tap.catalog_json_text)


def cli(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `tap-zoho-crm` entry point in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ZOHO_CRM_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tap_zoho_crm", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def write_json(path: Path, payload: Any) -> str:
    path.write_text(json.dumps(payload))
    return str(path)


# -- ground truth, converted independently of the tap's own code --------------------------------

LIST_ONLY_ABSENT = {"subform", "multiselectlookup", "multiuserlookup"}


def instant(value: str) -> dt.datetime:
    """A Zoho or ISO datetime string as an aware UTC datetime (naive means UTC)."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def is_utc_string(value: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SS+00:00`, the one datetime format the tap may emit."""
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", value))


def expected_nested(value: Any) -> Any:
    """Truth for lookups / rows: ids as integers, datetimes as instants, `$` keys dropped."""
    if isinstance(value, list):
        return [expected_nested(item) for item in value]
    if isinstance(value, dict):
        return {
            key: (int(item) if key == "id" and isinstance(item, str) else expected_nested(item))
            for key, item in value.items()
            if not key.startswith("$")
        }
    if isinstance(value, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", value
    ):
        return instant(value)
    return value


def emitted_nested(value: Any) -> Any:
    """The emitted side of `expected_nested`: datetimes (checked to be UTC) as instants."""
    if isinstance(value, list):
        return [emitted_nested(item) for item in value]
    if isinstance(value, dict):
        return {key: emitted_nested(item) for key, item in value.items()}
    if isinstance(value, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", value
    ):
        return instant(value)
    return value


def compare_record(
    fields: dict[str, dict[str, Any]], truth: dict[str, Any], emitted: dict[str, Any]
) -> list[str]:
    """Differences between one emitted record and the emulator's record, field by field.

    `fields` maps api_name -> the emulator's field metadata, for the fields a list call serves.
    """
    problems = []
    for name, meta in fields.items():
        if name not in emitted:
            problems.append(f"{name}: missing")
            continue
        raw, got = truth.get(name), emitted[name]
        data_type = meta.get("data_type")
        if raw is None:
            ok = got is None
        elif name == "id" or data_type == "bigint":
            ok = got == int(raw)
        elif data_type in {"datetime", "event_reminder"} or (
            data_type in {"formula", "rollup_summary"}
            and (meta.get("formula") or meta.get("rollup_summary") or {}).get("return_type")
            == "datetime"
        ):
            ok = isinstance(got, str) and is_utc_string(got) and instant(got) == instant(raw)
        elif isinstance(raw, dict | list):
            ok = emitted_nested(got) == expected_nested(raw)
        else:
            ok = got == raw
        if not ok:
            problems.append(f"{name}: emitted {got!r:.80} != truth {raw!r:.80}")
    return problems


def listable_fields(zoho: Any, module: str) -> dict[str, dict[str, Any]]:
    """The emulator's fields of a module that Get Records (a list call) can return."""
    return {
        meta["api_name"]: meta
        for meta in zoho.fields(module)
        if meta.get("data_type") not in LIST_ONLY_ABSENT
    }


class KilledError(Exception):
    """The run was killed here (raised by `DyingWriter`)."""


class DyingWriter(GenericSingerWriter[str, Message]):
    """Keeps every message (as JSON) and dies after ``kill_after`` records, like a killed run."""

    def __init__(self, kill_after: int | None) -> None:
        self.kill_after = kill_after
        self._encoder = SimpleSingerWriter()
        self.messages: list[dict[str, Any]] = []
        self.records = 0

    def serialize_message(self, message: Message) -> str:
        return ""

    def write_message(self, message: Message) -> None:
        payload = json.loads(self._encoder.serialize_message(message))
        if payload["type"] == "RECORD":
            if self.kill_after is not None and self.records >= self.kill_after:
                raise KilledError
            self.records += 1
        self.messages.append(payload)

    def durable(self, killed: bool) -> list[dict[str, Any]]:
        """The messages a target had made durable: up to the last STATE if killed."""
        if not killed:
            return self.messages
        states = [i for i, m in enumerate(self.messages) if m["type"] == "STATE"]
        return self.messages[: states[-1] + 1] if states else []

    def last_state(self) -> dict[str, Any] | None:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else None


def sync_until_killed(
    config: dict[str, Any],
    catalog: dict[str, Any],
    state: Any,
    writer: GenericSingerWriter[str, Message],
) -> bool:
    """One in-process sync into ``writer`` (which may raise `KilledError`); whether it died."""
    tap = TapZohoCrm(
        config=config,
        catalog=json.loads(json.dumps(catalog)),
        state=json.loads(json.dumps(state)) if state is not None else None,
        parse_env_config=False,
        message_writer=writer,
    )
    try:
        tap.sync_all()
    except KilledError:
        return True
    return False


def kill_and_resume(
    config: dict[str, Any],
    catalog: dict[str, Any],
    kill_after: Callable[[], int],
    kills: int,
    between: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, Any]], int]:
    """Syncs killed after ``kill_after()`` records, each resumed from the last STATE.

    Until ``kills`` runs died (or one ran to its end), ``between`` running after each; then one
    run to the end. Returns what a target made durable over all runs, and the kills.
    """
    state: Any = None
    durable: list[dict[str, Any]] = []
    done = 0
    while done < kills:
        writer = DyingWriter(kill_after=kill_after())
        killed = sync_until_killed(config, catalog, state, writer)
        durable += writer.durable(killed)
        state = writer.last_state() or state
        done += killed
        between()
        if not killed:
            break
    final = DyingWriter(kill_after=None)
    assert not sync_until_killed(config, catalog, state, final)
    return durable + final.messages, done
