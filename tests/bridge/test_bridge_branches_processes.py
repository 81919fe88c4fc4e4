"""The bridge's process edges: a tap subprocess from a state or without a catalog, a child that
ignores SIGTERM, and the check of Spark's worker interpreter, each run for real."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.singerlib import RecordMessage

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.replay import SingerReplay, collect_streams
from lakeflow_bridge.sources import TapSubprocessSource, _SinkWriter, iter_messages
from lakeflow_bridge.workers import check_worker_python

STREAM = "Accounts"


def tap_argv() -> list[str]:
    executable = Path(sys.executable).with_name("tap-zoho-crm")
    return [str(executable)] if executable.exists() else [shutil.which("tap-zoho-crm") or ""]


def test_a_tap_subprocess_resumes_from_the_state_it_is_given(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    config = zoho.tap_config()
    catalog = ZohoCrmLakeflowConnect({k: str(v) for k, v in config.items()})._catalog_for(STREAM)
    stamps = {
        int(i): datetime.fromisoformat(zoho.get_record(STREAM, i)["Modified_Time"])
        for i in zoho.record_ids(STREAM)
    }
    middle = sorted(stamps.values())[len(stamps) // 2]
    at_middle = sorted(i for i, t in stamps.items() if t == middle)
    skipped = at_middle[:1]
    state = {
        "bookmarks": {
            STREAM: {
                "replication_key": "Modified_Time",
                "replication_key_value": middle.isoformat(),
                "ids_at_replication_key_value": skipped,
            }
        }
    }
    source = TapSubprocessSource(tap_argv(), config=config, catalog=catalog, state=state)
    streams = collect_streams(iter_messages(source))
    got = [r["id"] for r in streams[STREAM].records]
    expected = {i for i, t in stamps.items() if t > middle or (t == middle and i not in skipped)}
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_a_tap_subprocess_without_a_catalog_discovers_and_stops_at_the_first_record(
    fresh_zoho: Any,
) -> None:
    zoho = fresh_zoho()
    replay = SingerReplay()
    records: list[Any] = []

    def sink(message: Any) -> bool:
        event = replay.feed(message)
        if getattr(event, "record", None) is not None:
            records.append(event)
        return not records

    source = TapSubprocessSource(tap_argv(), config=zoho.tap_config(include_modules=[STREAM]))
    source.run(sink)
    assert len(records) == 1
    assert records[0].stream == STREAM
    assert str(records[0].record["id"]) in zoho.record_ids(STREAM)


_IGNORES_SIGTERM = """
import json, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
schema = {"type": "SCHEMA", "stream": "S", "schema": {"properties": {}}, "key_properties": []}
print(json.dumps(schema), flush=True)
while True:
    print(json.dumps({"type": "RECORD", "stream": "S", "record": {"n": 1}}), flush=True)
    time.sleep(0.05)
"""


def test_a_child_that_ignores_sigterm_is_killed_once_the_sink_is_full() -> None:
    """The stop is bounded: terminate, wait ``stop_timeout_s``, then kill."""
    seen: list[Any] = []

    def sink(message: Any) -> bool:
        seen.append(json.loads(message))
        return len(seen) < 2

    source = TapSubprocessSource(
        [sys.executable, "-c", _IGNORES_SIGTERM], config={}, stop_timeout_s=0.5
    )
    source.run(sink)  # returns: the child was killed, not waited for
    assert [m["type"] for m in seen] == ["SCHEMA", "RECORD"]


def test_the_in_process_writer_serialises_like_the_sdk() -> None:
    message = RecordMessage(stream="S", record={"id": 1, "when": "2024-01-01"})
    text = _SinkWriter(lambda _: True).serialize_message(message)
    assert json.loads(text) == json.loads(json.dumps(message.to_dict(), default=str))


def test_another_worker_python_that_imports_the_bridge_passes_the_check(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    check_worker_python(str(wrapper))
    assert marker.exists()  # the check ran that interpreter (it is not this one)


def test_a_worker_python_that_cannot_run_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_executable = tmp_path / "python"
    not_executable.write_text("not a program\n")
    os.chmod(not_executable, 0o600)
    caplog.set_level(logging.DEBUG, logger="lakeflow_bridge.workers")
    check_worker_python(str(not_executable))
    assert "could not check Spark's worker Python" in caplog.text
