"""``<Module>_deleted``: the records Zoho lists as deleted (recycle bin and permanent).

Read from ``GET /crm/v8/{module}/deleted?type=all`` with ``If-Modified-Since`` = the bookmark,
every page of it. Zoho documents no order for this list (the emulator serves it by id, newest
id first), so nothing assumes one: every entry is checked against the bookmark client-side, and
the bookmark (the greatest ``deleted_time`` seen, with the ids deleted at that instant) moves
only when the whole list has been read. A sync killed half-way re-reads the list from the old
bookmark; entries already sent come again, none is lost.

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
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.discovery import KIND_MODULE, StreamDefinition
from tap_zoho_crm.paging import MAX_PER_PAGE, REPLICATION_KEY, Page, if_modified_since, token_walk
from tap_zoho_crm.records import parse_instant
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
RETENTION = {"recycle": dt.timedelta(days=60), "permanent": dt.timedelta(days=120)}

#: Answers meaning "this module has no deleted-records list" (e.g. some linking modules).
UNSUPPORTED_CODES = frozenset({"INVALID_URL_PATTERN", "NOT_SUPPORTED", "INVALID_MODULE"})


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


def retention_warning(bookmark: dt.datetime, now: dt.datetime, module: str) -> str | None:
    """The warning for a bookmark older than Zoho keeps deletions, or None."""
    age = now - bookmark
    lost = [kind for kind, keep in RETENTION.items() if age > keep]
    if not lost:
        return None
    kinds = " and ".join(f"{kind} ({RETENTION[kind].days} days)" for kind in lost)
    return (
        f"{deleted_name(module)}: the bookmark {bookmark.isoformat()} is {age.days} days old, "
        f"longer than Zoho keeps {kinds} deletions; deletes of {module} since then may have "
        f"been missed; comparing the {module} table's ids with a fresh full sync finds them."
    )


class DeletedStream(WholePassStream):
    """Deleted records of one module, incremental on ``deleted_time``."""

    kind: ClassVar[str] = KIND_DELETED

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

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every deletion after the bookmark, then the bookmark moves to the newest one."""
        start, skip_ids = self.starting_point()
        if self._bookmark is not None and self._bookmark.instant is not None:
            warning = retention_warning(
                self._bookmark.instant, dt.datetime.now(dt.UTC), self.module
            )
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
            self._send_tombstone(record)
        if newest is not None and self._bookmark is not None:
            for record_id in sorted(newest_ids):
                self._bookmark.advance(newest, record_id)

    def _entries(self, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
        headers = if_modified_since(since)

        def fetch(token: str | None, page: int) -> Page | None:
            params: dict[str, Any] = {"type": "all", "per_page": MAX_PER_PAGE}
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            response = self.client.get(f"{self.module}/deleted", params=params, headers=headers)
            if response.is_empty:
                return None
            return Page.from_info(response.items("data"), response.info)

        try:
            for page in token_walk(fetch):
                for raw in page:
                    if raw.get("id") and raw.get(DELETED_TIME):
                        yield {**self.normalise(raw), DELETED_FLAG: True}
        except ZohoAPIError as exc:
            if exc.code not in UNSUPPORTED_CODES:
                raise
            self.logger.warning(
                "Skipping stream %s: Zoho has no deleted-records list for %s (%s)",
                self.name,
                self.module,
                exc.code,
            )

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
        if stream is None:
            return
        tombstone = {"id": record["id"], TOMBSTONE_COLUMN: record[DELETED_TIME]}
        if REPLICATION_KEY in stream.schema.get("properties", {}):
            tombstone[REPLICATION_KEY] = record[DELETED_TIME]
        for message in stream._generate_record_messages(tombstone):
            self._tap.write_message(message)
