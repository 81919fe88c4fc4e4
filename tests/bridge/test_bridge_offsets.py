"""The offset protocol on its own: batches, ties, unordered streams, snapshots.

The "source" here is the counterpart the protocol talks to: a function that answers a bookmark
the way docs/ARCHITECTURE.md says a tap does (inclusive on the bookmark instant, skipping the
ids listed), or, for the robustness cases, a source that ignores the bookmark entirely.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from lakeflow_bridge.offsets import (
    IncrementalBatch,
    SnapshotBatch,
    cursor_key,
    offset_reached,
    record_within,
    tap_state_for,
)

Source = Callable[[dict[str, Any] | None], list[dict[str, Any]]]


def make_records(count: int, distinct_times: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    times = [f"2024-03-{10 + i // 24:02d}T{i % 24:02d}:00:00+00:00" for i in range(distinct_times)]
    return [
        {"id": 1000 + n, "Modified_Time": rng.choice(times), "v": n}
        for n in rng.sample(range(count), count)
    ]


def instant(value: str) -> datetime:
    """An ISO datetime with an offset as an aware instant (the source's own reading, not the
    bridge's `cursor_key`)."""
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def bookmark_honouring_source(records: list[dict[str, Any]]) -> Source:
    def read(offset: dict[str, Any] | None) -> list[dict[str, Any]]:
        ordered = sorted(records, key=lambda r: instant(r["Modified_Time"]))
        if not offset:
            return ordered
        start = instant(offset["replication_key_value"])
        skip = set(offset["ids_at_replication_key_value"])
        return [
            r
            for r in ordered
            if instant(r["Modified_Time"]) > start
            or (instant(r["Modified_Time"]) == start and r["id"] not in skip)
        ]

    return read


def bookmark_ignoring_source(records: list[dict[str, Any]]) -> Source:
    def read(offset: dict[str, Any] | None) -> list[dict[str, Any]]:
        shuffled = list(records)
        random.Random(len(json.dumps(offset or {}))).shuffle(shuffled)
        return shuffled

    return read


def drain(
    source: Source, *, limit: int, sorted_source: bool, max_calls: int = 2000
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    delivered: list[dict[str, Any]] = []
    offsets: list[dict[str, Any]] = []
    offset: dict[str, Any] = {}
    for _ in range(max_calls):
        batch = IncrementalBatch(
            cursor_field="Modified_Time",
            key_field="id",
            start_offset=offset,
            limit=limit,
            source_sorted=sorted_source,
        )
        for record in source(offset):
            if batch.offer(record):
                break
        records, end = batch.result()
        assert len(records) <= limit
        json.dumps(end)  # offsets are JSON-serialisable
        delivered.extend(records)
        offsets.append(end)
        if json.dumps(end, sort_keys=True) == json.dumps(offset, sort_keys=True):
            assert records == []
            return delivered, offsets
        offset = end
    raise AssertionError("offsets did not converge")


@pytest.mark.parametrize(("limit", "distinct_times"), [(500, 3), (7, 40), (1, 5), (5000, 10)])
def test_batches_of_a_sorted_source_deliver_every_record_once(
    limit: int, distinct_times: int
) -> None:
    records = make_records(1200, distinct_times)
    delivered, _ = drain(bookmark_honouring_source(records), limit=limit, sorted_source=True)
    assert sorted(r["id"] for r in delivered) == sorted(r["id"] for r in records)


@pytest.mark.parametrize("limit", [500, 13, 100_000])
def test_an_unordered_source_that_ignores_bookmarks_still_delivers_each_record_once(
    limit: int,
) -> None:
    records = make_records(700, 9)
    delivered, offsets = drain(bookmark_ignoring_source(records), limit=limit, sorted_source=False)
    assert sorted(r["id"] for r in delivered) == sorted(r["id"] for r in records)
    assert len(offsets) == -(-len(records) // limit) + 1


def test_a_source_that_breaks_its_sort_promise_is_read_fully_not_cut() -> None:
    records = make_records(300, 30)
    delivered, _ = drain(bookmark_ignoring_source(records), limit=50, sorted_source=True)
    assert sorted(r["id"] for r in delivered) == sorted(r["id"] for r in records)


def test_ties_on_the_cursor_accumulate_in_the_offset() -> None:
    records = [{"id": i, "Modified_Time": "2024-01-01T00:00:00+00:00"} for i in range(1, 8)]
    _, offsets = drain(bookmark_honouring_source(records), limit=3, sorted_source=True)
    assert [o["ids_at_replication_key_value"] for o in offsets] == [
        [1, 2, 3],
        [1, 2, 3, 4, 5, 6],
        [1, 2, 3, 4, 5, 6, 7],
        [1, 2, 3, 4, 5, 6, 7],
    ]
    assert list(offsets[0]) == sorted(offsets[0])


def test_cursor_values_compare_as_instants_across_utc_offsets() -> None:
    # 01:59 PST is before 03:00 PDT, although the text compares the other way round.
    assert cursor_key("2024-03-10T01:59:00-08:00") < cursor_key("2024-03-10T03:00:00-07:00")
    assert cursor_key("2024-03-10T10:00:00+00:00") == cursor_key("2024-03-10T03:00:00-07:00")
    assert cursor_key(None) < cursor_key("1970-01-01T00:00:00+00:00")


def test_no_new_records_returns_the_start_offset_itself() -> None:
    start = {
        "ids_at_replication_key_value": [5],
        "replication_key": "Modified_Time",
        "replication_key_value": "2024-01-01T00:00:00+00:00",
    }
    batch = IncrementalBatch(
        cursor_field="Modified_Time", key_field="id", start_offset=start, limit=10
    )
    batch.offer({"id": 5, "Modified_Time": "2024-01-01T00:00:00+00:00"})
    batch.offer({"id": 4, "Modified_Time": "2023-12-31T00:00:00+00:00"})
    assert batch.result() == ([], start)
    empty = IncrementalBatch(
        cursor_field="Modified_Time", key_field="id", start_offset=None, limit=10
    )
    assert empty.result() == ([], {})


def test_records_without_a_cursor_are_delivered_once_from_the_start() -> None:
    records = [{"id": 1, "Modified_Time": None}, {"id": 2, "Modified_Time": None}]
    delivered, offsets = drain(bookmark_ignoring_source(records), limit=1, sorted_source=False)
    assert sorted(r["id"] for r in delivered) == [1, 2]
    assert offsets[-1]["replication_key_value"] is None


def test_snapshot_offsets_are_content_digests() -> None:
    rows = [{"id": 2, "name": "b"}, {"id": 1, "name": "a"}]
    first = SnapshotBatch(None)
    for row in rows:
        first.offer(row)
    records, offset = first.result()
    assert records == rows
    again = SnapshotBatch(offset)
    for row in reversed(rows):
        again.offer(row)
    assert again.result() == ([], offset)
    changed = SnapshotBatch(offset)
    changed.offer({"id": 1, "name": "A"})
    records, new_offset = changed.result()
    assert records == [{"id": 1, "name": "A"}]
    assert new_offset != offset


def test_tap_state_and_range_helpers() -> None:
    offset = {
        "ids_at_replication_key_value": [3],
        "replication_key": "Modified_Time",
        "replication_key_value": "2024-01-02T00:00:00+00:00",
    }
    assert tap_state_for("Leads", offset) == {"bookmarks": {"Leads": offset}}
    assert tap_state_for("Leads", {}) == {}
    assert tap_state_for("Leads", None) == {}
    earlier = dict(offset, replication_key_value="2024-01-01T00:00:00+00:00")
    assert offset_reached(offset, earlier)
    assert not offset_reached(earlier, offset)
    assert offset_reached(offset, offset)
    assert record_within(
        {"id": 3, "Modified_Time": "2024-01-02T00:00:00+00:00"}, "Modified_Time", "id", offset
    )
    assert not record_within(
        {"id": 4, "Modified_Time": "2024-01-02T00:00:00+00:00"}, "Modified_Time", "id", offset
    )
    assert record_within(
        {"id": 9, "Modified_Time": "2023-01-01T00:00:00Z"}, "Modified_Time", "id", offset
    )


def test_a_record_repeated_within_one_read_is_delivered_once() -> None:
    batch = IncrementalBatch(cursor_field="Modified_Time", key_field="id", start_offset={}, limit=9)
    same = {"id": 1, "Modified_Time": "2024-01-01T00:00:00+00:00"}
    updated = {"id": 1, "Modified_Time": "2024-01-02T00:00:00+00:00"}
    for record in (same, dict(same), updated):
        batch.offer(record)
    records, _ = batch.result()
    assert records == [same, updated]  # a new version of a record is a change, not a repeat
