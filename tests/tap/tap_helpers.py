"""Helpers for the tap tests: run the tap in-process or as the real CLI, against the emulator.

Every run talks to a `ZohoEmulator` over real HTTP on 127.0.0.1. In-process runs capture the
Singer messages exactly as a target would read them (serialised by the SDK's writer, then
parsed back), so tests see integer ids and UTC strings, not Python objects.
"""

from __future__ import annotations

import json
import os
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

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records[message["stream"]].append(message["record"])
            elif message["type"] == "SCHEMA":
                self.schemas[message["stream"]] = message["schema"]
            elif message["type"] == "STATE":
                self.states.append(message["value"])

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str) -> list[int]:
        return [record["id"] for record in self.records.get(stream, [])]


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


