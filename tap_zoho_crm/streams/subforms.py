"""Subform streams (opt-in, ``include_subforms``): one per subform, e.g. ``Quoted_Items``.

Zoho serves subform rows only from a single-record GET of the parent, or from the subform's own
module (``associated_module``) through COQL or Bulk Read; list calls omit them. The stream is
incremental on the parent's ``Modified_Time`` (``_parent_modified_time``): each run walks the
parents modified since the bookmark (one Get Records call per 200 parents) and re-emits the
*whole* current row set of each, so edited and added rows arrive and a consumer can replace a
parent's rows by ``_parent_id`` (the rows with the newest ``_parent_modified_time`` are current).

Read path, measured on the emulator (credits as Zoho charges them):

* COQL, ``select ... from <Subform> where Parent_Id in (<up to 100 ids>)``: one call per 100
  changed parents (LIMIT 200 first, 1 credit; 2,000-row pages after that, 3 credits each).
* single-record GET ``/{parent}/{id}``: one call (1 credit) per changed parent.

COQL is never dearer and is up to 100 times cheaper, so it is used; it needs the
``ZohoCRM.coql.READ`` scope, and when Zoho refuses it (scope, edition, a query it does not
accept) the stream says so once and falls back to single-record GETs for the rest of the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.client.errors import ZohoAPIError, ZohoModuleUnavailableError
from tap_zoho_crm.discovery import StreamDefinition
from tap_zoho_crm.paging import COQL_REACH, IDS_PER_CALL, REPLICATION_KEY, chunk_fields
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since, pages
from tap_zoho_crm.records import format_utc
from tap_zoho_crm.schema import DATA_TYPE, JSON_TYPE, module_schema
from tap_zoho_crm.streams.base import ZohoStream
from tap_zoho_crm.streams.derived import wanted
from tap_zoho_crm.streams.parents import Parent, lookup_id, single_record, walk_parents

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_zoho_crm.discovery import Discovery

KIND_SUBFORM = "subform"
PARENT_ID = "_parent_id"
PARENT_MODULE = "_parent_module"
PARENT_MODIFIED = "_parent_modified_time"
#: Definition extras (kept in the catalog as ``zoho-parent-module`` / ``zoho-parent-field``).
EXTRA_PARENT = "parent-module"
EXTRA_FIELD = "parent-field"

COQL_FIRST_LIMIT = 200  # 1 credit; most batches of 100 parents fit
COQL_PAGE_LIMIT = 2000  # 3 credits; the cheapest per row once a batch has more rows
#: Codes meaning "COQL is not available for this query here": fall back to single GETs.
COQL_FALLBACK_STATUSES = frozenset({400, 401, 403, 404})


def subform_schema(fields: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The subform module's own fields plus the parent's id, module and Modified_Time."""
    schema = module_schema(fields)
    schema["properties"][PARENT_ID] = {
        "type": ["integer"],
        DATA_TYPE: "bigint",
        JSON_TYPE: "string",
    }
    schema["properties"][PARENT_MODULE] = {"type": ["string"]}
    schema["properties"][PARENT_MODIFIED] = {
        "type": ["string"],
        "format": "date-time",
        DATA_TYPE: "datetime",
    }
    return schema


def subform_definition(
    subform: str, parent: str, parent_field: str, fields: Sequence[Mapping[str, Any]]
) -> StreamDefinition:
    """The definition of one subform stream."""
    return StreamDefinition(
        name=subform,
        kind=KIND_SUBFORM,
        module=subform,
        schema=subform_schema(fields),
        replication_key=PARENT_MODIFIED,
        extra={EXTRA_PARENT: parent, EXTRA_FIELD: parent_field},
    )


def subform_fields_of(parent_fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Subform module API name -> the parent's field holding it, from ``settings/fields``."""
    out: dict[str, str] = {}
    for field in parent_fields:
        if field.get("data_type") != "subform":
            continue
        associated = field.get("associated_module")
        module = associated.get("module") if isinstance(associated, Mapping) else None
        if isinstance(module, Mapping):  # some answers nest {"api_name": ...}
            module = module.get("api_name")
        if module and field.get("api_name"):
            out[str(module)] = str(field["api_name"])
    return out


def coql_query(subform: str, columns: Sequence[str], parent_ids: Sequence[int]) -> str:
    """The COQL selecting every row of these parents (ids are digits, so quoting is safe)."""
    ids = ", ".join(f"'{int(parent_id)}'" for parent_id in parent_ids)
    # Names come from Zoho's field metadata and ids are integers: nothing user-typed is quoted in.
    select = ", ".join(columns)
    return f"select {select} from {subform} where Parent_Id in ({ids}) order by id asc"  # noqa: S608


class SubformStream(ZohoStream):
    """Rows of one subform, re-read for every parent modified since the bookmark."""

    kind: ClassVar[str] = KIND_SUBFORM

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._use_coql = True

    @classmethod
    def derived_names(cls, discovery: Discovery) -> list[str]:
        """With ``include_subforms``: every subform module whose parent is a record module."""
        return list(_subform_parents(discovery))

    @classmethod
    def derive_definitions(
        cls, discovery: Discovery, definitions: Sequence[StreamDefinition]
    ) -> list[StreamDefinition]:
        """With ``include_subforms``: one stream per subform of a module stream.

        The parents' field metadata is cached by discovery (it names the parent's field that
        holds the subform); each subform module's own fields cost one ``settings/fields`` call.
        """
        jobs = []
        for subform, parent in _subform_parents(discovery).items():
            if not wanted(discovery.settings, subform, [parent], definitions, discovery.logger):
                continue
            field = subform_fields_of(discovery.fields.get(parent, [])).get(subform)
            if field is None:
                discovery.logger.warning(
                    "Skipping subform %s: no field of %s holds it", subform, parent
                )
                continue
            jobs.append((subform, parent, field))

        def build(job: tuple[str, str, str]) -> StreamDefinition | None:
            subform, parent, field = job
            try:
                response = discovery.client.get("settings/fields", params={"module": subform})
            except ZohoModuleUnavailableError as exc:
                discovery.logger.warning("Skipping subform %s: %s", subform, exc.code)
                return None
            fields = response.items("fields")
            if not fields:
                discovery.logger.warning("Skipping subform %s: Zoho lists no fields", subform)
                return None
            return subform_definition(subform, parent, field, fields)

        built = discovery.client.map_concurrent(build, jobs)
        return [definition for definition in built if definition is not None]

    @property
    def parent_module(self) -> str:
        """The module whose records hold this subform."""
        return str(self.definition.extra[EXTRA_PARENT])

    @property
    def parent_field(self) -> str:
        """The parent's field (API name) holding this subform."""
        return str(self.definition.extra[EXTRA_FIELD])

    @property
    def columns(self) -> list[str]:
        """The subform module's selected fields (what COQL selects; id and Parent_Id always)."""
        own = {PARENT_ID, PARENT_MODULE, PARENT_MODIFIED}
        return [
            name
            for name in self.schema.get("properties", {})
            if name not in own and (name in {"id", "Parent_Id"} or self.mask[("properties", name)])
        ]

    def _advance_state(self, records: list[Record]) -> None:
        """Nothing per row: the bookmark moves when all rows of a parent are out (see below)."""

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Rows of each changed parent, parents in Modified_Time order.

        The bookmark (the parent's Modified_Time, with the parent ids at that instant) moves
        only after the last row of a parent was emitted, so a resumed sync never skips the
        rest of a parent it had started.
        """
        start, skip_ids = self.starting_point()
        for page in walk_parents(
            self.client,
            self.parent_module,
            page_size=self.settings.page_size,
            since=start,
            skip_ids=skip_ids,
            logger=self.logger,
            screen=self.screener(REPLICATION_KEY, f"parent {self.parent_module} record"),
        ):
            rows = self._rows_for(page)
            for parent in page:
                stamp = format_utc(parent.modified)
                for row in rows.get(parent.id, []):
                    row[PARENT_ID] = parent.id
                    row[PARENT_MODULE] = self.parent_module
                    row[PARENT_MODIFIED] = stamp
                    yield row
                if self._bookmark is not None:
                    self._bookmark.advance(parent.modified, parent.id)

    # -- the two read paths -------------------------------------------------------------------

    def _rows_for(self, parents: list[Parent]) -> dict[int, list[dict[str, Any]]]:
        """Current rows of these parents, by parent id."""
        ids = [parent.id for parent in parents]
        if self._use_coql:
            try:
                return self._rows_by_coql(ids)
            except ZohoAPIError as exc:
                if exc.status not in COQL_FALLBACK_STATUSES:
                    raise
                self._use_coql = False
                self.logger.warning(
                    "%s: COQL refused (%s %s: %s); reading the rows with one single-record "
                    "GET per changed %s record instead (1 call each)",
                    self.name,
                    exc.status,
                    exc.code,
                    exc.zoho_message,
                    self.parent_module,
                )
        return self._rows_by_get(ids)

    def _rows_by_coql(self, parent_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        by_parent: dict[int, list[dict[str, Any]]] = defaultdict(list)
        batches = [
            parent_ids[i : i + IDS_PER_CALL] for i in range(0, len(parent_ids), IDS_PER_CALL)
        ]
        chunks = chunk_fields(self.columns, leading=("id", "Parent_Id"))
        for batch in batches:
            merged: dict[int, dict[str, Any]] = {}
            for chunk in chunks:
                for raw in self.screener(None, "row")(self._coql_rows(chunk, batch), False):
                    # The screen lets only rows with a usable (integer) id through.
                    row_id = int(raw["id"])
                    merged.setdefault(row_id, {}).update(raw)
            for row in merged.values():
                parent_id = lookup_id(row.get("Parent_Id"))
                if parent_id is not None:
                    by_parent[parent_id].append(self.normalise(row))
        return by_parent

    def _coql_rows(self, columns: list[str], parent_ids: list[int]) -> list[dict[str, Any]]:
        """Every row of one COQL query, paged by OFFSET (1-credit page first)."""
        query = coql_query(self.definition.module, columns, parent_ids)
        rows: list[dict[str, Any]] = []
        offset, limit = 0, COQL_FIRST_LIMIT
        while True:
            if offset + limit > COQL_REACH:
                raise ZohoAPIError(
                    status=200,
                    code="COQL_REACH",
                    message=f"more than {COQL_REACH} rows for {len(parent_ids)} parents",
                    path="coql",
                )
            response = self.client.post_json(
                "coql", {"select_query": f"{query} limit {limit} offset {offset}"}
            )
            if response.is_empty:
                return rows
            rows.extend(response.items("data"))
            if not response.info.get("more_records"):
                return rows
            offset += limit
            limit = COQL_PAGE_LIMIT

    def _rows_by_get(self, parent_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        results = self.client.map_concurrent(self._rows_of_parent, parent_ids)
        return dict(zip(parent_ids, results, strict=True))

    def _rows_of_parent(self, parent_id: int) -> list[dict[str, Any]]:
        """The subform rows of one parent, from its single-record GET (none if it is gone)."""
        record = single_record(
            self.client, self.parent_module, parent_id, params={"fields": self.parent_field}
        )
        if record is None:
            return []
        rows = record.get(self.parent_field) or []
        rows = [self.normalise(row) for row in rows if isinstance(row, dict)]
        return self.screener(None, f"row of {self.parent_module} record {parent_id}")(rows, False)

    # -- plan (read_plan.py) ----------------------------------------------------------------------

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """The parent walk, then one COQL call per 100 changed parents (1 credit if <= 200 rows).

        Assumes COQL is allowed; without it, one single-record GET per changed parent.
        """
        since, skip_ids = self.planned_start()
        parents = max(0, counts.since(self.parent_module, since) - len(skip_ids))
        coql = -(-parents // IDS_PER_CALL) * len(
            chunk_fields(self.columns, leading=("id", "Parent_Id"))
        )
        calls = pages(parents, self.settings.page_size) + coql
        return ReadPlan(
            self.name,
            f"rows of {self.parent_module} changed {describe_since(since)}",
            calls=calls,
            credits=calls,
            records=None,
            note=f"{parents} parent(s)",
        )


def _subform_parents(discovery: Discovery) -> dict[str, str]:
    """Subform module -> parent module, for subforms of record modules (opt-in)."""
    if not discovery.settings.include_subforms:
        return {}
    out = {}
    for entry in discovery.entries:
        parent = entry.get("parent_module")
        parent_name = parent.get("api_name") if isinstance(parent, Mapping) else None
        if entry.get("generated_type") == KIND_SUBFORM and parent_name in discovery.modules:
            out[str(entry["api_name"])] = str(parent_name)
    return out
