"""The generic Singer replay core and the line/file message sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakeflow_bridge.replay import (
    RecordEvent,
    SchemaEvent,
    SingerProtocolError,
    SingerReplay,
    StateEvent,
    collect_streams,
    replay,
)
from lakeflow_bridge.sources import FileSource, LinesSource, iter_messages

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


def lines() -> list[str]:
    messages = [
        {
            "type": "SCHEMA",
            "stream": "Leads",
            "schema": SCHEMA,
            "key_properties": ["id"],
            "bookmark_properties": ["Modified_Time"],
        },
        {"type": "RECORD", "stream": "Leads", "record": {"id": 1}},
        {"type": "SCHEMA", "stream": "Roles", "schema": SCHEMA, "key_properties": ["id"]},
        {"type": "ACTIVATE_VERSION", "stream": "Roles", "version": 1},
        {"type": "RECORD", "stream": "Roles", "record": {"id": 7}},
        {"type": "RECORD", "stream": "Leads", "record": {"id": 2}},
        {"type": "STATE", "value": {"bookmarks": {"Leads": {"replication_key_value": "x"}}}},
    ]
    return [json.dumps(m) for m in messages[:3]] + ["", *map(json.dumps, messages[3:])]


def test_replay_yields_schema_record_and_state_events_in_order() -> None:
    events = list(replay(lines()))
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "SchemaEvent",
        "RecordEvent",
        "SchemaEvent",
        "RecordEvent",
        "RecordEvent",
        "StateEvent",
    ]
    first = events[0]
    assert isinstance(first, SchemaEvent)
    assert first.key_properties == ("id",)
    assert first.bookmark_properties == ("Modified_Time",)
    last = events[-1]
    assert isinstance(last, StateEvent)
    assert last.bookmark("Leads") == {"replication_key_value": "x"}
    assert last.bookmark("Roles") is None


def test_collect_streams_groups_records_and_final_bookmarks() -> None:
    streams = collect_streams(lines())
    assert [r["id"] for r in streams["Leads"].records] == [1, 2]
    assert [r["id"] for r in streams["Roles"].records] == [7]
    assert streams["Leads"].bookmark == {"replication_key_value": "x"}
    assert streams["Roles"].schema is not None


def test_replay_accepts_dicts_and_bytes_and_does_not_alias_state() -> None:
    reader = SingerReplay()
    reader.feed({"type": "SCHEMA", "stream": "S", "schema": SCHEMA})
    event = reader.feed(b'{"type": "RECORD", "stream": "S", "record": {"id": 3}}')
    assert isinstance(event, RecordEvent)
    assert event.record == {"id": 3}
    reader.feed({"type": "STATE", "value": {"bookmarks": {"S": {"v": 1}}}})
    bookmark = reader.bookmark("S")
    assert bookmark == {"v": 1}
    bookmark["v"] = 2
    assert reader.bookmark("S") == {"v": 1}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ('{"type": "RECORD", "stream": "S", "record": {}}', "before its SCHEMA"),
        ("not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "SCHEMA", "schema": {}}', "needs a 'stream' name"),
        ('{"type": "STATE", "value": 3}', "object 'value'"),
        ('{"type": "BATCH", "stream": "S"}', "batch_config"),
        ('{"type": "WHAT"}', "unknown message type"),
    ],
)
def test_protocol_errors_say_which_message_and_why(message: str, reason: str) -> None:
    with pytest.raises(SingerProtocolError, match=reason) as caught:
        list(replay([message]))
    assert "Singer message 1" in str(caught.value)


def test_line_and_file_sources_stop_when_the_sink_is_full(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(lines()) + "\n", encoding="utf-8")
    for source in (LinesSource(lines()), FileSource(path)):
        seen: list[object] = []

        def sink(message: object, seen: list[object] = seen) -> bool:
            seen.append(message)
            return len(seen) < 2

        source.run(sink)
        assert len(seen) == 2
    everything = list(iter_messages(FileSource(path)))
    assert len(everything) == len(lines())
