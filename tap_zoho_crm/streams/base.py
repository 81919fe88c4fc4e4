"""ZohoStream: what every stream kind shares.

Streams subclass ``singer_sdk.Stream`` (not RESTStream): every request goes through the tap's
one `ZohoClient`. Private SDK hooks are used on purpose (singer-sdk is pinned to 0.54;
docs/design.md lists them):

* ``_increment_stream_state`` is replaced: the SDK compares bookmark strings, ours compares
  instants and keeps the ids tied at the bookmark (`tap_zoho_crm.bookmarks`).
* ``_write_state_message`` is called when the daily credit budget runs out, so that stop is
  resumable.
* ``_generate_record_messages`` is replaced: the SDK's pops deselected properties and conforms
  types on every record; ours does neither when there is nothing to do (see
  `ZohoStream.TYPE_CONFORMANCE_LEVEL`).
* ``_sync_records`` is replaced when nothing needs the SDK's step per record: a page at a
  time, the same messages (`ZohoStream._sync_pages`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, metrics
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL

from tap_zoho_crm import bad_records
from tap_zoho_crm.bookmarks import Bookmark
from tap_zoho_crm.client.errors import (
    TapZohoCrmError,
    ZohoCreditsExhaustedError,
    ZohoModuleUnavailableError,
)
from tap_zoho_crm.client.usage import CURRENT_STREAM, LedgerRecordCounter
from tap_zoho_crm.output import ZohoMessageWriter
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import RecordNormaliser
from tap_zoho_crm.run_outcome import fails_stream_only

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_zoho_crm.client.http import ZohoClient
    from tap_zoho_crm.config import ZohoSettings
    from tap_zoho_crm.discovery import Discovery, StreamDefinition
    from tap_zoho_crm.read_plan import CheapCounts, ReadPlan
    from tap_zoho_crm.tap import TapZohoCrm


#: How far ahead of the local clock a bookmark or start_date may be before it is called future
#: (clocks differ, and Zoho's own clock decides Modified_Time).
FUTURE_SLACK = dt.timedelta(hours=1)


class ZohoStream(Stream):
    """A stream built from a `StreamDefinition`, reading through the tap's client."""

    #: Emit STATE at least this often, so a killed sync resumes close to where it stopped.
    STATE_MSG_FREQUENCY = 1000

    #: None: the SDK's conformance turns Python values (datetimes, decimals, bytes) into JSON
    #: ones and drops properties the schema lacks. Records here are parsed JSON: their values
    #: are JSON values already, and the tap writes its datetimes as strings itself. What
    #: conformance still did is done by `RecordNormaliser`, compiled from the same schema: it
    #: drops unknown properties and applies the boolean rule; rows built outside it lose
    #: unknown keys in `_generate_record_messages`. NaN and infinities (which JSON parsers
    #: accept) are written as null by msgspec, as conformance did. Conformance at the top
    #: level (ROOT_ONLY) cost about a fifth of a sync's CPU.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: The ``zoho-stream-kind`` this class implements.
    kind: ClassVar[str] = ""

    #: Whether this kind's read may run ahead of its turn: it changes state only through
    #: `Effect` steps (tap_zoho_crm/reading/readahead.py).
    reads_ahead: ClassVar[bool] = False

    #: Streams sync in (sync_tier, name) order. Kinds that cost a call per parent record every
    #: run sit in a later tier, so that a pass spending the daily credit budget stops after
    #: the cheap incremental streams are done, never before them.
    sync_tier: ClassVar[int] = 0

    @property
    def honours_start_date(self) -> bool:
        """Whether ``start_date`` limits the first sync (not for dimensions records point at)."""
        return True

    def __init__(self, tap: TapZohoCrm, definition: StreamDefinition) -> None:
        super().__init__(tap, schema=definition.schema, name=definition.name)
        self.definition = definition
        self.primary_keys = list(definition.primary_keys)
        self.replication_key = definition.replication_key  # type: ignore[assignment]
        self._zoho_tap = tap
        self._normalise = RecordNormaliser(definition.schema)
        self._bookmark: Bookmark | None = None
        #: Where this sync's read began (for `expected_records`; the bookmark moves on).
        self.read_from: dt.datetime | None = None
        self._property_names = frozenset(definition.schema.get("properties", {}))
        self._open_schema = bool(definition.schema.get("additionalProperties"))
        self._all_selected: bool | None = None
        self._warned_unknown: set[str] = set()
        #: Alias for `_write_record_message`'s direct path, ``""`` if it cannot be taken.
        self._direct_alias: str | None = None

    @classmethod
    def derived_names(cls, discovery: Discovery) -> list[str]:
        """Names this kind may derive, known before any module is read (none by default)."""
        del discovery
        return []

    @classmethod
    def derive_definitions(
        cls, discovery: Discovery, definitions: Sequence[StreamDefinition]
    ) -> list[StreamDefinition]:
        """Definitions of this kind derived from the discovered ones (none by default).

        The hook for kinds built on top of modules (``<Module>_deleted``, junctions, subforms):
        discovery has the module list and field metadata cached, so deriving costs no call
        unless the kind needs one.
        """
        del discovery, definitions
        return []

    @property
    def client(self) -> ZohoClient:
        """The tap's HTTP client (one per Tap instance)."""
        return self._zoho_tap.client

    @property
    def settings(self) -> ZohoSettings:
        """The tap's validated settings."""
        return self._zoho_tap.settings

    @property
    def is_sorted(self) -> bool:
        """Incremental reads come in replication-key order, so bookmarks are resumable."""
        return self.replication_key is not None

    def normalise(self, record: dict[str, Any]) -> dict[str, Any]:
        """Zoho record -> Singer record (UTC datetimes, integer ids)."""
        return self._normalise(record)

    def screen(self, records: list[dict[str, Any]], *, more_records: bool) -> list[dict[str, Any]]:
        """The records of one page that can be keyed (bad_records.py; ``on_bad_record``)."""
        return self.screener(self.replication_key)(records, more_records)

    def screener(self, key: str | None, subject: str = "record") -> bad_records.Screen:
        """`bad_records.screen` for rows this stream reads keyed by ``key`` (None: by id only).

        ``subject`` names the rows in the line when they are not this stream's own records
        (``parent Quotes record``, ``row``).
        """

        def screen(records: list[dict[str, Any]], more_records: bool) -> list[dict[str, Any]]:
            return bad_records.screen(
                records,
                stream=self.name,
                key=key,
                skip=self.settings.on_bad_record == "skip",
                more_records=more_records,
                on_skipped=lambda where: self._zoho_tap.outcome.records_skipped(self.name, where),
                logger=self.logger,
                subject=subject,
            )

        return screen

    # -- records ----------------------------------------------------------------------------

    def read_records(
        self, context: Context | None
    ) -> Iterable[dict[str, Any] | list[dict[str, Any]] | Effect]:
        """Yield this stream's records (one by one or as pages) and `Effect` steps, in order.

        Subclasses implement the kind's read.
        """
        raise NotImplementedError

    def read_ahead(self) -> Iterable[Any]:
        """This stream's read, started before its turn (`tap_zoho_crm.reading.readahead`)."""
        self._bookmark = self._load_bookmark(None)
        return self._charged_to_self(self.read_records(None))

    def _charged_to_self(self, items: Iterable[Any]) -> Iterator[Any]:
        """Charge the calls of a read running ahead to this stream (client/usage.py).

        The reader runs on a thread of its own, in a copy of the starting stream's context, so
        the variable is set for that copy only and needs no reset.
        """
        CURRENT_STREAM.set(self.name)
        yield from items

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """The records of `_record_pages`, one by one (the SDK's record loop)."""
        for page in self._record_pages(context):
            yield from page

    def _record_pages(self, context: Context | None) -> Iterator[list[Record]]:
        """Run the kind's read as pages of records, skipping an unavailable module.

        A read yields records, pages and `Effect` steps; each step runs here, after the
        records before it were emitted (and so whether the read ran ahead or not). An error
        that concerns this stream only ends its read, not the run (run_outcome.py).
        """
        # Readers of the next streams stop only when the run stops, not when this stream
        # fails alone: the run goes on, and so do their reads.
        run_goes_on = False
        emitted = False
        try:
            ahead = self._zoho_tap.read_ahead.turn(self) if context is None else None
            if ahead is None:
                self._bookmark = self._load_bookmark(context)
            self.read_from = self.starting_point()[0]
            self._warn_if_future()
            for item in ahead if ahead is not None else self.read_records(context):
                if isinstance(item, list):
                    emitted = emitted or bool(item)
                    yield item
                elif isinstance(item, Effect):
                    item()
                else:
                    emitted = True
                    yield [item]
            run_goes_on = True
            self._zoho_tap.outcome.stream_finished()
        except ZohoModuleUnavailableError as exc:
            if not self.settings.skip_unavailable_streams:
                exc.stream = self.name
                raise
            if emitted:
                # Readable at first, refused midway (a permission or the module changed during
                # the run): part of the stream was sent, so it failed; it is not "unavailable".
                exc.stream = self.name
                self._zoho_tap.outcome.stream_failed(self.name, exc, self.logger)
                run_goes_on = True
                return
            run_goes_on = True
            self.logger.warning(
                "Skipping stream %s: Zoho answered %s (%s)",
                self.name,
                exc.code,
                exc.zoho_message or exc.status,
            )
        except ZohoCreditsExhaustedError as exc:
            exc.stream = self.name
            self._write_state_message()
            raise
        except TapZohoCrmError as exc:
            exc.stream = self.name
            if not fails_stream_only(exc):
                raise
            # This stream stops alone (run_outcome.py): the SDK then sends its STATE as it
            # stands, the bookmark of the last record sent. Nothing marks it complete: the
            # kinds that activate a version or close a pass do so only after a whole read.
            self._zoho_tap.outcome.stream_failed(self.name, exc, self.logger)
            run_goes_on = True
        finally:
            if not run_goes_on:
                self._zoho_tap.read_ahead.cancel()

    # -- usage: progress, report, plan (client/usage.py, read_plan.py) -------------------------

    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """The SDK's record counter (entered around the sync), also charging calls to us."""
        return LedgerRecordCounter(
            self.client.usage, self.name, endpoint=endpoint, log_interval=log_interval
        )

    def expected_records(self) -> int | None:
        """Records this sync reads in all, if a cheap count can tell (a progress line's ETA)."""
        return None

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """How the next run will read this stream, and its estimated cost (each kind says)."""
        raise NotImplementedError

    def planned_start(self) -> tuple[dt.datetime | None, set[int]]:
        """`starting_point` of the next run, from the state this tap was given."""
        self._bookmark = self._load_bookmark(None)
        return self.starting_point()

    # -- messages -----------------------------------------------------------------------------

    def _every_property_selected(self) -> bool:
        """Whether the catalog selects every property (then no record needs pruning)."""
        if self._all_selected is None:
            self._all_selected = all(selected for crumb, selected in self.mask.items() if crumb)
        return self._all_selected

    def _prune(self, record: Record) -> Record:
        """The record less deselected properties and keys the schema lacks (see below).

        Deselected properties are popped only if some are deselected; keys the schema lacks
        (only rows not built by `RecordNormaliser` can have any) are dropped, as the SDK's
        conformance did.
        """
        if not self._every_property_selected():
            pop_deselected_record_properties(record, self.schema, self.mask)
        if not self._open_schema and not self._property_names.issuperset(record):
            unknown = sorted(set(record) - self._property_names)
            if not self._warned_unknown.issuperset(unknown):
                self._warned_unknown.update(unknown)
                self.logger.warning(
                    "%s: properties not in the schema are left out: %s", self.name, unknown
                )
            record = {key: value for key, value in record.items() if key in self._property_names}
        return record

    def _pruned(self, records: list[Record]) -> list[Record]:
        """`_prune` of each record: the records themselves when none has anything to prune."""
        if self._every_property_selected() and (
            self._open_schema or all(map(self._property_names.issuperset, records))
        ):
            return records
        return [self._prune(record) for record in records]

    def _generate_record_messages(self, record: Record) -> Generator[RecordMessage, None, None]:
        """RECORD messages for one record (replaces the SDK's): `_prune`, then the stream maps."""
        record = self._prune(record)
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _write_record_message(self, record: Record) -> None:
        """One RECORD message, written as `_sync_pages` writes a page when it can be."""
        alias = self._direct_record_alias()
        if not alias:
            super()._write_record_message(record)
            return
        self._write_page(alias, [record], lambda written: None)

    def _write_page(self, alias: str, records: list[Record], count: Callable[[int], None]) -> None:
        """RECORD messages for ``records``, straight from the records (no stream map applies).

        The tap's own writer encodes the page in one call, and its records share one
        ``time_extracted`` (the page's); any other writer (an in-process host's, the Lakeflow
        bridge's) gets the messages one by one, as from the SDK. ``count`` hears how many
        reached the writer, also when it stops partway (the bridge's sink, when full).
        """
        records = self._pruned(records)
        writer = self._zoho_tap.message_writer
        self.state_manager.is_flushed = False
        if isinstance(writer, ZohoMessageWriter):
            writer.write_records(alias, records, self._stream_version, utc_now())
            count(len(records))
            return
        for record in records:
            self._zoho_tap.write_message(
                RecordMessage(
                    stream=alias,
                    record=record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )
            )
            count(1)

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[Record, None, None]:
        """The SDK's record loop, or `_sync_pages` when nothing needs a step per record.

        The SDK's loop takes about ten steps per record (the record limit, ``post_process``,
        the message, the bookmark, the counter, the STATE cadence); with the page path and
        the page-wide writes and bookmark it allows, the tap's CPU per record fell by about a
        sixth (docs/performance.md). The SDK's loop is kept for what needs it: a context or
        partitions, child streams, a dry run's record limit, ``post_process``, stream maps or
        flattening.
        """
        alias = self._direct_record_alias() if write_messages and self.selected else ""
        if (
            not alias
            or context is not None
            or self.partitions
            or self.child_streams
            or self.ABORT_AT_RECORD_COUNT is not None
            or type(self).post_process is not Stream.post_process
        ):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        self._sync_pages(alias)

    def _sync_pages(self, alias: str) -> None:
        """The SDK's record loop for a whole stream, a page at a time.

        Per page: its RECORD messages in one write (`ZohoMessageWriter.write_records`), the
        bookmark advanced over them (`_advance_state`), the counter moved by their number. A
        STATE follows each page that crosses a multiple of `STATE_MSG_FREQUENCY` records: the
        SDK's loop sends it at the multiple itself, which is the same place for Zoho's pages
        of 200, and at most a page later for shorter ones (a ``page_size`` that does not divide
        1,000, skipped records, a window's last page). Each STATE holds exactly the bookmark of
        the records written before it. Then the SDK's ending: the state finalised and a last
        STATE.
        """
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        written = 0
        with record_counter, timer:
            record_counter.with_context({})
            timer.with_context({})
            self._write_starting_replication_value(None)
            for page in self._record_pages(None):
                if not page:
                    continue
                self._write_page(alias, page, record_counter.increment)
                self._advance_state(page)
                before, written = written, written + len(page)
                if written // self.STATE_MSG_FREQUENCY > before // self.STATE_MSG_FREQUENCY:
                    self._write_state_message()
            self._finalize_state(self.get_context_state(None))
        self._finalize_state(self.stream_state)
        self._write_state_message()

    def _direct_record_alias(self) -> str:
        """The stream's alias if its records can skip the SDK's message path, else ``""``.

        They can without stream maps or flattening (the map is the SDK's identity,
        `SameRecordTransform`): the SDK's path would build a generator and a `RecordMessage`
        per record for the same message.
        """
        if self._direct_alias is None:
            maps = self.stream_maps
            direct = (
                len(maps) == 1
                and type(maps[0]) is SameRecordTransform
                and not maps[0].flattening_enabled
            )
            self._direct_alias = maps[0].stream_alias if direct else ""
        return self._direct_alias

    def _process_record(
        self,
        record: Record,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """Nothing to do per record without SDK child streams or partition keys (none here)."""
        if self.child_streams or partition_context:
            super()._process_record(record, child_context, partition_context)

    # -- bookmarks ----------------------------------------------------------------------------

    def _load_bookmark(self, context: Context | None) -> Bookmark | None:
        if not self.replication_key or self.replication_method != REPLICATION_INCREMENTAL:
            return None
        return Bookmark.bind(self.get_context_state(context), self.replication_key)

    def _warn_if_future(self) -> None:
        """A bookmark or start_date in the future reads nothing: say so instead of silence."""
        if self._bookmark is None:
            return
        now = dt.datetime.now(dt.UTC)
        start_date = self.settings.start_date if self.honours_start_date else None
        instant = self._bookmark.instant
        if instant is not None and instant > now + FUTURE_SLACK:
            self.logger.warning(
                "%s: the state's bookmark %s is in the future (now %s): records modified "
                "before it are not read; check the state file",
                self.name,
                instant.isoformat(),
                now.replace(microsecond=0).isoformat(),
            )
        elif start_date is not None and start_date > now + FUTURE_SLACK:
            self.logger.warning(
                "%s: start_date %s is in the future (now %s): nothing is read until then; "
                "check start_date",
                self.name,
                start_date.isoformat(),
                now.replace(microsecond=0).isoformat(),
            )

    def starting_point(self) -> tuple[dt.datetime | None, set[int]]:
        """Where an incremental read starts (bookmark or start_date) and ids to skip there.

        With ``lookback_seconds``, a read from a bookmark starts that much earlier and skips
        nothing: records already sent in the window come again (idempotent upserts by id), and
        one made visible late with an older Modified_Time is caught.
        """
        start_date = self.settings.start_date if self.honours_start_date else None
        if self._bookmark is None:
            return start_date, set()
        start, skip_ids = self._bookmark.start(start_date)
        lookback = dt.timedelta(seconds=self.settings.lookback_seconds)
        if not lookback or start is None or start != self._bookmark.instant:
            return start, skip_ids
        earlier = start - lookback
        return (max(earlier, start_date) if start_date else earlier), set()

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """The SDK loop's step per record (replaces the SDK's): `_advance_state` of one."""
        self._advance_state([latest_record])

    def _advance_state(self, records: list[Record]) -> None:
        """Advance the bookmark by instant over records just emitted, in their order.

        The ids tied at the newest instant are remembered (`tap_zoho_crm.bookmarks`); one
        pass per page, however many records.
        """
        if self._bookmark is None or not self.replication_key:
            return
        older = self._bookmark.advance_all(records, self.replication_key)
        if older:
            self.logger.debug("%d records older than the bookmark", older)


class WholePassStream(ZohoStream):
    """A stream whose rows come in no key order, so its state moves only after a whole pass.

    Deleted-records lists, related lists and attachments are read parent by parent or in an
    undocumented order; a bookmark advanced row by row could skip rows a killed run never sent.
    """

    @property
    def is_sorted(self) -> bool:
        """Never: the SDK must not treat a row's key as a resumable position."""
        return False

    def _advance_state(self, records: list[Record]) -> None:
        """Nothing per row: each stream writes its state once its pass is complete."""
