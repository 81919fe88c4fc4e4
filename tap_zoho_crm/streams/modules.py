"""One stream per CRM module (Leads, Deals, custom and linking modules).

Incremental on Modified_Time through `ModifiedTimeWalk` (keyset re-anchoring). Modules with
more than 50 selected fields read the first chunk (with ``id`` and ``Modified_Time``) as the
walk, then fetch each page's other chunks by ``ids=``, concurrently, and merge them by id.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.bookmarks import Bookmark
from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.paging import (
    CONVERTED_PARAM_MODULES,
    FIELDS_PER_CALL,
    MAX_PER_PAGE,
    REPLICATION_KEY,
    ModifiedTimeWalk,
    Page,
    at_list_cut,
    chunk_fields,
    chunk_ids,
    if_modified_since,
    list_params,
    maybe_truncated,
    token_walk,
)
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since, truncated_share
from tap_zoho_crm.reading.bulk import BulkLoad, BulkProgress, BulkUnavailableError
from tap_zoho_crm.reading.bulk_csv import BulkFields
from tap_zoho_crm.reading.planner import (
    CoqlRangeFacts,
    ReadPlanner,
    ReadSettings,
    ReadStrategy,
    WalkCosts,
    Way,
)
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.reading.windows import STATE_KEY as WINDOWS_STATE_KEY
from tap_zoho_crm.reading.windows import WindowedRead, WindowProgress
from tap_zoho_crm.records import to_int_id
from tap_zoho_crm.schema import rich_text_properties
from tap_zoho_crm.streams.base import ZohoStream
from tap_zoho_crm.streams.parents import rows_at_instant, single_record

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_zoho_crm.client.http import ZohoResponse
    from tap_zoho_crm.discovery import StreamDefinition
    from tap_zoho_crm.tap import TapZohoCrm

#: Where a window without a start counts from (COQL's ``>`` needs an instant).
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

#: Fields the read cannot do without: never dropped, whatever Zoho says.
PROTECTED_FIELDS = frozenset({"id", REPLICATION_KEY})


def chunks_fields(chunks: list[list[str]]) -> set[str]:
    """Every field name requested across the chunks."""
    return {name for chunk in chunks for name in chunk}


class ModuleStream(ZohoStream):
    """Records of one Zoho module, read with Get Records (``GET /crm/v8/{module}``)."""

    kind: ClassVar[str] = "module"
    reads_ahead: ClassVar[bool] = True

    def __init__(self, tap: TapZohoCrm, definition: StreamDefinition) -> None:
        super().__init__(tap, definition)
        self._fields_lock = threading.Lock()
        self._dropped_fields: set[str] = set()
        #: The windowed read in progress (reading/windows.py), which keeps its own state.
        self._windows: WindowedRead | None = None
        #: The Bulk Read load in progress (reading/bulk.py), which keeps its own state.
        self._bulk: BulkLoad | None = None
        #: ``actions/count`` as the Bulk Read decision asked it (progress lines reuse it).
        self._module_total: int | None = None
        #: The selected rich-text properties of a Bulk Read load (values at the cut re-read).
        self._bulk_rich_text: list[str] = []

    @property
    def planner(self) -> ReadPlanner:
        """The one place that chooses how this stream reads (reading/planner.py)."""
        settings = self.settings
        return ReadPlanner(
            self.client,
            self.module,
            ReadSettings(
                page_size=settings.page_size,
                windowed_reads=settings.windowed_reads,
                window_min_records=settings.window_min_records,
                bulk_read_min_records=settings.bulk_read_min_records,
            ),
            self.logger,
        )

    @property
    def module(self) -> str:
        """The Zoho module API name."""
        return self.definition.module

    def selected_fields(self) -> list[str]:
        """Field names to request: the selected properties (id and the key always)."""
        names = []
        for name in self.schema.get("properties", {}):
            if name in {"id", REPLICATION_KEY} or self.mask[("properties", name)]:
                names.append(name)
        return names

    def read_records(
        self, context: Context | None
    ) -> Iterable[dict[str, Any] | list[dict[str, Any]] | Effect]:
        """Walk the module in Modified_Time order (or plainly, when it has no such field)."""
        chunks = chunk_fields(self.selected_fields())
        rich_text = [
            name for name in rich_text_properties(self.schema) if name in chunks_fields(chunks)
        ]

        def complete(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if len(chunks) > 1:
                records = self._complete(records, chunks[1:])
            if rich_text and self.settings.full_rich_text:
                self._untruncate(records, rich_text)
            return records

        pages: Iterator[list[dict[str, Any]] | Effect]
        if self.replication_key == REPLICATION_KEY:
            pages = self._modified_time_pages(context, chunks, complete)
        else:
            pages = map(
                complete,
                token_walk(lambda token, page: self._fetch_plain(chunks[0], token, page)),
            )
        # Pages go out whole: `ZohoStream.get_records` emits their records.
        yield from pages

    def _modified_time_pages(
        self,
        context: Context | None,
        chunks: list[list[str]],
        complete: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    ) -> Iterator[list[dict[str, Any]] | Effect]:
        """Bulk Read when the planner chooses it, then the keyset walk (windows when wide).

        The planner (reading/planner.py) chooses before the read, and splits the walk into
        windows once it has read a quarter of a window (or less, when its pace foretells much
        more) and is not done.
        """
        start, skip_ids = self.starting_point()
        planner = self.planner
        load = self._bulk_load(context, start, planner)
        if load is not None:
            try:
                yield from load.pages()
            except BulkUnavailableError as exc:
                self.logger.warning(
                    "%s: reading through Get Records instead of Bulk Read: %s", self.name, exc
                )
                yield Effect(load.progress.clear)
            else:
                if load.instant is not None:
                    start, skip_ids = load.instant, set()
                    yield Effect(partial(self._hand_over, context, load.instant))
        self._windows = WindowedRead(
            state=self.get_context_state(context) if self._bookmark is not None else None,
            key=REPLICATION_KEY,
            walk=lambda start, skip, until: self._walk(chunks[0], start, skip, until),
            split=planner.split_after,
            halve=planner.halve,
            client=self.client,
            plans_now=planner.settings.plans_now,
            complete=complete,
            on_collapse=self._use_bookmark,
            logger=self.logger,
        )
        yield from self._windows.pages(start, skip_ids)

    def _bulk_load(
        self, context: Context | None, start: dt.datetime | None, planner: ReadPlanner
    ) -> BulkLoad | None:
        """The Bulk Read load the planner chooses (a first sync that pays, or one interrupted)."""
        first_sync = self._bookmark is not None and self._bookmark.instant is None
        state = self.get_context_state(context) if first_sync else {}
        resuming = None
        if state.get(WINDOWS_STATE_KEY):
            resuming = Way.WINDOWS  # a windowed Get Records read to resume
        elif BulkProgress(state).saved is not None:
            resuming = Way.BULK
        strategy = planner.choose(
            CheapCounts(self.client, self.settings.page_size),
            start,
            first_sync=first_sync,
            resuming=resuming,
        )
        if strategy.records is not None:
            self._module_total = strategy.records  # actions/count: progress lines reuse it
        if strategy.way is not Way.BULK:
            return None
        load = self.bulk_load(state, start)
        selected = set(self.selected_fields())
        self._bulk_rich_text = [
            name for name in rich_text_properties(self.schema) if name in selected
        ]
        self._bulk = load
        return load

    def bulk_load(
        self,
        state: dict[str, Any],
        since: dt.datetime | None,
        before: dt.datetime | None = None,
    ) -> BulkLoad:
        """A Bulk Read load of this stream's selected fields, keeping its progress in ``state``.

        The sync's own load (`_bulk_load`), and the Spark bridge's driver, which creates the
        jobs of its partitions with it (`BulkLoad.create_jobs`); ``before`` bounds the rows
        modified (a micro-batch's end).
        """
        return BulkLoad(
            client=self.client,
            module=self.module,
            schema=self.schema,
            selected=self.selected_fields(),
            state=state,
            since=since,
            normalise=self.normalise,
            fetch_by_ids=self._fetch_by_ids,
            finish_page=self._finish_bulk_page,
            truncate_rich_text=not self.settings.full_rich_text,
            logger=self.logger,
            write_state=self._flush_state,
            before=before,
        )

    def _finish_bulk_page(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A page of a Bulk Read load: fields Bulk Read cannot export read by id, then screened.

        Rich text is re-read only where the CSV value is exactly at the list cut (500
        characters): a longer value is whole.
        """
        bulk = self._bulk
        completed = list(bulk.fields.completed) if bulk is not None else []
        if completed and records:
            step = FIELDS_PER_CALL - 1
            chunks = [["id", *completed[i : i + step]] for i in range(0, len(completed), step)]
            records = self._complete(records, chunks)
        rich = self._bulk_rich_text
        if rich and self.settings.full_rich_text:
            self._untruncate(records, rich, cut=at_list_cut)
        return self.screen(records, more_records=True)

    def _flush_state(self) -> None:
        """Send a STATE message now (the state changed outside the SDK's record flow)."""
        self.state_manager.is_flushed = False
        self._write_state_message()

    def _hand_over(self, context: Context | None, instant: dt.datetime) -> None:
        """The Bulk Read load is done: the bookmark is its export instant; the walk goes on."""
        self._use_bookmark(Bookmark(self.get_context_state(context), REPLICATION_KEY, instant))

    def _use_bookmark(self, bookmark: Bookmark) -> None:
        """Windows collapsed into this bookmark: records advance it from now on."""
        if self._bookmark is not None:
            self._bookmark = bookmark

    def _walk(
        self,
        fields: list[str],
        start: dt.datetime | None,
        skip: set[int],
        until: dt.datetime | None,
    ) -> ModifiedTimeWalk:
        """The keyset walk of ``[start, until)`` (all of it from ``start`` for None)."""
        return ModifiedTimeWalk(
            lambda since, token, page: self._fetch_sorted(fields, since, token, page),
            start=start,
            skip_ids=skip,
            logger=self.logger,
            reading=self.client.if_modified_since,
            tie_reader=lambda instant, after: self._read_instant(fields, instant, after),
            tie_reader_lists_all=self.module not in CONVERTED_PARAM_MODULES,
            until=until,
        )

    def _advance_state(self, records: list[Record]) -> None:
        """A record of a Bulk Read load or a window advances its state; any other, the bookmark."""
        bulk, windows = self._bulk, self._windows
        if bulk is not None or windows is not None:
            records = [
                record
                for record in records
                if not (bulk is not None and bulk.account(record))
                and not (windows is not None and windows.account(record))
            ]
        if records:
            super()._advance_state(records)

    # -- the calls ----------------------------------------------------------------------------

    def _list(
        self, fields: list[str], params: dict[str, Any], headers: dict[str, str] | None = None
    ) -> ZohoResponse:
        """One list call for ``fields``, dropping fields Zoho no longer knows.

        A catalog can outlive a field (deleted in Zoho since discovery); Zoho then refuses the
        whole call with INVALID_DATA naming the field. The field is left out of this sync with
        one warning instead of failing it; rediscovery removes it for good.
        """
        while True:
            try:
                return self.client.get(
                    self.module, params={**params, "fields": ",".join(fields)}, headers=headers
                )
            except ZohoAPIError as exc:
                gone = exc.details.get("api_name") if exc.code == "INVALID_DATA" else None
                if not isinstance(gone, str) or gone in PROTECTED_FIELDS:
                    raise
                if not self._drop_field(fields, gone):
                    raise

    def _drop_field(self, fields: list[str], name: str) -> bool:
        """Remove a vanished field from a chunk; whether the call is worth retrying."""
        with self._fields_lock:
            if name in fields:
                fields.remove(name)
                self._dropped_fields.add(name)
                self.logger.warning(
                    "%s: Zoho no longer knows field %s; it is left out of this sync "
                    "(run discovery again to update the catalog)",
                    self.name,
                    name,
                )
                return True
            # Dropped meanwhile by a concurrent call of the same chunk: retry without it.
            return name in self._dropped_fields

    def _page(
        self, fields: list[str], params: dict[str, Any], headers: dict[str, str]
    ) -> Page | None:
        response = self._list(fields, params, headers)
        if response.is_empty:
            return None
        # The page was parsed for this read alone: its records are normalised in place.
        records = list(map(self._normalise.take, response.items("data")))
        return Page.from_info(
            self.screen(records, more_records=bool(response.info.get("more_records"))),
            response.info,
        )

    def _base_params(self) -> dict[str, Any]:
        return {"per_page": self.settings.page_size, **list_params(self.module)}

    def _fetch_sorted(
        self, fields: list[str], since: dt.datetime | None, token: str | None, page: int
    ) -> Page | None:
        params = self._base_params()
        params.update(sort_by=REPLICATION_KEY, sort_order="asc")
        if token:
            params["page_token"] = token
        elif page > 1:
            params["page"] = page
        return self._page(fields, params, if_modified_since(since))

    def _fetch_plain(self, fields: list[str], token: str | None, page: int) -> Page | None:
        params = self._base_params()
        if token:
            params["page_token"] = token
        elif page > 1:
            params["page"] = page
        return self._page(fields, params, {})

    def _fetch_by_ids(self, job: tuple[list[str], list[int]]) -> list[dict[str, Any]]:
        fields, ids = job
        params = {
            "ids": ",".join(str(record_id) for record_id in ids),
            "per_page": MAX_PER_PAGE,
            **list_params(self.module),
        }
        response = self._list(fields, params)
        # Merged into records by id: one without a usable id cannot be placed.
        return self.screener(None)([self.normalise(r) for r in response.items("data")], False)

    def _read_instant(
        self, fields: list[str], instant: dt.datetime, after: int | None
    ) -> Page | None:
        """Up to 200 records of one Modified_Time with ids above ``after``, by id (COQL).

        COQL orders by id, which Get Records cannot within one instant; it lists ids only
        (its value shapes differ from Get Records'), and the records come from ``ids=`` calls.
        Costs 1 credit per COQL page and 1 per 100 records.
        """
        listed = rows_at_instant(
            self.client, self.module, instant, after, screen=self.screener(None)
        )
        if listed is None:
            return None
        ids = [int(row["id"]) for row in listed.records]
        records = [
            record for chunk in chunk_ids(ids) for record in self._fetch_by_ids((fields, chunk))
        ]
        # Paged by the last id listed, even if its record is gone since (or skipped as bad).
        return Page(
            self.screen(records, more_records=False), listed.more_records, listed.next_page_token
        )

    def _fetch_one(self, record_id: int) -> dict[str, Any] | None:
        row = single_record(self.client, self.module, record_id)
        return self.normalise(row) if row is not None else None

    def _untruncate(
        self,
        records: list[dict[str, Any]],
        fields: list[str],
        cut: Callable[[Any], bool] = maybe_truncated,
    ) -> None:
        """Replace rich-text values cut by the list response with the full ones.

        Only records with a value at the cut length are re-read (one call each, concurrently):
        shorter values are already complete.
        """
        todo = [r for r in records if any(cut(r.get(name)) for name in fields)]
        if not todo:
            return
        full = self.client.map_concurrent(self._fetch_one, [int(r["id"]) for r in todo])
        for record, whole in zip(todo, full, strict=True):
            if whole is None:
                continue
            for name in fields:
                if name in whole:
                    record[name] = whole[name]

    def _complete(
        self, records: list[dict[str, Any]], chunks: list[list[str]]
    ) -> list[dict[str, Any]]:
        """Add the fields of the other chunks to one page of records, merged by id.

        The first chunk's Modified_Time is kept: it is what the walk ordered by. A record
        changed between the calls is emitted anyway; its newer Modified_Time is past the
        bookmark, so the next sync reads it again, consistently.
        """
        ids = [int(record["id"]) for record in records]
        jobs = [(chunk, group) for chunk in chunks for group in chunk_ids(ids)]
        by_id = {int(record["id"]): record for record in records}
        completed: dict[int, int] = dict.fromkeys(ids, 0)
        for rows in self.client.map_concurrent(self._fetch_by_ids, jobs):
            for row in rows:
                record = by_id.get(row["id"])
                if record is None:
                    continue
                completed[int(record["id"])] += 1
                for key, value in row.items():
                    if key not in {"id", REPLICATION_KEY}:
                        record[key] = value
        partial = [record_id for record_id, count in completed.items() if count < len(chunks)]
        if partial:
            self.logger.warning(
                "%s: %d record(s) vanished while their other fields were read (deleted "
                "meanwhile?); emitted with the fields read",
                self.name,
                len(partial),
            )
        return records

    # -- plan and progress (read_plan.py) ---------------------------------------------------------

    def _bulk_check_calls(self) -> int:
        """The count a first sync asks to decide on Bulk Read (`_bulk_load`): 1, or none."""
        first = self._bookmark is not None and self._bookmark.instant is None
        return int(bool(self.settings.bulk_read_min_records) and first)

    def expected_records(self) -> int | None:
        """Records this sync reads, for a progress line's ETA: at most one credit.

        ``actions/count`` without a start; from one, one COQL ``count(id)`` of the records
        modified after the second before it (None without COQL: no ETA). Not `CheapCounts.since`,
        whose exact count (a page, then COQL probes) `plan` pays for and a progress line
        should not.
        """
        since = self.read_from if self.replication_key == REPLICATION_KEY else None
        if since is None:
            if self._module_total is not None:
                return self._module_total  # counted for the Bulk Read decision already
            return CheapCounts(self.client, self.settings.page_size).total(self.module)
        try:
            return CoqlRangeFacts(self.client, self.module).count_after(
                since - dt.timedelta(seconds=1)
            )
        except ZohoAPIError:
            return None

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """The planner's choice (`ReadPlanner.estimate`) for the records this sync would read.

        Pages of the walk, ``ids=`` calls of the other field chunks, rich-text re-reads, the
        windows' count and probes, or Bulk Read's jobs. A sample page (the first the read would
        get) counts the records when they fit in it, and gives the share of rich-text values
        cut at 500 characters (each costs a single-record GET). Tie blocks of one second re-read
        by id are not foreseen.
        """
        chunks = chunk_fields(self.selected_fields())
        rich = [name for name in rich_text_properties(self.schema) if name in chunks_fields(chunks)]
        rich = rich if self.settings.full_rich_text else []
        if self.replication_key == REPLICATION_KEY:
            since, skip_ids = self.planned_start()
            if self._bookmark is not None and self._bookmark.instant is not None:
                mode = "incremental " + describe_since(since)
            elif since is not None:
                mode = "first sync, records modified " + describe_since(since)  # start_date
            else:
                mode = "first sync, every record"
            sample = counts.sample(self.module, since, rich)
            resumed = self._resumed_windows()
            if resumed is not None:
                left, total = resumed
                strategy = self.planner.estimate_resumed(
                    left,
                    WalkCosts(
                        extra_chunks=len(chunks) - 1,
                        rereads=round(truncated_share(sample.rows, rich) * sum(left)),
                    ),
                )
                mode = f"windowed read resumed, {len(left)} of {total} windows left"
                return self._plan_row(mode, strategy)
            if sample.more:  # the ids at the bookmark are skipped, not read again
                records = max(0, counts.since(self.module, since) - len(skip_ids))
            else:
                records = sum(1 for row in sample.rows if to_int_id(row.get("id")) not in skip_ids)
        else:
            mode, sample = "full table (no Modified_Time)", counts.sample(self.module, None, rich)
            records = len(sample.rows) if not sample.more else counts.total(self.module)
        keyset = self.replication_key == REPLICATION_KEY
        first_sync = keyset and not (
            self._bookmark is not None and self._bookmark.instant is not None
        )
        strategy = self.planner.estimate(
            records,
            first_sync=first_sync,
            keyset=keyset,
            costs=WalkCosts(
                extra_chunks=len(chunks) - 1,
                rereads=round(truncated_share(sample.rows, rich) * records),
                bulk_check=self._bulk_check_calls(),
            ),
            bulk_fields=lambda: BulkFields.plan(self.schema, self.selected_fields()),
        )
        if strategy.way is Way.BULK:
            mode = "first sync through Bulk Read"
        elif strategy.way is Way.WINDOWS:
            mode += f", {strategy.windows} windows"
        return self._plan_row(mode, strategy)

    def _resumed_windows(self) -> tuple[list[int], int] | None:
        """The records left in each open window of a windowed read in the state, and its size.

        None without such a read, or when COQL cannot count. One COQL ``count(id)`` per window
        not done, from where its emitted records end.
        """
        progress = WindowProgress.load(copy.deepcopy(self.get_context_state(None)))
        if progress is None:
            return None
        left = []
        try:
            for window in progress.windows:
                if window.done:
                    continue
                start, ids = window.resume_point()
                after = start - dt.timedelta(seconds=1) if start is not None else EPOCH
                facts = CoqlRangeFacts(self.client, self.module, before=window.until)
                count = facts.count_after(after)
                if count is None:
                    return None
                left.append(max(0, count - len(ids)))
        except ZohoAPIError:
            return None
        return left, len(progress.windows)

    def _plan_row(self, mode: str, strategy: ReadStrategy) -> ReadPlan:
        """The plan's row for the planner's strategy."""
        return ReadPlan(
            self.name,
            mode,
            calls=strategy.calls,
            credits=strategy.credits,
            concurrent_calls=strategy.concurrent_calls,
            records=strategy.records,
            note=strategy.note,
            strategy=strategy.way.value,
            windows=strategy.windows,
        )
