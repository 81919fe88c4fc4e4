"""The offset protocol: which records of a stream a batch holds, and where the next one starts.

An incremental offset is the tap's bookmark for the stream (docs/ARCHITECTURE.md)::

    {"ids_at_replication_key_value": [3652397000009851001],
     "replication_key": "Modified_Time",
     "replication_key_value": "2024-01-15T05:00:00+00:00"}

It means: every record whose cursor is before ``replication_key_value``, and those at exactly
that instant whose ids are listed, have been delivered. The tap resumes from it (that instant
included, listed ids skipped) and the bridge filters on it again, so a stream that cannot
resume precisely (a full read, an unordered stream) still never delivers a record twice or
loses one. A batch cut at
``max_records_per_batch`` ends on a record boundary, ties included.

A snapshot offset is ``{"snapshot_sha256": <digest of the whole snapshot>}``: a read that finds
the same snapshot returns the same offset and no rows.

``None`` and ``{}`` both mean "from the start". Offsets are plain JSON with sorted keys and
sorted id lists, so equal offsets serialise equally (Spark compares them as JSON text).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

REPLICATION_KEY = "replication_key"
REPLICATION_KEY_VALUE = "replication_key_value"
TIE_IDS = "ids_at_replication_key_value"
SNAPSHOT_DIGEST = "snapshot_sha256"

# A sort position: (cursor instant or text, record id); None cursors sort first.
Position = tuple[tuple[int, Any], tuple[int, Any]]


def is_from_start(offset: Mapping[str, Any] | None) -> bool:
    """True for the offsets that mean "from the start": None and ``{}``."""
    return not offset


def cursor_key(value: Any) -> tuple[int, Any]:
    """Sort key of a cursor value: ISO datetimes compare as instants, never as text."""
    if value is None:
        return (0, 0)
    if isinstance(value, datetime):  # a row conformed to TimestampType (spark_types=native)
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (1, aware.timestamp())
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return (2, value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return (1, parsed.timestamp())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, float(value))
    return (2, str(value))


def id_key(value: Any) -> tuple[int, Any]:
    """Sort key of a record id (integer ids numerically, anything else as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def incremental_offset(replication_key: str, value: Any, tie_ids: set[Any]) -> dict[str, Any]:
    """Build an incremental offset in its canonical form (JSON: datetimes as ISO text)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = aware.astimezone(UTC).isoformat()
    return {
        TIE_IDS: sorted(tie_ids, key=id_key),
        REPLICATION_KEY: replication_key,
        REPLICATION_KEY_VALUE: value,
    }


def tap_state_for(stream: str, offset: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Singer state to start the tap with: the offset as the stream's bookmark."""
    if is_from_start(offset) or offset is None or offset.get(REPLICATION_KEY_VALUE) is None:
        return {}
    return {"bookmarks": {stream: dict(offset)}}


@dataclass
class IncrementalBatch:
    """Collects one batch of a cursor-ordered table from a replayed stream.

    ``source_sorted`` says the stream promises ascending cursor order; then the batch can stop
    the source as soon as it is full. Otherwise (or if a record breaks the promise) the whole
    stream is read, sorted by (cursor, id), and cut after ``limit`` records.
    """

    cursor_field: str
    key_field: str
    start_offset: Mapping[str, Any] | None
    limit: int
    source_sorted: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    _positions: list[Position] = field(default_factory=list)
    _seen: set[Position] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a batch needs room for at least one record")
        start = self.start_offset or {}
        self._resuming = not is_from_start(start)
        self._start_value = start.get(REPLICATION_KEY_VALUE)
        self._start_key = cursor_key(self._start_value)
        self._start_ids = {_hashable(i) for i in start.get(TIE_IDS) or ()}

    def offer(self, record: dict[str, Any]) -> bool:
        """Take one record (unless already delivered, or repeated); return True when full."""
        cursor = record.get(self.cursor_field)
        record_id = _hashable(record.get(self.key_field))
        position = (cursor_key(cursor), id_key(record_id))
        if self._resuming and self._delivered_before(position[0], record_id):
            return False
        if position in self._seen:
            return False  # the same version of a record twice (a tap re-reading a boundary)
        self._seen.add(position)
        if self._positions and position[0] < self._positions[-1][0]:
            self.source_sorted = False
        self.records.append(record)
        self._positions.append(position)
        return self.source_sorted and len(self.records) >= self.limit

    def result(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The batch's records and the offset the next batch starts from."""
        records, positions = self.records, self._positions
        if len(records) > self.limit:
            order = sorted(range(len(records)), key=lambda i: positions[i])[: self.limit]
            records = [records[i] for i in order]
            positions = [positions[i] for i in order]
        if not records:
            return [], dict(self.start_offset or {})
        return records, self._end_offset(records, positions)

    def _delivered_before(self, cursor: tuple[int, Any], record_id: Any) -> bool:
        if self._start_value is None:
            # Only records without a cursor were delivered so far (they sort first).
            return cursor == cursor_key(None) and record_id in self._start_ids
        if cursor < self._start_key:
            return True
        return cursor == self._start_key and record_id in self._start_ids

    def _end_offset(
        self, records: list[dict[str, Any]], positions: list[Position]
    ) -> dict[str, Any]:
        last = max(p[0] for p in positions)
        at_last = {
            _hashable(r.get(self.key_field))
            for r, p in zip(records, positions, strict=True)
            if p[0] == last
        }
        if last == cursor_key(None) or last == self._start_key:
            # Still at the start's instant: the ids delivered before are still delivered.
            value = self._start_value
            at_last |= self._start_ids
        else:
            value = next(
                r.get(self.cursor_field)
                for r, p in zip(reversed(records), reversed(positions), strict=True)
                if p[0] == last
            )
        return incremental_offset(self.cursor_field, value, at_last)


@dataclass
class SnapshotBatch:
    """Collects a whole snapshot table; its offset is a digest of the snapshot's content."""

    start_offset: Mapping[str, Any] | None
    records: list[dict[str, Any]] = field(default_factory=list)

    def offer(self, record: dict[str, Any]) -> bool:
        """Take one record; a snapshot is never cut, so this never reports full."""
        self.records.append(record)
        return False

    def result(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """All records, or none if the snapshot is the one the start offset already holds."""
        lines = sorted(
            json.dumps(r, sort_keys=True, separators=(",", ":"), default=str) for r in self.records
        )
        digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
        end = {SNAPSHOT_DIGEST: digest}
        start = dict(self.start_offset or {})
        if start.get(SNAPSHOT_DIGEST) == digest:
            return [], start
        return self.records, end


def offset_reached(offset: Mapping[str, Any] | None, target: Mapping[str, Any] | None) -> bool:
    """True when ``offset`` is at or past ``target`` (used to replay a committed range)."""
    if is_from_start(target):
        return True
    if is_from_start(offset) or offset is None or target is None:
        return False
    if SNAPSHOT_DIGEST in target:
        return offset.get(SNAPSHOT_DIGEST) == target.get(SNAPSHOT_DIGEST)
    here = cursor_key(offset.get(REPLICATION_KEY_VALUE))
    there = cursor_key(target.get(REPLICATION_KEY_VALUE))
    if here != there:
        return here > there
    ids_here = {_hashable(i) for i in offset.get(TIE_IDS) or ()}
    return ids_here >= {_hashable(i) for i in target.get(TIE_IDS) or ()}


def record_within(
    record: Mapping[str, Any], cursor_field: str, key_field: str, target: Mapping[str, Any]
) -> bool:
    """True if an offset ``target`` counts the record as delivered."""
    value = target.get(REPLICATION_KEY_VALUE)
    cursor = cursor_key(record.get(cursor_field))
    limit = cursor_key(value)
    if cursor != limit:
        return cursor < limit
    return _hashable(record.get(key_field)) in {_hashable(i) for i in target.get(TIE_IDS) or ()}


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)
