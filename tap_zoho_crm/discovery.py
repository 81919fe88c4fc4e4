"""Discovery: ``settings/modules`` + ``settings/fields`` -> stream definitions, by kind.

A `StreamDefinition` holds everything needed to build a stream, and it round-trips through the
Singer catalog (``zoho-module`` / ``zoho-stream-kind`` metadata + the schema), so a sync given
``--catalog`` rebuilds its streams without asking Zoho for metadata again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_zoho_crm.client.errors import ZohoConfigError, ZohoModuleUnavailableError
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.config import ZohoSettings, check_module_names
from tap_zoho_crm.schema import module_schema
from tap_zoho_crm.settings_schemas import SETTINGS_ENDPOINTS

#: ``generated_type`` values whose records Get Records serves (linking modules back
#: multi-select lookups and read like any module).
RECORD_MODULE_TYPES = frozenset({"default", "custom", "linking"})

KIND_MODULE = "module"
KIND_SETTINGS = "settings"

META_MODULE = "zoho-module"
META_KIND = "zoho-stream-kind"
META_PREFIX = "zoho-"

REPLICATION_KEY = "Modified_Time"


@dataclass(frozen=True)
class StreamDefinition:
    """What a stream is: its name, kind, Zoho module, schema, keys and kind-specific extras."""

    name: str
    kind: str
    module: str
    schema: dict[str, Any]
    primary_keys: tuple[str, ...] = ("id",)
    replication_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def catalog_metadata(self) -> dict[str, Any]:
        """Stream-level catalog metadata that lets a sync rebuild this definition."""
        meta = {META_MODULE: self.module, META_KIND: self.kind}
        meta.update({f"{META_PREFIX}{key}": value for key, value in self.extra.items()})
        return meta

    @classmethod
    def from_catalog_entry(cls, entry: Mapping[str, Any]) -> StreamDefinition:
        """Rebuild from one catalog entry written by this tap's discovery.

        Callers check :func:`catalog_is_self_describing` first; the fallbacks below only keep
        an entry edited by hand (say, a dropped ``zoho-module``) readable.
        """
        name = str(entry.get("tap_stream_id") or entry.get("stream"))
        root: Mapping[str, Any] = {}
        for item in entry.get("metadata") or []:
            if not item.get("breadcrumb"):
                root = item.get("metadata") or {}
                break
        kind = str(
            root.get(META_KIND) or (KIND_SETTINGS if name in SETTINGS_ENDPOINTS else KIND_MODULE)
        )
        module = str(root.get(META_MODULE) or name)
        keys = entry.get("key_properties") or root.get("table-key-properties") or ["id"]
        replication_key = entry.get("replication_key") or root.get("replication-key")
        valid_keys = root.get("valid-replication-keys") or []
        if replication_key is None and valid_keys:
            replication_key = valid_keys[0]
        schema = entry.get("schema")
        if not isinstance(schema, dict) or "properties" not in schema:
            raise ZohoConfigError(f"catalog stream '{name}' has no schema; re-run discovery")
        extra = {
            key[len(META_PREFIX) :]: value
            for key, value in root.items()
            if key.startswith(META_PREFIX) and key not in {META_MODULE, META_KIND}
        }
        return cls(
            name=name,
            kind=kind,
            module=module,
            schema=schema,
            primary_keys=tuple(keys),
            replication_key=replication_key,
            extra=extra,
        )


def catalog_is_self_describing(catalog: Mapping[str, Any]) -> bool:
    """Whether every entry carries the ``zoho-stream-kind`` this tap's discovery writes.

    A catalog without it (hand-written, or passed through a tool that drops unknown metadata)
    cannot say whether ``Campaigns_Leads`` is a junction or ``Leads_deleted`` a deleted-records
    stream, so reading it as modules would query endpoints that do not exist.
    """
    for entry in catalog.get("streams") or []:
        root = next(
            (
                m.get("metadata") or {}
                for m in entry.get("metadata") or []
                if not m.get("breadcrumb")
            ),
            {},
        )
        if META_KIND not in root:
            return False
    return True


def definitions_from_catalog(catalog: Mapping[str, Any]) -> list[StreamDefinition]:
    """Every stream of a catalog dict, rebuilt without any API call."""
    return [StreamDefinition.from_catalog_entry(entry) for entry in catalog.get("streams") or []]


def is_record_module(module: Mapping[str, Any]) -> bool:
    """Whether ``settings/modules`` says Get Records can read this module."""
    return bool(module.get("api_supported")) and module.get("generated_type") in RECORD_MODULE_TYPES


def settings_definition(name: str) -> StreamDefinition:
    """The definition of a settings stream (fixed schema)."""
    _path, _key, schema, replication_key = SETTINGS_ENDPOINTS[name]
    return StreamDefinition(
        name=name,
        kind=KIND_SETTINGS,
        module=name,
        schema=schema,
        replication_key=replication_key,
    )


def module_definition(module: str, fields: Sequence[Mapping[str, Any]]) -> StreamDefinition:
    """The definition of a module stream from its field metadata."""
    schema = module_schema(fields)
    has_key = REPLICATION_KEY in schema["properties"]
    return StreamDefinition(
        name=module,
        kind=KIND_MODULE,
        module=module,
        schema=schema,
        replication_key=REPLICATION_KEY if has_key else None,
    )


class Discovery:
    """Asks Zoho which modules exist and what their fields are."""

    def __init__(
        self,
        client: ZohoClient,
        settings: ZohoSettings,
        logger: logging.Logger | None = None,
        *,
        derived_names: Callable[[Discovery], Iterable[str]] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.logger = logger or logging.getLogger(__name__)
        #: Names of the streams derived from modules (``Leads_deleted``...), so that
        #: include_modules / exclude_modules may name them.
        self.derived_names = derived_names or (lambda _discovery: ())
        #: Every ``settings/modules`` entry (subform modules included).
        self.entries: list[dict[str, Any]] = []
        #: ``settings/modules`` entries of the record modules, by API name.
        self.modules: dict[str, dict[str, Any]] = {}
        #: ``settings/fields`` entries of each module that became a stream.
        self.fields: dict[str, list[dict[str, Any]]] = {}

    def record_modules(self) -> list[str]:
        """API names of the modules Get Records can serve, in Zoho's order."""
        response = self.client.get("settings/modules")
        self.entries = response.items("modules")
        self.modules = {
            str(module["api_name"]): module
            for module in response.items("modules")
            if module.get("api_name") and is_record_module(module)
        }
        return list(self.modules)

    def discover(self) -> list[StreamDefinition]:
        """Stream definitions for every readable module plus the settings streams.

        A module whose fields or first read fail as unavailable (204, INVALID_MODULE,
        NO_PERMISSION, ...) is left out with one warning; it never ends the run.
        """
        modules = self.record_modules()
        settings_names = [name for name in SETTINGS_ENDPOINTS if name not in modules]
        derived = [name for name in self.derived_names(self) if name not in modules]
        check_module_names(self.settings.include_modules, [*modules, *settings_names, *derived])
        chosen = self._chosen([*modules, *settings_names, *derived])
        module_defs = self.client.map_concurrent(
            self._module_definition, [name for name in modules if name in chosen]
        )
        definitions = [definition for definition in module_defs if definition is not None]
        definitions.extend(settings_definition(name) for name in settings_names if name in chosen)
        return definitions

    def _chosen(self, names: Iterable[str]) -> set[str]:
        include = set(self.settings.include_modules)
        exclude = set(self.settings.exclude_modules)
        unknown = sorted(exclude - set(names))
        if unknown:
            self.logger.warning("exclude_modules names no known module: %s", ", ".join(unknown))
        return {name for name in names if (not include or name in include) and name not in exclude}

    def _module_definition(self, module: str) -> StreamDefinition | None:
        try:
            response = self.client.get("settings/fields", params={"module": module})
            fields = response.items("fields")
            if response.is_empty or not fields:
                # Nothing to sync and nothing a user can do (system modules such as
                # Actions_Performed): not worth a warning on every run.
                self.logger.info("No stream for module %s: Zoho lists no fields for it", module)
                return None
            # The cheapest read proves the module is readable in this org and edition
            # (inventory modules are listed but refuse reads in orgs without inventory).
            self.client.get(module, params={"fields": "id", "per_page": 1})
        except ZohoModuleUnavailableError as exc:
            self.logger.warning(
                "Skipping module %s: %s (%s)", module, exc.code, exc.zoho_message or exc.status
            )
            return None
        self.fields[module] = fields
        return module_definition(module, fields)
