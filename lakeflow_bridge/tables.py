"""Which Lakeflow tables a tap catalog offers, and how each one is ingested.

Built from the catalog alone (no HTTP), so it follows the tap automatically: a module gets
``cdc_with_deletes`` as soon as the catalog has its ``<Module>_deleted`` stream, and ``cdc``
until then. Deleted-records streams are never tables of their own; they feed
``read_table_deletes`` of their module.

==========================  ==================  ==============================================
stream kind                 ingestion type      keys and cursor
==========================  ==================  ==============================================
module with a deleted       cdc_with_deletes    ``["id"]``, ``Modified_Time``
stream
module without one          cdc                 ``["id"]``, ``Modified_Time``
``Users``                   cdc                 ``["id"]``, ``Modified_Time``
Roles, Profiles, Org        snapshot            the catalog's key properties
junction                    snapshot            the catalog's (composite) key properties
``Attachments``             append              the catalog's keys and replication key
subform                     cdc if incremental  the catalog's keys and replication key
==========================  ==================  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SNAPSHOT = "snapshot"
CDC = "cdc"
CDC_WITH_DELETES = "cdc_with_deletes"
APPEND = "append"

MODULE_CURSOR = "Modified_Time"
MODULE_KEY = "id"
ATTACHMENTS = "Attachments"
USERS = "Users"

KIND_MODULE = "module"
KIND_DELETED = "deleted"
KIND_JUNCTION = "junction"
KIND_SETTINGS = "settings"
KIND_SUBFORM = "subform"
KIND_ATTACHMENTS = "attachments"

_SETTINGS_STREAMS = frozenset({"Users", "Roles", "Profiles", "Org"})
_JUNCTION_STREAMS = frozenset({"Campaigns_Leads", "Campaigns_Contacts", "Deals_Contact_Roles"})
_DELETED_SUFFIX = "_deleted"


@dataclass(frozen=True)
class TableSpec:
    """One Lakeflow table: the tap stream behind it and how it is read."""

    name: str
    kind: str
    schema: dict[str, Any]
    key_properties: tuple[str, ...]
    ingestion_type: str
    cursor_field: str | None
    replication_key: str | None
    deletes_stream: str | None = None
    deletes_cursor: str | None = None

    @property
    def incremental(self) -> bool:
        """True if batches follow the cursor offset protocol (not a whole snapshot per read)."""
        return self.cursor_field is not None and self.ingestion_type != SNAPSHOT

    @property
    def sorted_by_cursor(self) -> bool:
        """True if the tap promises ascending cursor order (module streams sort on it)."""
        return self.kind == KIND_MODULE and self.replication_key == self.cursor_field

    def metadata(self) -> dict[str, Any]:
        """The ``read_table_metadata`` answer."""
        meta: dict[str, Any] = {
            "primary_keys": list(self.key_properties),
            "ingestion_type": self.ingestion_type,
        }
        if self.cursor_field is not None:
            meta["cursor_field"] = self.cursor_field
        return meta


def tables_from_catalog(catalog: Mapping[str, Any]) -> dict[str, TableSpec]:
    """Every table the catalog offers, by name."""
    entries = [_Entry.of(raw) for raw in catalog.get("streams") or () if isinstance(raw, Mapping)]
    deleted: dict[str, _Entry] = {}
    for entry in entries:
        if entry.kind == KIND_DELETED:
            deleted[_module_from_name(entry.name, KIND_DELETED)] = entry
            deleted[entry.module] = entry
    tables: dict[str, TableSpec] = {}
    for entry in entries:
        if entry.kind == KIND_DELETED:
            continue
        tables[entry.name] = _table(entry, deleted.get(entry.name))
    return dict(sorted(tables.items()))


def _table(entry: _Entry, deleted: _Entry | None) -> TableSpec:
    properties = entry.schema.get("properties") or {}
    keys = entry.key_properties
    cursor = entry.replication_key
    if entry.kind == KIND_MODULE or entry.name == USERS:
        keys = (MODULE_KEY,) if MODULE_KEY in properties else keys
        cursor = MODULE_CURSOR if MODULE_CURSOR in properties else cursor
    if cursor is not None and cursor not in properties:
        cursor = None

    snapshot = (
        cursor is None
        or entry.kind == KIND_JUNCTION
        or (entry.kind == KIND_SETTINGS and entry.name != USERS)
        or (entry.kind == KIND_SUBFORM and entry.replication_key is None)
    )
    if entry.kind == KIND_ATTACHMENTS or entry.name == ATTACHMENTS:
        ingestion = APPEND
    elif snapshot:
        ingestion = SNAPSHOT
    elif entry.kind == KIND_MODULE and deleted is not None:
        ingestion = CDC_WITH_DELETES
    else:
        ingestion = CDC

    if ingestion == SNAPSHOT:
        cursor = None
    return TableSpec(
        name=entry.name,
        kind=entry.kind,
        schema=entry.schema,
        key_properties=keys,
        ingestion_type=ingestion,
        cursor_field=cursor,
        replication_key=entry.replication_key,
        deletes_stream=deleted.name if deleted and ingestion == CDC_WITH_DELETES else None,
        deletes_cursor=deleted.replication_key if deleted else None,
    )


@dataclass(frozen=True)
class _Entry:
    """The parts of a catalog entry the bridge reads."""

    name: str
    kind: str
    module: str
    schema: dict[str, Any]
    key_properties: tuple[str, ...]
    replication_key: str | None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> _Entry:
        name = str(raw.get("tap_stream_id") or raw.get("stream"))
        root: Mapping[str, Any] = {}
        for item in raw.get("metadata") or ():
            if isinstance(item, Mapping) and list(item.get("breadcrumb") or []) == []:
                root = item.get("metadata") or {}
        kind = str(root.get("zoho-stream-kind") or _kind_from_name(name))
        module = str(root.get("zoho-module") or _module_from_name(name, kind))
        keys = root.get("table-key-properties") or raw.get("key_properties") or ()
        replication_key = root.get("replication-key") or raw.get("replication_key")
        schema = raw.get("schema")
        return cls(
            name=name,
            kind=kind,
            module=module,
            schema=dict(schema) if isinstance(schema, Mapping) else {},
            key_properties=tuple(str(k) for k in keys),
            replication_key=str(replication_key) if replication_key else None,
        )


def _kind_from_name(name: str) -> str:
    """Fallback for catalogs without ``zoho-stream-kind`` (e.g. written by hand)."""
    if name.endswith(_DELETED_SUFFIX):
        return KIND_DELETED
    if name in _SETTINGS_STREAMS:
        return KIND_SETTINGS
    if name in _JUNCTION_STREAMS:
        return KIND_JUNCTION
    if name == ATTACHMENTS:
        return KIND_ATTACHMENTS
    return KIND_MODULE


def _module_from_name(name: str, kind: str) -> str:
    if kind == KIND_DELETED and name.endswith(_DELETED_SUFFIX):
        return name[: -len(_DELETED_SUFFIX)]
    return name
