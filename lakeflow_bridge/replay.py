"""The generic Singer replay core: message lines or dicts in, per-stream events out.

It knows the Singer message protocol and nothing else: no Zoho, no HTTP, no Spark. Any message
source (a list of lines, a file, a tap subprocess, a tap run in-process) feeds it, and it keeps
what a consumer needs to make sense of a RECORD: the stream's latest SCHEMA, its key and
bookmark properties, and the latest STATE.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class SingerProtocolError(ValueError):
    """The message stream breaks the Singer spec (the message says which line and why)."""


@dataclass(frozen=True)
class SchemaEvent:
    """A stream's SCHEMA message: the JSON Schema its following records conform to."""

    stream: str
    schema: dict[str, Any]
    key_properties: tuple[str, ...]
    bookmark_properties: tuple[str, ...]


@dataclass(frozen=True)
class RecordEvent:
    """One RECORD of a stream."""

    stream: str
    record: dict[str, Any]


@dataclass(frozen=True)
class StateEvent:
    """A STATE message; ``value`` is the whole state, bookmarks of every stream included."""

    value: dict[str, Any]

    def bookmark(self, stream: str) -> dict[str, Any] | None:
        """The stream's bookmark in this state, if it has one."""
        return bookmark_of(self.value, stream)


ReplayEvent = SchemaEvent | RecordEvent | StateEvent


@dataclass
class SingerReplay:
    """Stateful reader of one message stream; ``feed`` it messages in order."""

    schemas: dict[str, SchemaEvent] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    _position: int = 0

    def feed(self, message: Mapping[str, Any] | str | bytes) -> ReplayEvent | None:
        """Interpret one message; return its event, or None for messages that carry no data.

        ACTIVATE_VERSION is accepted and ignored: the bridge serves tables, not table versions.
        """
        self._position += 1
        parsed = self._parse(message)
        if parsed is None:
            return None
        kind = parsed.get("type")
        if kind == "SCHEMA":
            return self._schema(parsed)
        if kind == "RECORD":
            return self._record(parsed)
        if kind == "STATE":
            value = parsed.get("value")
            if not isinstance(value, dict):
                raise self._error("a STATE message needs an object 'value'")
            self.state = value
            return StateEvent(value)
        if kind == "ACTIVATE_VERSION":
            return None
        if kind == "BATCH":
            raise self._error(
                "BATCH messages are not supported: run the tap without 'batch_config'"
            )
        raise self._error(f"unknown message type {kind!r}")

    def bookmark(self, stream: str) -> dict[str, Any] | None:
        """The stream's bookmark in the latest STATE."""
        return bookmark_of(self.state, stream)

    def _parse(self, message: Mapping[str, Any] | str | bytes) -> dict[str, Any] | None:
        if isinstance(message, Mapping):
            return dict(message)
        text = message.decode("utf-8") if isinstance(message, bytes) else message
        if not text.strip():
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._error(f"not a JSON object ({exc.msg})") from None
        if not isinstance(parsed, dict):
            raise self._error("not a JSON object")
        return parsed

    def _schema(self, message: dict[str, Any]) -> SchemaEvent:
        stream = self._stream_name(message)
        schema = message.get("schema")
        if not isinstance(schema, dict):
            raise self._error(f"the SCHEMA of stream '{stream}' has no object 'schema'")
        event = SchemaEvent(
            stream=stream,
            schema=schema,
            key_properties=tuple(message.get("key_properties") or ()),
            bookmark_properties=tuple(message.get("bookmark_properties") or ()),
        )
        self.schemas[stream] = event
        return event

    def _record(self, message: dict[str, Any]) -> RecordEvent:
        stream = self._stream_name(message)
        if stream not in self.schemas:
            raise self._error(f"RECORD of stream '{stream}' before its SCHEMA")
        record = message.get("record")
        if not isinstance(record, dict):
            raise self._error(f"a RECORD of stream '{stream}' has no object 'record'")
        return RecordEvent(stream, record)

    def _stream_name(self, message: Mapping[str, Any]) -> str:
        stream = message.get("stream")
        if not isinstance(stream, str) or not stream:
            raise self._error(f"a {message.get('type')} message needs a 'stream' name")
        return stream

    def _error(self, reason: str) -> SingerProtocolError:
        return SingerProtocolError(f"Singer message {self._position}: {reason}")


def bookmark_of(state: Mapping[str, Any], stream: str) -> dict[str, Any] | None:
    """A stream's bookmark in a Singer state (``{"bookmarks": {stream: {...}}}``), copied."""
    bookmarks = state.get("bookmarks")
    if isinstance(bookmarks, Mapping):
        bookmark = bookmarks.get(stream)
        if isinstance(bookmark, Mapping):
            return copy.deepcopy(dict(bookmark))
    return None


def replay(messages: Iterable[Mapping[str, Any] | str | bytes]) -> Iterator[ReplayEvent]:
    """Yield the events of a whole message stream, in order."""
    reader = SingerReplay()
    for message in messages:
        event = reader.feed(message)
        if event is not None:
            yield event


@dataclass
class StreamReplay:
    """Everything one stream contributed to a message stream, collected."""

    stream: str
    schema: SchemaEvent | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    bookmark: dict[str, Any] | None = None


def collect_streams(
    messages: Iterable[Mapping[str, Any] | str | bytes],
) -> dict[str, StreamReplay]:
    """Replay a finite message stream into records, schema and final bookmark per stream."""
    streams: dict[str, StreamReplay] = {}
    last_state: StateEvent | None = None
    for event in replay(messages):
        if isinstance(event, SchemaEvent):
            streams.setdefault(event.stream, StreamReplay(event.stream)).schema = event
        elif isinstance(event, RecordEvent):
            streams.setdefault(event.stream, StreamReplay(event.stream)).records.append(
                event.record
            )
        else:
            last_state = event
    if last_state is not None:
        for name, collected in streams.items():
            collected.bookmark = last_state.bookmark(name)
    return streams
