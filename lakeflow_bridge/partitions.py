"""Partitioned reads: a big module read as Modified_Time windows, one Spark partition each.

The tap reads a wide Modified_Time range as windows (tap_zoho_crm/reading/windows.py,
docs/parallel-reads.md); here each window becomes a partition that a Spark executor reads on
its own. The planner runs on the driver and cuts the range with the tap's own split
(`tap_zoho_crm.reading.planner.split_range`, the one the tap's windows use): one ``count(id)``
of the range and one ``limit 1 offset k*n/w`` probe per boundary, so the partitions hold equal
numbers of records however Modified_Time is skewed. The bridge builds no request itself.

* **A partition** is a window ``[start, until)`` (plain JSON, see `WindowPartition`). Its
  executor runs the tap for the one stream with the window in the stream's state, so it is the
  tap's own bounded keyset walk (tie blocks, both If-Modified-Since readings, the unstable
  tie order), and `WindowCollector` keeps exactly the records of ``[start, until)``. Windows do
  not overlap, so the read has one row per id.
* **The budget.** The planner takes the org's limit of calls in flight as the tap does
  (``max_concurrency`` when set, else the edition's limit less headroom: one ``GET /org``) and
  splits it: at most ``heavy`` partitions (every keyset page is a heavy call, and Zoho's
  sub-pool for those is 10), rounded down to a power of two (`PartitionPlanner.width`), each
  reading with ``max_concurrency = budget // partitions``. The sum over partitions stays within
  the budget however many of them Spark runs at once.
* **Bulk Read first.** An initial read of a module above ``bulk_read_min_records`` records (a
  batch read, or a stream's first micro-batch) is partitioned into Bulk Read jobs instead
  (bulk_partitions.py); this planner's count decides it.
* **A batch read** (no offsets) covers every record modified before the instant the connector
  first planned (``pin``, whole seconds), or up to the newest record if Zoho's clock is ahead:
  a record changed while the read runs moves past that end, so it appears at most once: as it
  was, if its window was read before the change, else not at all (the next incremental read
  has it). A table too small for two partitions, a table that
  is not a module, or ``max_partitions=1``, is read in one partition as before (`WHOLE`).
* **A micro-batch** (offsets given) ends at an exclusive instant: ``latest_offset`` returns
  ``{"replication_key_value": U, "ids_at_replication_key_value": []}``, which in the offset
  protocol means "every record before U". ``U`` is the instant of the
  ``max_records_per_batch``-th record after the start, or the cap (now, or the availableNow pin)
  when fewer are left. ``get_partitions`` then splits ``[start, U)`` into windows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeflow_bridge.offsets import (
    REPLICATION_KEY,
    REPLICATION_KEY_VALUE,
    TIE_IDS,
    cursor_key,
    incremental_offset,
    is_from_start,
)
from lakeflow_bridge.options import MAX_PARTITIONS_OPTION, positive_int_option
from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.reading.planner import CoqlRangeFacts, split_range, window_count
from tap_zoho_crm.reading.windows import STATE_KEY
from tap_zoho_crm.records import format_utc, parse_instant

if TYPE_CHECKING:
    from tap_zoho_crm.client.http import ZohoClient

logger = logging.getLogger(__name__)

KIND = "kind"
WINDOW = "window"
WHOLE: dict[str, Any] = {KIND: "whole"}
"""The one partition of a table read as before: every batch from the start, by key."""

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def max_partitions(*option_maps: Mapping[str, Any] | None) -> int | None:
    """The ``max_partitions`` option (first map that sets it), or None (the budget decides)."""
    return positive_int_option(MAX_PARTITIONS_OPTION, *option_maps)


def pin_now() -> dt.datetime:
    """Now, in whole seconds (Zoho's Modified_Time has no finer part): an exclusive bound."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _text(value: dt.datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def _instant(value: Any) -> dt.datetime | None:
    return parse_instant(str(value)) if value not in (None, "") else None


@dataclass(frozen=True)
class WindowPartition:
    """``[start, until)`` of a module, with the ids already delivered at ``start`` left out.

    ``until_ids``: records at exactly ``until`` that belong to the range too (an end offset
    written by the simple reader, which ends on a record rather than before an instant).
    """

    start: dt.datetime | None
    until: dt.datetime | None
    start_ids: frozenset[int] = frozenset()
    until_ids: frozenset[int] = frozenset()
    max_concurrency: int = 1

    def descriptor(self) -> dict[str, Any]:
        """The JSON descriptor Spark ships to the executor."""
        return {
            KIND: WINDOW,
            "start": _text(self.start),
            "start_ids": sorted(self.start_ids),
            "until": _text(self.until),
            "until_ids": sorted(self.until_ids),
            "max_concurrency": self.max_concurrency,
        }

    @classmethod
    def from_descriptor(cls, descriptor: Mapping[str, Any]) -> WindowPartition:
        """The window a descriptor names."""
        return cls(
            start=_instant(descriptor.get("start")),
            until=_instant(descriptor.get("until")),
            start_ids=frozenset(int(i) for i in descriptor.get("start_ids") or ()),
            until_ids=frozenset(int(i) for i in descriptor.get("until_ids") or ()),
            max_concurrency=max(1, int(descriptor.get("max_concurrency") or 1)),
        )

    def tap_state(self, stream: str, replication_key: str) -> dict[str, Any]:
        """Singer state that makes the tap read this one window (windows.py's resume path)."""
        walk_until = self.until + SECOND if self.until and self.until_ids else self.until
        window = {
            "start": _text(self.start),
            "until": _text(walk_until),
            "instant": _text(self.start) if self.start_ids else None,
            "ids": sorted(self.start_ids),
            "done": False,
        }
        bookmark: dict[str, Any] = {REPLICATION_KEY: replication_key, STATE_KEY: [window]}
        if self.start is not None:
            bookmark[REPLICATION_KEY_VALUE] = _text(self.start)
            bookmark[TIE_IDS] = sorted(self.start_ids)
        return {"bookmarks": {stream: bookmark}}


class NewestById:
    """Records of one partition, one per id: the newest version a tap run handed over.

    A tap run may hand a record over twice (a walk re-reading its tie block, a walk on from the
    partition's end); the partition's row is its latest position.
    """

    def __init__(self) -> None:
        self._kept: dict[Any, tuple[tuple[int, Any], dict[str, Any]]] = {}

    def keep(self, record_id: Any, position: tuple[int, Any], record: dict[str, Any]) -> None:
        """Keep ``record`` unless a newer version of its id is kept already."""
        kept = self._kept.get(record_id)
        if kept is None or position >= kept[0]:
            self._kept[record_id] = (position, record)

    def records(self) -> list[dict[str, Any]]:
        """The records kept, one per id."""
        return [record for _, record in self._kept.values()]


class WindowCollector:
    """The records of one window, one per id, from a tap run reading that window.

    The tap reads the window's walk, then one walk on from its end (windows.py catches up on
    records changed meanwhile that way); the first record at or past ``until`` therefore means
    the window is read, and the run stops there.
    """

    def __init__(self, cursor_field: str, key_field: str, window: WindowPartition) -> None:
        self._cursor = cursor_field
        self._key = key_field
        self._window = window
        self._start = cursor_key(window.start) if window.start is not None else None
        self._until = cursor_key(window.until) if window.until is not None else None
        self._kept = NewestById()

    def offer(self, record: dict[str, Any]) -> bool:
        """Keep the record if it is in the window; True once the window is read."""
        position = cursor_key(record.get(self._cursor))
        record_id = record.get(self._key)
        number = _as_int(record_id)
        if self._until is not None:
            if position > self._until:
                return True
            if position == self._until and number not in self._window.until_ids:
                # Nothing at `until` belongs to the window: the run has gone past it.
                return not self._window.until_ids
        if self._start is not None and (
            position < self._start or (position == self._start and number in self._window.start_ids)
        ):
            return False
        self._kept.keep(record_id, position, record)
        return False

    def records(self) -> list[dict[str, Any]]:
        """The window's records, one per id (its newest version seen)."""
        return self._kept.records()


def _as_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def offset_position(offset: Mapping[str, Any] | None) -> tuple[dt.datetime | None, frozenset[int]]:
    """(instant, ids delivered at it) of an incremental offset; (None, {}) from the start."""
    if is_from_start(offset) or offset is None:
        return None, frozenset()
    instant = _instant(offset.get(REPLICATION_KEY_VALUE))
    if instant is None:
        return None, frozenset()
    return instant, frozenset(int(i) for i in offset.get(TIE_IDS) or ())


class PartitionPlanner:
    """Plans the partitions of one module on the driver, through COQL (no record is read)."""

    def __init__(
        self,
        client: ZohoClient,
        module: str,
        cursor_field: str,
        *,
        start_date: dt.datetime | None,
        min_records: int,
        limit: int | None,
        batch_limit: int,
        lookback: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self._client = client
        self._module = module
        self._cursor = cursor_field
        self._start_date = start_date
        self._min_records = min_records
        self._limit = limit
        self._batch_limit = batch_limit
        #: The tap's ``lookback_seconds``: a micro-batch ends that long before now, so a write
        #: Zoho makes visible late is still ahead of the stream when it shows.
        self._lookback = lookback
        #: Counting starts a second before start_date (COQL's ``>``, whole seconds).
        self._from = start_date - SECOND if start_date is not None else EPOCH

    # -- the budget -----------------------------------------------------------------------

    def budget(self) -> int:
        """Calls in flight the org allows this read (what the tap would use: see module doc)."""
        return self._client.concurrency()

    def width(self) -> int:
        """Most partitions of one read: ``max_partitions``, else the heavy-call pool's power of 2.

        Spark runs a read's partitions in waves of its task slots, which are mostly powers of
        two (``local[4]``, executors of 4, 8 or 16 cores): 9 partitions on 4 slots run as
        4 + 4 + 1, the last one alone, where 8 run as two even waves (``make bench``:
        test_spark_partitions_bench.py). The pool is at most 10, so this gives up at most two
        of its calls in flight (8 partitions for 9 or 10).
        """
        heavy = min(self.budget(), self._client.limiter.heavy_limit)
        if self._limit:
            return max(1, min(heavy, self._limit))
        return 1 << (max(1, heavy).bit_length() - 1)

    # -- decisions ------------------------------------------------------------------------

    def worth_partitioning(self) -> bool:
        """True if the module holds at least two partitions' worth of records."""
        # Counting first: a small module costs one COQL call, and no org read.
        total = self._count(self._from, None)
        return total is not None and self._windows_for(total) >= 2

    def records(self, before: dt.datetime | None = None) -> int | None:
        """Records of the module since ``start_date`` (one COQL count; None: cannot tell)."""
        return self._count(self._from, before)

    def batch(self, pin: dt.datetime, total: int | None = None) -> list[dict[str, Any]]:
        """Partitions of a whole-table read of what was modified before ``pin``.

        ``total``: the module's `records`, when already counted.
        """
        if total is None:
            total = self._count(self._from, None)
        if total is None or self._windows_for(total) < 2:
            return [dict(WHOLE)]
        # Zoho's clock may run ahead of this one: the range ends after the newest record too.
        try:
            newest = CoqlRangeFacts(self._client, self._module).instant_at(
                self._from, total - 1, total
            )
        except ZohoAPIError:
            newest = None
        end = max(pin, newest + SECOND) if newest is not None else pin
        boundaries = self._boundaries(self._from, end, self.width())
        if not boundaries:
            return [dict(WHOLE)]
        return self._windows(self._start_date, frozenset(), boundaries, end, frozenset())

    def latest_offset(self, start: Mapping[str, Any] | None, cap: dt.datetime) -> dict[str, Any]:
        """Where the micro-batch from ``start`` ends: at most ``max_records_per_batch`` on."""
        instant, _ = offset_position(start)
        same = dict(start or {})
        if self._lookback:
            cap = min(cap, pin_now() - self._lookback)
        if instant is not None and instant >= cap:
            return same
        after = instant - SECOND if instant is not None else self._from
        facts = CoqlRangeFacts(self._client, self._module, before=cap)
        end = cap
        try:
            total = facts.count_after(after)
            if total == 0:
                return same if same else self._offset(cap)
            if total is not None and total > self._batch_limit:
                cut = facts.instant_at(after, self._batch_limit, total)
                if cut is not None and cut > after and (instant is None or cut > instant):
                    end = cut
        except ZohoAPIError as exc:
            logger.info("%s: counting with COQL failed (%s); one batch to now", self._module, exc)
        return self._offset(end)

    def stream(
        self, start: Mapping[str, Any] | None, end: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Partitions of the micro-batch ``(start, end]`` in the offset protocol's terms."""
        until, until_ids = offset_position(end)
        instant, ids = offset_position(start)
        if until is None or (instant is not None and (until, until_ids) == (instant, ids)):
            return []
        after = instant - SECOND if instant is not None else self._from
        # The walk of the last window covers `until` itself when ids there belong to the batch.
        bound = until + SECOND if until_ids else until
        boundaries = [
            b
            for b in self._boundaries(after, bound, self.width())
            if (instant is None or b > instant) and b < until
        ]
        begin = instant if instant is not None else self._start_date
        return self._windows(begin, ids, boundaries, until, until_ids)

    # -- helpers ----------------------------------------------------------------------------

    def _offset(self, until: dt.datetime) -> dict[str, Any]:
        return incremental_offset(self._cursor, format_utc(until), set())

    def _windows_for(self, total: int) -> int:
        """Partitions ``total`` records make (the tap's rule: `window_count`)."""
        if total < 2 * self._min_records:
            return 1  # decided without the org read that the width may take
        return window_count(total, self.width(), self._min_records)

    def _count(self, after: dt.datetime, before: dt.datetime | None) -> int | None:
        try:
            return CoqlRangeFacts(self._client, self._module, before=before).count_after(after)
        except ZohoAPIError as exc:
            logger.info("%s: counting with COQL failed (%s); one partition", self._module, exc)
            return None

    def _boundaries(self, after: dt.datetime, before: dt.datetime, width: int) -> list[dt.datetime]:
        if width < 2:
            return []
        return split_range(
            CoqlRangeFacts(self._client, self._module, before=before),
            after,
            width,
            self._min_records,
            self._client.map_concurrent,
            logger,
        )

    def _windows(
        self,
        start: dt.datetime | None,
        start_ids: frozenset[int],
        boundaries: list[dt.datetime],
        until: dt.datetime,
        until_ids: frozenset[int],
    ) -> list[dict[str, Any]]:
        edges: list[dt.datetime | None] = [start, *boundaries, until]
        count = len(edges) - 1
        share = max(1, self.budget() // count)
        return [
            WindowPartition(
                start=low,
                until=high,
                start_ids=start_ids if index == 0 else frozenset(),
                until_ids=until_ids if index == count - 1 else frozenset(),
                max_concurrency=share,
            ).descriptor()
            for index, (low, high) in enumerate(itertools.pairwise(edges))
        ]
