"""How a module stream is read: one keyset walk, Modified_Time windows, or Bulk Read.

Each way of reading lives in a module of its own, behind a small interface:

* the keyset walk: `tap_zoho_crm.paging.ModifiedTimeWalk` (its tie blocks read by id through
  COQL, `streams.parents.rows_at_instant`, when the order is unstable);
* windows: `tap_zoho_crm.reading.windows.WindowedRead`, walks of ``[start, until)`` in flight
  together;
* Bulk Read: `tap_zoho_crm.reading.bulk.BulkLoad`, CSV exports for an initial load.

`ReadPlanner` is the one place that chooses among them, from what each costs, and the one
place that knows how to cut a range into windows (`split_range`). Three callers ask it:

* the sync (`streams.modules.ModuleStream`): `choose` before reading (Bulk Read or the walk),
  then `split_after` once the walk has read a quarter of a window (or its first page foretells
  much more: `ReadSettings.plans_now`) and is not done, and `halve` when a worker is idle and
  another window has much left;
* ``tap-zoho-crm plan`` (`ModuleStream.read_plan`): `estimate`, the same choice with its
  calls and credits, from cheap counts (`read_plan.CheapCounts`);
* the Spark bridge's partitions (`lakeflow_bridge.partitions`): `split_range` with its own
  width (the partition budget), through `CoqlRangeFacts`, so the bridge builds no request.

**The rules.** A first sync (no bookmark) of more than ``bulk_read_min_records`` records is a
Bulk Read (50 credits per 200,000 records, against 1 per 200). Anything else is a keyset walk,
which becomes windows when, after a quarter of a window has been read (or after a first page
whose pace foretells it), COQL counts at least two windows' worth (``window_min_records`` each)
after the last instant read, and at least two heavy calls may be in flight. The split costs one
``count(id)`` and one probe per boundary; each later halving for an idle worker costs one count
and one probe.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tap_zoho_crm.client.errors import ZohoAPIError, ZohoRetriesExhaustedError
from tap_zoho_crm.paging import COQL_REACH, FIELDS_PER_CALL, MAX_PER_PAGE
from tap_zoho_crm.read_plan import id_calls, pages
from tap_zoho_crm.reading.bulk import (
    JOB_CREDITS,
    PLANNED_POLLS,
    RECORDS_PER_JOB,
    planning_calls,
)
from tap_zoho_crm.records import format_utc, parse_instant

if TYPE_CHECKING:
    from tap_zoho_crm.client.http import ZohoClient
    from tap_zoho_crm.read_plan import CheapCounts
    from tap_zoho_crm.reading.bulk_csv import BulkFields


class Way(enum.StrEnum):
    """A way of reading a module stream."""

    WALK = "keyset walk"
    WINDOWS = "windows"
    BULK = "Bulk Read"


@dataclass(frozen=True)
class ReadStrategy:
    """How a stream reads, and (for ``plan``) what that costs.

    ``windows``: how many windows the walk splits into (1: one walk). ``boundaries``: the
    instants between them, once a split is made (`ReadPlanner.split_after`).
    """

    way: Way
    records: int | None = None
    windows: int = 1
    boundaries: tuple[dt.datetime, ...] = ()
    calls: int = 0
    credits: int = 0
    #: Of ``calls``, those made concurrently (probes, other field chunks, window pages).
    concurrent_calls: int = 0
    note: str = ""


@dataclass(frozen=True)
class ReadSettings:
    """The settings the choice depends on (`config.TapSettings` has them all)."""

    page_size: int
    windowed_reads: bool
    window_min_records: int
    bulk_read_min_records: int

    @property
    def plan_after(self) -> int:
        """Records the first walk reads before a split is considered: a quarter of a window.

        Smaller reads never pay for a plan, and the plan's round trips are a small part of
        larger ones.
        """
        return max(1, self.window_min_records // 4)

    def plans_now(self, read: int, first: dt.datetime, last: dt.datetime) -> bool:
        """Whether the first walk asks for a split, having read ``read`` records up to ``last``.

        ``first`` is the instant of the first record it read. At `plan_after` records; sooner,
        from the first full page, when the pace of what was read foretells two windows' worth
        up to now (records per second so far, times the seconds left). The foretelling costs
        no call: a large read starts its windows a few round trips earlier, and a small one (a
        nightly increment spread over the day) foretells little and pays nothing more than
        before. A wrong guess costs the one ``count(id)``.
        """
        if read >= self.plan_after:
            return True
        span = (last - first).total_seconds()
        if read < self.page_size or span <= 0:
            return False
        left = (dt.datetime.now(dt.UTC) - last).total_seconds()
        return read * left / span >= 2 * self.window_min_records

    @property
    def steal_min_records(self) -> int:
        """Records each half of a window cut for an idle worker holds at least (`halve`).

        Two pages: the idle worker then saves the straggler at least two round trips, against
        the cut's two calls (made while the straggler goes on reading).
        """
        return max(1, min(self.window_min_records // 4, 2 * self.page_size))


@dataclass(frozen=True)
class WalkCosts:
    """What a Get Records read costs besides its list pages (`ModuleStream.read_plan`)."""

    #: Field chunks beyond the first (more than 50 fields selected): ``ids=`` calls per page.
    extra_chunks: int = 0
    #: Rich-text values expected at the list cut: one single-record GET each.
    rereads: int = 0
    #: The ``actions/count`` a first sync asks to decide on Bulk Read (0 or 1).
    bulk_check: int = 0


class RangeFacts(Protocol):
    """What a split asks of the API: sizes and positions of a Modified_Time range."""

    def count_after(self, after: dt.datetime) -> int | None:
        """Records modified after ``after`` (None: cannot tell)."""

    def instant_at(self, after: dt.datetime, offset: int, total: int) -> dt.datetime | None:
        """The Modified_Time of the ``offset``-th record modified after ``after``."""


class CoqlRangeFacts:
    """`RangeFacts` through COQL: one credit per question (LIMIT 1).

    ``before`` bounds the range above (exclusive): the Spark bridge plans the partitions of a
    micro-batch that ends there.
    """

    def __init__(self, client: ZohoClient, module: str, before: dt.datetime | None = None) -> None:
        self._client = client
        self._module = module
        self._bound = f" and Modified_Time < '{format_utc(before)}'" if before is not None else ""

    def _rows(self, query: str) -> list[dict[str, Any]]:
        response = self._client.post_json("coql", {"select_query": query})
        return [] if response.is_empty else response.items("data")

    def count_after(self, after: dt.datetime) -> int | None:
        """``select count(id)``; Zoho does not document the row's key, so its one value is read."""
        where = f"Modified_Time > '{format_utc(after)}'{self._bound}"
        # A module API name and an instant: nothing user-supplied.
        rows = self._rows(f"select count(id) from {self._module} where {where}")  # noqa: S608
        values = [value for row in rows[:1] for value in row.values()]
        numbers = [int(v) for v in values if isinstance(v, int | str) and str(v).isdigit()]
        return numbers[0] if len(numbers) == 1 else None

    def instant_at(self, after: dt.datetime, offset: int, total: int) -> dt.datetime | None:
        """One row at ``offset`` ascending, or counted from the top when past `COQL_REACH`."""
        order = "asc"
        if offset >= COQL_REACH:
            order, offset = "desc", total - 1 - offset
            if not 0 <= offset < COQL_REACH:
                return None
        query = (
            f"select Modified_Time from {self._module} "  # noqa: S608 - see count_after
            f"where Modified_Time > '{format_utc(after)}'{self._bound} "
            f"order by Modified_Time {order} limit 1 offset {offset}"
        )
        rows = self._rows(query)
        return parse_instant(rows[0]["Modified_Time"]) if rows else None


#: Window workers per call the read may have in flight (`window_workers`).
WORKERS_PER_SLOT = 4 / 3


def window_workers(slots: int) -> int:
    """Windows (each its own worker) for a read that may have ``slots`` calls in flight.

    A third more than the slots: between two calls a worker parses its page and hands it
    over with no call in flight, and another worker's call fills the slot meanwhile (the
    client's limiter keeps the calls in flight within the slots).
    """
    return slots if slots < 2 else math.ceil(slots * WORKERS_PER_SLOT)


def window_count(records: int, width: int, min_records: int) -> int:
    """Windows for ``records`` to read, at most ``width``, each at least ``min_records``."""
    return min(width, records // min_records)


def split_range(  # noqa: PLR0917 - each argument is a different fact
    facts: RangeFacts,
    after: dt.datetime,
    width: int,
    min_records: int,
    map_concurrent: Callable[[Callable[[int], dt.datetime | None], list[int]], list[Any]],
    logger: logging.Logger,
) -> list[dt.datetime]:
    """Instants after ``after`` that cut what is left into up to ``width`` equal windows.

    One ``count(id)``, then one ``limit 1 offset k*n/w`` probe per boundary, concurrently, so
    the windows hold equal numbers of records however Modified_Time is skewed. Empty (read it
    as one walk) when what is left is under two windows' worth, or COQL is refused (no
    ``ZohoCRM.coql.READ``, an edition without COQL, an unknown aggregate).
    """
    return split_counted(facts, after, width, min_records, map_concurrent, logger)[0]


def split_counted(  # noqa: PLR0917 - each argument is a different fact
    facts: RangeFacts,
    after: dt.datetime,
    width: int,
    min_records: int,
    map_concurrent: Callable[[Callable[[int], dt.datetime | None], list[int]], list[Any]],
    logger: logging.Logger,
) -> tuple[list[dt.datetime], int | None]:
    """`split_range`, with the records COQL counted after ``after`` (None: not counted)."""
    try:
        total = facts.count_after(after)
        if total is None:
            return [], None
        count = window_count(total, width, min_records)
        if count < 2:
            logger.info(
                "%d records to read after %s: 1 window (1 COQL call)", total, format_utc(after)
            )
            return [], total
        offsets = [k * total // count for k in range(1, count)]
        found = map_concurrent(lambda offset: facts.instant_at(after, offset, total), offsets)
    except ZohoAPIError as exc:
        logger.info("Reading as one walk: COQL answered %s %s", exc.status, exc.code)
        return [], None
    boundaries = sorted({instant for instant in found if instant is not None and instant > after})
    logger.info(
        "%d records to read after %s: %d windows (%d COQL calls)",
        total,
        format_utc(after),
        len(boundaries) + 1,
        count,
    )
    return boundaries, total


class ReadPlanner:
    """Chooses how one module stream reads, and estimates what that costs."""

    def __init__(
        self,
        client: ZohoClient,
        module: str,
        settings: ReadSettings,
        logger: logging.Logger,
    ) -> None:
        self._client = client
        self._module = module
        self.settings = settings
        self._logger = logger

    # -- the sync ---------------------------------------------------------------------------

    def choose(
        self,
        counts: CheapCounts,
        start: dt.datetime | None,
        *,
        first_sync: bool,
        resuming: Way | None,
    ) -> ReadStrategy:
        """Bulk Read or the keyset walk (which may split later: `split_after`).

        ``resuming``: the way an interrupted read in the state was going (it goes on, with no
        new count). Counts ``actions/count`` first (1 credit): only a module above the
        threshold in all is counted from ``start`` (a sample page, and COQL).
        """
        threshold = self.settings.bulk_read_min_records
        if not threshold or not first_sync or resuming is Way.WINDOWS:
            return ReadStrategy(resuming or Way.WALK)
        if resuming is Way.BULK:
            return ReadStrategy(Way.BULK)
        try:
            total = counts.total(self._module)
            if total <= threshold:
                return ReadStrategy(Way.WALK, records=total)
            if start is not None and counts.since(self._module, start) <= threshold:
                return ReadStrategy(Way.WALK, records=total)
        except ZohoAPIError as exc:
            if isinstance(exc, ZohoRetriesExhaustedError):
                raise  # an outage: Get Records would meet it too
            # A module whose count Zoho refuses is read through Get Records, as before.
            self._logger.info(
                "%s: no count (%s %s); not using Bulk Read", self._module, exc.status, exc.code
            )
            return ReadStrategy(Way.WALK)
        return ReadStrategy(Way.BULK, records=total)

    def width(self) -> int:
        """Calls one read may have in flight: the heavy-call pool within the org's limit."""
        return min(self._client.concurrency(), self._client.limiter.heavy_limit)

    def window_width(self) -> int:
        """Windows one read may have: `window_workers` for its `width`."""
        return window_workers(self.width())

    def split_after(self, after: dt.datetime) -> ReadStrategy:
        """Windows, with their boundaries, for what follows ``after``; or the walk going on.

        ``after`` is the last instant the walk read.
        """
        if not self.settings.windowed_reads:
            return ReadStrategy(Way.WALK)
        width = self.window_width()
        if width < 2:
            return ReadStrategy(Way.WALK)
        boundaries, total = split_counted(
            CoqlRangeFacts(self._client, self._module),
            after,
            width,
            self.settings.window_min_records,
            self._client.map_concurrent,
            self._logger,
        )
        if not boundaries:
            return ReadStrategy(Way.WALK)
        return ReadStrategy(
            Way.WINDOWS, records=total, windows=len(boundaries) + 1, boundaries=tuple(boundaries)
        )

    def halve(
        self, after: dt.datetime, before: dt.datetime | None, left: int
    ) -> tuple[dt.datetime, int] | None:
        """Where to cut what a window has left after ``after`` (below ``before``) in two.

        Asked when a worker is idle and another window still has much to read (a block of
        records in one second walked twice, an unlucky share of the interpreter lock): the
        idle worker takes the upper half. Worth it from two `steal_min_records` halves; the
        cut's instant and the records counted, or None. One ``count(id)`` and one probe, and
        none when ``left``, the records the window is expected still to hold, is too few.
        """
        if left < 2 * self.settings.steal_min_records:
            return None
        boundaries, total = split_counted(
            CoqlRangeFacts(self._client, self._module, before=before),
            after,
            2,
            self.settings.steal_min_records,
            self._client.map_concurrent,
            self._logger,
        )
        if not boundaries or total is None:
            return None
        return boundaries[0], total

    # -- the plan ---------------------------------------------------------------------------

    def estimate(
        self,
        records: int,
        *,
        first_sync: bool,
        keyset: bool,
        costs: WalkCosts,
        bulk_fields: Callable[[], BulkFields],
    ) -> ReadStrategy:
        """The way the next sync reads ``records``, and its calls and credits.

        `choose` and `split_after`, foreseen from a count instead of made.

        ``keyset``: the stream walks Modified_Time (else it is read by page token, never in
        windows nor through Bulk Read).
        """
        threshold = self.settings.bulk_read_min_records
        if keyset and threshold and first_sync and records > threshold:
            return self._bulk_estimate(records, bulk_fields())
        return self._walk_estimate(records, costs, windowed=keyset)

    def estimate_resumed(self, left: list[int], costs: WalkCosts) -> ReadStrategy:
        """A windowed read resumed from the state: ``left`` records in each window not done.

        No count and no probe (the windows are in the state): each window's pages from where
        its emitted records end, then one walk on from the last window.
        """
        size = self.settings.page_size
        records = sum(left)
        window_pages = sum(pages(share, size) for share in left)
        chunk_calls = costs.extra_chunks * id_calls(records, size)
        calls = window_pages + 1 + chunk_calls + costs.rereads
        return ReadStrategy(
            Way.WINDOWS,
            records=records,
            windows=len(left),
            calls=calls,
            credits=calls,
            concurrent_calls=window_pages + chunk_calls + costs.rereads,
            note=f"{costs.rereads} rich-text re-read(s)" if costs.rereads else "",
        )

    def _bulk_estimate(self, records: int, fields: BulkFields) -> ReadStrategy:
        """Bulk Read's jobs (reading/bulk.py), and the fields it cannot export read by id.

        Per job of 200,000 records: the job (50 credits), a few polls and the download; the
        fields Bulk Read cannot export cost 1 per 100 records. Lookup objects read by id depend
        on how many distinct targets the records have, which no cheap count tells: left out,
        and said so.
        """
        jobs = -(-records // RECORDS_PER_JOB)
        completed = -(-len(fields.completed) // (FIELDS_PER_CALL - 1))
        id_reads = completed * id_calls(records, MAX_PER_PAGE)
        # The count, per job its creation, polls and download, the fields read by id, the
        # lookups' display fields and ranges' bounds, and the walk from the export instant
        # (a call when little changed meanwhile).
        calls = 1 + jobs * (1 + PLANNED_POLLS + 1) + id_reads + 1
        calls += planning_calls(fields, records)
        return ReadStrategy(
            Way.BULK,
            records=records,
            calls=calls,
            credits=calls + jobs * (JOB_CREDITS - 1),
            concurrent_calls=id_reads,
            note="plus owner, layout and tag objects read by id (1 credit per 100 records "
            "carrying a new one)"
            if fields.references or fields.name_lists
            else "",
        )

    def _walk_estimate(self, records: int, costs: WalkCosts, *, windowed: bool) -> ReadStrategy:
        """Pages, other field chunks and re-reads; with windows, their count, probes and pages.

        The walk considers a split once it has read ``plan_after`` records (whole pages) and is
        not done: one ``count(id)``. With ``w`` windows: ``w - 1`` probes, each window's own
        pages (the last page of a window but the last reaches into the next one and is cut
        there), and one walk on from the last window (a call when nothing changed meanwhile).
        """
        size = self.settings.page_size
        chunk_calls = costs.extra_chunks * id_calls(records, size)
        list_calls = pages(records, size)
        concurrent = chunk_calls + costs.rereads
        windows, split_calls = 1, 0
        plan_after = self.settings.plan_after
        if windowed and self.settings.windowed_reads and records >= plan_after:
            first = min(records, math.ceil(plan_after / size) * size)
            width = self.window_width()
            if width >= 2:
                split_calls = 1
                rest = records - first
                count = window_count(rest, width, self.settings.window_min_records)
                if count >= 2:
                    windows = count
                    split_calls += count - 1
                    window_pages = _window_pages(rest, count, size)
                    list_calls = first // size + window_pages + 1
                    concurrent += count - 1 + window_pages
        calls = list_calls + split_calls + chunk_calls + costs.rereads + costs.bulk_check
        return ReadStrategy(
            Way.WINDOWS if windows > 1 else Way.WALK,
            records=records,
            windows=windows,
            calls=calls,
            credits=calls,
            concurrent_calls=concurrent,
            note=f"{costs.rereads} rich-text re-read(s)" if costs.rereads else "",
        )


def _window_pages(records: int, count: int, size: int) -> int:
    """List calls of ``count`` windows sharing ``records`` equally (as the probes cut them).

    A window ends on the page that reaches into the next one (the last window: on an answer
    without ``more_records``), which is `pages` either way.
    """
    cuts = [k * records // count for k in range(count + 1)]
    return sum(pages(high - low, size) for low, high in itertools.pairwise(cuts))
