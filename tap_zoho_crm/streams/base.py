"""ZohoStream: what every stream kind shares.

Streams subclass ``singer_sdk.Stream`` (not RESTStream): every request goes through the tap's
one `ZohoClient`. Two private SDK hooks are used on purpose (singer-sdk is pinned to 0.54):

* ``_increment_stream_state`` is replaced: the SDK compares bookmark strings, ours compares
  instants and keeps the ids tied at the bookmark (`tap_zoho_crm.bookmarks`).
* ``_write_state_message`` is called when the daily credit budget runs out, so that stop is
  resumable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL

from tap_zoho_crm.bookmarks import Bookmark
from tap_zoho_crm.client.errors import (
    TapZohoCrmError,
    ZohoCreditsExhaustedError,
    ZohoModuleUnavailableError,
)
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import RecordNormaliser, parse_instant

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_zoho_crm.client.http import ZohoClient
    from tap_zoho_crm.config import ZohoSettings
    from tap_zoho_crm.discovery import Discovery, StreamDefinition
    from tap_zoho_crm.tap import TapZohoCrm


class ZohoStream(Stream):
    """A stream built from a `StreamDefinition`, reading through the tap's client."""

    #: Emit STATE at least this often, so a killed sync resumes close to where it stopped.
    STATE_MSG_FREQUENCY = 1000

    #: Records are parsed JSON already (no Python dates or decimals to convert), so only the
    #: top level is checked against the schema; nested conformance cost a third of a sync's CPU.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY

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

    # -- records ----------------------------------------------------------------------------

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any] | Effect]:
        """Yield this stream's records and `Effect` steps; subclasses implement the kind's read."""
        raise NotImplementedError

    def read_ahead(self) -> Iterable[Any]:
        """This stream's read, started before its turn (`tap_zoho_crm.reading.readahead`)."""
        self._bookmark = self._load_bookmark(None)
        return self.read_records(None)

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Run the kind's read, skipping an unavailable module with one warning.

        A read yields records and `Effect` steps; each step runs here, after the records
        before it were emitted (and so whether the read ran ahead or not).
        """
        calls_before = sum(self.client.calls.values())
        finished = False
        try:
            ahead = self._zoho_tap.read_ahead.turn(self) if context is None else None
            if ahead is None:
                self._bookmark = self._load_bookmark(context)
            for item in ahead if ahead is not None else self.read_records(context):
                if isinstance(item, Effect):
                    item()
                else:
                    yield item
            finished = True
        except ZohoModuleUnavailableError as exc:
            if not self.settings.skip_unavailable_streams:
                exc.stream = self.name
                raise
            finished = True
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
            raise
        finally:
            if not finished:
                self._zoho_tap.read_ahead.cancel()
            self.logger.info(
                "Stream %s made %d API calls",
                self.name,
                sum(self.client.calls.values()) - calls_before,
            )

    # -- bookmarks ----------------------------------------------------------------------------

    def _load_bookmark(self, context: Context | None) -> Bookmark | None:
        if not self.replication_key or self.replication_method != REPLICATION_INCREMENTAL:
            return None
        return Bookmark.bind(self.get_context_state(context), self.replication_key)

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
        """Advance the bookmark by instant, remembering ids tied at it (replaces the SDK's)."""
        if self._bookmark is None or not self.replication_key:
            return
        value = latest_record.get(self.replication_key)
        if value is None or latest_record.get("id") is None:
            return
        if not self._bookmark.advance(parse_instant(value), int(latest_record["id"])):
            self.logger.debug("Record %s is older than the bookmark", latest_record.get("id"))


class WholePassStream(ZohoStream):
    """A stream whose rows come in no key order, so its state moves only after a whole pass.

    Deleted-records lists, related lists and attachments are read parent by parent or in an
    undocumented order; a bookmark advanced row by row could skip rows a killed run never sent.
    """

    @property
    def is_sorted(self) -> bool:
        """Never: the SDK must not treat a row's key as a resumable position."""
        return False

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """Nothing per row: each stream writes its state once its pass is complete."""
