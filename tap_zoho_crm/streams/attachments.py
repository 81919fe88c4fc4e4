"""``Attachments`` (opt-in, ``include_attachments``): file metadata of every record, append-only.

Zoho lists attachments only per parent record (``GET /{module}/{id}/Attachments``), so every run
costs one call per record of every module that has attachments, plus the parent walk:
``sum over modules of ceil(N / 200) + N`` calls. That is why the stream is off by default.

Each call sends ``If-Modified-Since`` = the bookmark, so only attachments added (or changed)
since the last run come back: the stream appends. Rows arrive parent by parent, in no time
order, so the bookmark (the newest attachment ``Modified_Time`` seen) is set once the pass is
complete, and never later than the moment the pass began: an attachment uploaded to an
already-visited record during the pass is older than one uploaded later to a record visited
after it, and must still be found by the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.client.errors import ZohoModuleUnavailableError
from tap_zoho_crm.discovery import StreamDefinition
from tap_zoho_crm.paging import REPLICATION_KEY
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since, pages
from tap_zoho_crm.records import parse_instant, to_int_id
from tap_zoho_crm.schema import DATA_TYPE, JSON_TYPE, lookup_schema
from tap_zoho_crm.streams.base import WholePassStream
from tap_zoho_crm.streams.derived import module_names, wanted
from tap_zoho_crm.streams.parents import Parent, related_rows, walk_parents

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_zoho_crm.discovery import Discovery

KIND_ATTACHMENTS = "attachments"
ATTACHMENTS = "Attachments"
PARENT_ID = "_parent_id"
PARENT_MODULE = "_parent_module"
#: Definition extra (``zoho-parent-modules`` in the catalog): modules with an Attachments list.
EXTRA_MODULES = "parent-modules"

#: What the related-list call is asked for (``fields`` is mandatory there).
FIELDS = (
    "id",
    "File_Name",
    "Size",
    "Owner",
    "Created_By",
    "Modified_By",
    "Created_Time",
    "Modified_Time",
    "Parent_Id",
)
#: System keys kept, under plain names.
SYSTEM_KEYS = {"$file_id": "File_Id", "$type": "Attachment_Type", "$link_url": "Link_Url"}

#: The bookmark stays this far behind the pass's start, for clock skew between us and Zoho.
CLOCK_MARGIN = dt.timedelta(minutes=5)


def attachments_schema() -> dict[str, Any]:
    """The fixed schema of the Attachments stream (metadata only, never file contents)."""

    def user() -> dict[str, Any]:
        return {**lookup_schema(), DATA_TYPE: "ownerlookup", JSON_TYPE: "jsonobject"}

    def text() -> dict[str, Any]:
        return {"type": ["string", "null"], DATA_TYPE: "text"}

    return {
        "type": ["object"],
        "properties": {
            "id": {"type": ["integer"], DATA_TYPE: "bigint", JSON_TYPE: "string"},
            "File_Name": text(),
            "Size": {"type": ["integer", "null"], DATA_TYPE: "bigint"},
            "Owner": user(),
            "Created_By": user(),
            "Modified_By": user(),
            "Created_Time": {
                "type": ["string", "null"],
                "format": "date-time",
                DATA_TYPE: "datetime",
            },
            REPLICATION_KEY: {"type": ["string"], "format": "date-time", DATA_TYPE: "datetime"},
            "Parent_Id": {**lookup_schema(), DATA_TYPE: "lookup", JSON_TYPE: "jsonobject"},
            PARENT_ID: {"type": ["integer"], DATA_TYPE: "bigint", JSON_TYPE: "string"},
            PARENT_MODULE: {"type": ["string"]},
            "File_Id": text(),
            "Attachment_Type": text(),
            "Link_Url": text(),
        },
    }


def attachments_definition(parent_modules: Sequence[str]) -> StreamDefinition:
    """The definition of the Attachments stream over these parent modules."""
    return StreamDefinition(
        name=ATTACHMENTS,
        kind=KIND_ATTACHMENTS,
        module=ATTACHMENTS,
        schema=attachments_schema(),
        replication_key=REPLICATION_KEY,
        extra={EXTRA_MODULES: list(parent_modules)},
    )


class AttachmentsStream(WholePassStream):
    """Attachment metadata of every record of the parent modules, new since the bookmark."""

    kind: ClassVar[str] = KIND_ATTACHMENTS
    sync_tier: ClassVar[int] = 1

    @classmethod
    def derived_names(cls, discovery: Discovery) -> list[str]:
        """``Attachments``, with ``include_attachments``."""
        return [ATTACHMENTS] if discovery.settings.include_attachments else []

    @classmethod
    def derive_definitions(
        cls, discovery: Discovery, definitions: Sequence[StreamDefinition]
    ) -> list[StreamDefinition]:
        """With ``include_attachments``: one stream over the module streams with attachments.

        Which modules have an Attachments related list costs one ``settings/related_lists``
        call per module stream.
        """
        settings = discovery.settings
        if not settings.include_attachments:
            return []
        if not wanted(settings, ATTACHMENTS, [], definitions, discovery.logger):
            return []

        def has_attachments(module: str) -> bool:
            try:
                response = discovery.client.get("settings/related_lists", params={"module": module})
            except ZohoModuleUnavailableError:
                return False
            return any(
                item.get("api_name") == ATTACHMENTS and item.get("href")
                for item in response.items("related_lists")
            )

        modules = module_names(definitions)
        flags = discovery.client.map_concurrent(has_attachments, modules)
        parents = [module for module, flag in zip(modules, flags, strict=True) if flag]
        return [attachments_definition(parents)] if parents else []

    @property
    def parent_modules(self) -> list[str]:
        """Modules whose records are visited."""
        return [str(name) for name in self.definition.extra.get(EXTRA_MODULES) or []]

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Attachments modified since the bookmark, module by module, parent by parent."""
        cap = dt.datetime.now(dt.UTC) - CLOCK_MARGIN
        start, skip_ids = self.starting_point()
        at_instant: dict[dt.datetime, set[int]] = {}
        for module in self.parent_modules:
            try:
                for row in self._module_rows(module, start):
                    instant = parse_instant(row[REPLICATION_KEY])
                    if start is not None and (
                        instant < start or (instant == start and row["id"] in skip_ids)
                    ):
                        continue
                    at_instant.setdefault(instant, set()).add(int(row["id"]))
                    yield row
            except ZohoModuleUnavailableError as exc:
                self.logger.warning(
                    "%s: skipping the attachments of %s: %s (%s)",
                    self.name,
                    module,
                    exc.code,
                    exc.zoho_message or exc.status,
                )
        # The newest instant emitted that is safely before the pass began (see module doc).
        marks = [instant for instant in at_instant if instant <= cap]
        if marks and self._bookmark is not None:
            mark = max(marks)
            for record_id in sorted(at_instant[mark]):
                self._bookmark.advance(mark, record_id)

    def _module_rows(self, module: str, since: dt.datetime | None) -> Iterable[dict[str, Any]]:
        def rows_of(parent: Parent) -> list[dict[str, Any]]:
            return self._rows_of(module, parent, since)

        for page in walk_parents(
            self.client,
            module,
            page_size=self.settings.page_size,
            logger=self.logger,
            screen=self.screener(REPLICATION_KEY, f"parent {module} record"),
        ):
            for rows in self.client.map_concurrent(rows_of, page):
                yield from rows

    def _rows_of(
        self, module: str, parent: Parent, since: dt.datetime | None
    ) -> list[dict[str, Any]]:
        raw = related_rows(
            self.client,
            module,
            parent.id,
            ATTACHMENTS,
            params={"fields": ",".join(FIELDS)},
            since=since,
        )
        out = []
        # Paged by token, not by the last row: a page of bad rows ends nothing.
        for item in self.screener(REPLICATION_KEY, "attachment")(raw or [], False):
            row = self.normalise(item)
            for key, name in SYSTEM_KEYS.items():
                row[name] = item.get(key)
            row["Size"] = to_int_id(item.get("Size"))
            row[PARENT_ID] = parent.id
            row[PARENT_MODULE] = module
            out.append(row)
        return out

    # -- plan (read_plan.py) ----------------------------------------------------------------------

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """Every record of every module with attachments: its walk, and one call per record."""
        since, _ = self.planned_start()
        walks = fanout = 0
        for module in self.parent_modules:
            records = counts.total(module)
            walks += pages(records, self.settings.page_size)
            fanout += records
        return ReadPlan(
            self.name,
            "attachments changed " + describe_since(since) + ", every parent visited",
            calls=walks + fanout,
            credits=walks + fanout,
            concurrent_calls=fanout,
            note=f"{fanout} parent record(s) in {len(self.parent_modules)} module(s)",
        )
