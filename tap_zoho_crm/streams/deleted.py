"""``<Module>_deleted``: the records Zoho lists as deleted (recycle bin and permanent).

Read from ``GET /crm/v8/{module}/deleted?type=all`` with ``If-Modified-Since`` = the bookmark,
every page of it. Zoho documents no order for this list (the emulator serves it by id, newest
id first), so nothing assumes one: every entry is checked against the bookmark client-side, and
the bookmark (the greatest ``deleted_time`` seen, with the ids deleted at that instant) moves
only when the whole list has been read. A sync killed half-way re-reads the list from the old
bookmark; entries already sent come again, none is lost. A list longer than Zoho's paging
reaches is read further where the API allows, and otherwise reported (`DeletedStream._entries`).

Zoho keeps recycle-bin entries 60 days and permanent deletes 120 days, so a bookmark older than
that can have missed deletes; the stream says so in a warning.

Optionally (``emit_tombstones``) each entry is also sent into the module's own stream as
``{"id", "Modified_Time", "_sdc_deleted_at"}``, so a target with hard delete drops the row. It is
off by default because a target without it upserts that tombstone like any record: SQL targets
overwrite the row's columns with nulls, file targets append a near-empty record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Generator, Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.client.errors import ZohoAPIError, ZohoPaginationError
from tap_zoho_crm.discovery import KIND_MODULE, StreamDefinition
from tap_zoho_crm.paging import MAX_PER_PAGE, REPLICATION_KEY, Page, if_modified_since, token_walk
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import format_utc, parse_instant
from tap_zoho_crm.schema import DATA_TYPE, JSON_TYPE, lookup_schema
from tap_zoho_crm.streams.base import WholePassStream, ZohoStream
from tap_zoho_crm.streams.derived import wanted

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_zoho_crm.discovery import Discovery

KIND_DELETED = "deleted"
SUFFIX = "_deleted"
DELETED_TIME = "deleted_time"
DELETED_FLAG = "_zoho_deleted"
#: The record-metadata column Singer targets read as "this row was deleted at".
TOMBSTONE_COLUMN = "_sdc_deleted_at"

#: How long Zoho lists a deletion, by entry type.
#: State key: when the last complete read of the deleted list began (see retention_warning).
LAST_READ = "deleted_list_read_at"
RETENTION = {"recycle": dt.timedelta(days=60), "permanent": dt.timedelta(days=120)}

#: Answers meaning "this module has no deleted-records list" (e.g. some linking modules).
UNSUPPORTED_CODES = frozenset({"INVALID_URL_PATTERN", "NOT_SUPPORTED", "INVALID_MODULE"})

#: Re-anchored reads of one capped list (each must move past the previous one's last entry).
MAX_REANCHORS = 1000


def deleted_name(module: str) -> str:
    """The deleted-records stream of a module."""
    return f"{module}{SUFFIX}"


def deleted_schema() -> dict[str, Any]:
    """The fixed schema of every deleted-records stream (the fields the seed doc names)."""

    def user() -> dict[str, Any]:
        return {**lookup_schema(), DATA_TYPE: "ownerlookup", JSON_TYPE: "jsonobject"}

    return {
        "type": ["object"],
        "properties": {
            "id": {"type": ["integer"], DATA_TYPE: "bigint", JSON_TYPE: "string"},
            DELETED_TIME: {"type": ["string"], "format": "date-time", DATA_TYPE: "datetime"},
            "deleted_by": user(),
            "created_by": user(),
            "type": {"type": ["string", "null"], DATA_TYPE: "picklist"},
            "display_name": {"type": ["string", "null"], DATA_TYPE: "text"},
            DELETED_FLAG: {"type": ["boolean"]},
        },
    }


def deleted_definition(module: str) -> StreamDefinition:
    """The definition of ``<module>_deleted``."""
    return StreamDefinition(
        name=deleted_name(module),
        kind=KIND_DELETED,
        module=module,
        schema=deleted_schema(),
        replication_key=DELETED_TIME,
    )


def with_tombstone_column(definitions: Sequence[StreamDefinition]) -> list[StreamDefinition]:
    """Add ``_sdc_deleted_at`` to the schema of every module stream that has a deleted stream.

    The column must be in the module's schema: the SDK drops record keys its schema lacks.
    """
    with_deletes = {d.module for d in definitions if d.kind == KIND_DELETED}
    out = []
    for definition in definitions:
        props = definition.schema.get("properties", {})
        if (
            definition.kind != KIND_MODULE
            or definition.module not in with_deletes
            or TOMBSTONE_COLUMN in props
        ):
            out.append(definition)
            continue
        column = {"type": ["string", "null"], "format": "date-time"}
        schema = {**definition.schema, "properties": {**props, TOMBSTONE_COLUMN: column}}
        out.append(dataclasses.replace(definition, schema=schema))
    return out


def retention_warning(last_read: dt.datetime, now: dt.datetime, module: str) -> str | None:
    """The warning when the deleted list was last read longer ago than Zoho keeps deletions.

    Measured from the last complete read of the list (``LAST_READ`` in the state), not from
    the newest deletion seen: a module without deletions for months has lost nothing.
    """
    age = now - last_read
    lost = [kind for kind, keep in RETENTION.items() if age > keep]
    if not lost:
        return None
    kinds = " and ".join(f"{kind} ({RETENTION[kind].days} days)" for kind in lost)
    return (
        f"{deleted_name(module)}: the deleted list was last read {age.days} days ago "
        f"({last_read.isoformat()}), longer than Zoho keeps {kinds} deletions; deletes of "
        f"{module} since then may have been missed; comparing the {module} table's ids with a "
        "fresh full sync finds them."
    )


class DeletedStream(WholePassStream):
    """Deleted records of one module, incremental on ``deleted_time``."""

    kind: ClassVar[str] = KIND_DELETED
    reads_ahead: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tombstone_stream: ZohoStream | None = None
        self._tombstones_checked = False

    @classmethod
    def derived_names(cls, discovery: Discovery) -> list[str]:
        """``<Module>_deleted`` of every record module (linking ones too, where Zoho has it)."""
        return [deleted_name(module) for module in discovery.modules]

    @classmethod
    def derive_definitions(
        cls, discovery: Discovery, definitions: Sequence[StreamDefinition]
    ) -> list[StreamDefinition]:
        """One deleted-records stream per module stream; no API call."""
        return [
            deleted_definition(module)
            for module in discovery.modules
            if wanted(
                discovery.settings,
                deleted_name(module),
                [module],
                definitions,
                discovery.logger,
                follows_bases=True,
            )
        ]

    @property
    def module(self) -> str:
        """The module whose deletions this stream lists."""
        return self.definition.module

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any] | Effect]:
        """Every deletion after the bookmark, then the bookmark moves to the newest one."""
        start, skip_ids = self.starting_point()
        state = self.get_context_state(context)
        started = dt.datetime.now(dt.UTC)
        if self._bookmark is not None and self._bookmark.instant is not None:
            # States written before LAST_READ existed fall back on the bookmark (once).
            last_read = state.get(LAST_READ)
            since = parse_instant(str(last_read)) if last_read else self._bookmark.instant
            warning = retention_warning(since, started, self.module)
            if warning:
                self.logger.warning(warning)
        newest: dt.datetime | None = None
        newest_ids: set[int] = set()
        emitted: set[int] = set()
        for record in self._entries(start):
            instant = parse_instant(record[DELETED_TIME])
            record_id = int(record["id"])
            if start is not None and (
                instant < start or (instant == start and record_id in skip_ids)
            ):
                continue
            if record_id in emitted:
                continue
            emitted.add(record_id)
            if newest is None or instant > newest:
                newest, newest_ids = instant, {record_id}
            elif instant == newest:
                newest_ids.add(record_id)
            yield record
            if self._tombstone_target() is not None:
                yield Effect(partial(self._send_tombstone, record))
        yield Effect(partial(self._finish_read, newest, newest_ids, state, started))

    def _finish_read(
        self,
        newest: dt.datetime | None,
        ids: set[int],
        state: dict[str, Any],
        started: dt.datetime,
    ) -> None:
        """The whole list is emitted: move the bookmark and note when the list was read.

        The read time feeds the retention warning (`LAST_READ`).
        """
        if self._bookmark is None:
            return
        if newest is not None:
            for record_id in sorted(ids):
                self._bookmark.advance(newest, record_id)
        state[LAST_READ] = format_utc(started)

    def _entries(self, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
        """Every entry since ``since`` (repeats possible), as far as Zoho's paging reaches.

        The list is capped like every list (2,000 entries by ``page``; 100,000 by
        ``page_token``, if this endpoint hands tokens out at all, which Zoho leaves open). A
        capped list is read further where the API allows: if it came in ``deleted_time`` order,
        from its last entry on; otherwise as two shorter lists, recycle-bin and permanent
        deletes apart. What even that cannot reach is reported in a warning, and the bookmark
        still moves, so that the stream is not stuck re-reading the same capped list forever.
        """
        try:
            for types in (("all",), ("recycle", "permanent")):
                complete = True
                for entry_type in types:
                    complete = (yield from self._entries_of_type(entry_type, since)) and complete
                if complete:
                    return
        except ZohoAPIError as exc:
            if exc.code not in UNSUPPORTED_CODES:
                raise
            self.logger.warning(
                "Skipping stream %s: Zoho has no deleted-records list for %s (%s)",
                self.name,
                self.module,
                exc.code,
            )
            return
        self.logger.warning(
            "%s: Zoho's deleted-records list of %s since %s is longer than its paging reaches, "
            "and did not come in deleted_time order, so some deletions may be missing from "
            "this run (and their rows may linger in the target). Sync more often so that the "
            "list stays short; a full resync of %s compared by id finds any that were missed.",
            self.name,
            self.module,
            format_utc(since) if since is not None else "the start",
            self.module,
        )

    def _entries_of_type(
        self, entry_type: str, since: dt.datetime | None
    ) -> Generator[dict[str, Any], None, bool]:
        """The entries of one list type; returns whether the list was read to its end."""
        anchor = since
        for _ in range(MAX_REANCHORS):
            headers = if_modified_since(anchor)

            def fetch(
                token: str | None, page: int, headers: dict[str, str] = headers
            ) -> Page | None:
                params: dict[str, Any] = {"type": entry_type, "per_page": MAX_PER_PAGE}
                if token:
                    params["page_token"] = token
                elif page > 1:
                    params["page"] = page
                response = self.client.get(f"{self.module}/deleted", params=params, headers=headers)
                if response.is_empty:
                    return None
                return Page.from_info(response.items("data"), response.info)

            ordered, last = True, None
            try:
                for page in token_walk(fetch):
                    # Paged by token, not by its last entry: a page of bad ones ends nothing.
                    entries = [{**self.normalise(raw), DELETED_FLAG: True} for raw in page]
                    for entry in self.screener(DELETED_TIME, "deleted entry")(entries, False):
                        instant = parse_instant(entry[DELETED_TIME])
                        ordered = ordered and (last is None or instant >= last)
                        last = instant if last is None else max(last, instant)
                        yield entry
            except ZohoPaginationError as exc:
                self.logger.info(
                    "%s: the %s list stopped at Zoho's paging cap (%s)",
                    self.name,
                    entry_type,
                    exc.code,
                )
                if not ordered or last is None or (anchor is not None and last <= anchor):
                    return False
                anchor = last  # in deleted_time order: everything before `last` is read
            else:
                return True
        return False

    # -- tombstones ---------------------------------------------------------------------------

    def _tombstone_target(self) -> ZohoStream | None:
        """The module stream tombstones go to, if enabled and that stream is being synced."""
        if not self._tombstones_checked:
            self._tombstones_checked = True
            if self.settings.emit_tombstones:
                stream = self._zoho_tap.streams.get(self.module)
                props = stream.schema.get("properties", {}) if stream is not None else {}
                if isinstance(stream, ZohoStream) and stream.selected and TOMBSTONE_COLUMN in props:
                    self._tombstone_stream = stream
                else:
                    self.logger.info(
                        "%s: no tombstones, the %s stream is not selected", self.name, self.module
                    )
        return self._tombstone_stream

    def _send_tombstone(self, record: dict[str, Any]) -> None:
        """Write ``{id, Modified_Time, _sdc_deleted_at}`` into the module's stream.

        Through the module stream's own message path, so its stream maps and selection apply;
        the module's SCHEMA is already out, since streams sync in name order and ``X`` sorts
        before ``X_deleted``.
        """
        stream = self._tombstone_target()
        # Scheduled only once the target is known (`read_records`), which never changes after.
        assert stream is not None  # noqa: S101
        tombstone = {"id": record["id"], TOMBSTONE_COLUMN: record[DELETED_TIME]}
        if REPLICATION_KEY in stream.schema.get("properties", {}):
            tombstone[REPLICATION_KEY] = record[DELETED_TIME]
        for message in stream._generate_record_messages(tombstone):
            self._tap.write_message(message)

    # -- plan (read_plan.py) ----------------------------------------------------------------------

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """One call per 200 deletions listed; Zoho has no count for them, so one is assumed."""
        del counts
        since, _ = self.planned_start()
        return ReadPlan(
            self.name,
            "deletions " + describe_since(since),
            calls=1,
            credits=1,
            note="1 call per 200 deletions (not counted beforehand)",
        )
