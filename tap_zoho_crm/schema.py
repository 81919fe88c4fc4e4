"""PURE: Zoho field metadata (``settings/fields``) -> JSON Schema for a module stream.

Each property keeps Zoho's own type as ``x-zoho-data-type`` (and ``x-zoho-json-type``), so the
Lakeflow bridge can rebuild the seed doc's Spark types without asking Zoho again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DATA_TYPE = "x-zoho-data-type"
JSON_TYPE = "x-zoho-json-type"
RETURN_TYPE = "x-zoho-return-type"
TEXTAREA_TYPE = "x-zoho-textarea-type"
LOOKUP_MODULE = "x-zoho-lookup-module"
#: Digits and decimal places of a number field (``length``, ``decimal_place``): what a consumer
#: needs for an exact decimal type (the bridge's ``spark_types=native``).
LENGTH = "x-zoho-length"
DECIMAL_PLACE = "x-zoho-decimal-place"
#: A multi-select picklist's values (``pick_list_values``: display and actual values), which
#: let a Bulk Read CSV cell be split unambiguously (reading/bulk_csv.py).
PICK_LIST_VALUES = "x-zoho-pick-list-values"

#: Values Zoho serves only from a single-record GET (``/{module}/{id}``), never from the
#: list call the module streams use; requesting them in ``fields`` is at best wasted. Subform
#: rows get their own streams and multi-select lookups come through linking modules.
SINGLE_RECORD_ONLY_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup"})

#: Object-valued data types shaped like a lookup: ``{"id", "name", ...}``.
LOOKUP_TYPES = frozenset(
    {
        "lookup",
        "ownerlookup",
        "userlookup",
        "layout",
        "consent_lookup",
        "multi_module_lookup",
        "module",
    }
)

STRING_TYPES = frozenset(
    {
        "text",
        "textarea",
        "email",
        "phone",
        "website",
        "picklist",
        "autonumber",
        "profileimage",
        "event_reminder",
        "mediumtext",
        "time_range",
    }
)

NULL = "null"


def _nullable(*types: str) -> list[str]:
    return [*types, NULL]


def lookup_schema() -> dict[str, Any]:
    """A lookup value: integer id plus name/email; other keys Zoho adds pass through."""
    return {
        "type": _nullable("object"),
        "properties": {
            "id": {"type": _nullable("integer")},
            "name": {"type": _nullable("string")},
            "email": {"type": _nullable("string")},
        },
        "additionalProperties": True,
    }


def _object_array() -> dict[str, Any]:
    return {
        "type": _nullable("array"),
        "items": {"type": ["object"], "properties": {}, "additionalProperties": True},
    }


#: Number fields Zoho stores with a fixed number of decimal places.
DECIMAL_DATA_TYPES = frozenset({"double", "currency", "percent", "decimal"})


def _scalar_for(kind: str) -> dict[str, Any] | None:
    """JSON Schema for a scalar Zoho type name (data_type or a formula's return_type)."""
    if kind in {"integer", "long", "bigint"}:
        return {"type": _nullable("integer")}
    if kind in {"double", "currency", "percent", "decimal", "number"}:
        return {"type": _nullable("number")}
    if kind == "boolean":
        return {"type": _nullable("boolean")}
    if kind == "date":
        return {"type": _nullable("string"), "format": "date"}
    if kind == "datetime":
        return {"type": _nullable("string"), "format": "date-time"}
    if kind in STRING_TYPES or kind == "string":
        return {"type": _nullable("string")}
    return None


def _by_json_type(json_type: str) -> dict[str, Any]:
    """Fallback for data types this tap does not know yet, from Zoho's coarser json_type."""
    if json_type == "jsonobject":
        return {"type": _nullable("object"), "properties": {}, "additionalProperties": True}
    if json_type == "jsonarray":
        return _object_array()
    return _scalar_for(json_type) or {}


def _return_type(field: Mapping[str, Any]) -> str | None:
    for key in ("formula", "rollup_summary"):
        spec = field.get(key)
        if isinstance(spec, Mapping) and spec.get("return_type"):
            return str(spec["return_type"])
    return None


def field_property(field: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema for one Zoho field, annotated with its Zoho types."""
    api_name = str(field.get("api_name", ""))
    data_type = str(field.get("data_type") or "")
    json_type = str(field.get("json_type") or "")
    prop: dict[str, Any]
    return_type = None
    if api_name == "id":
        prop = {"type": ["integer"]}
    elif data_type in LOOKUP_TYPES:
        prop = lookup_schema()
    elif data_type == "multiselectpicklist":
        prop = {"type": _nullable("array"), "items": {"type": ["string"]}}
    elif data_type in {"formula", "rollup_summary"}:
        return_type = _return_type(field)
        prop = _scalar_for(return_type or "") or _by_json_type(json_type)
    elif json_type == "jsonarray":
        prop = _object_array()  # tags, territories, file/image uploads, reminders, line taxes
    else:
        prop = _scalar_for(data_type) or _by_json_type(json_type)
    if data_type:
        prop[DATA_TYPE] = data_type
    if json_type:
        prop[JSON_TYPE] = json_type
    if return_type:
        prop[RETURN_TYPE] = return_type
    if data_type in DECIMAL_DATA_TYPES and isinstance(field.get("decimal_place"), int):
        prop[DECIMAL_PLACE] = field["decimal_place"]
        if isinstance(field.get("length"), int):
            prop[LENGTH] = field["length"]
    textarea = field.get("textarea")
    if isinstance(textarea, Mapping) and textarea.get("type"):
        prop[TEXTAREA_TYPE] = str(textarea["type"])
    if data_type == "multiselectpicklist":
        prop[PICK_LIST_VALUES] = pick_list_values(field)
    lookup = field.get("lookup")
    if isinstance(lookup, Mapping):
        module = lookup.get("module")
        if isinstance(module, Mapping) and module.get("api_name"):
            prop[LOOKUP_MODULE] = str(module["api_name"])
    return prop


def pick_list_values(field: Mapping[str, Any]) -> list[str]:
    """The distinct display and actual values of a picklist's ``pick_list_values``."""
    entries = field.get("pick_list_values")
    values: dict[str, None] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            for key in ("display_value", "actual_value"):
                value = entry.get(key)
                if isinstance(value, str) and value:
                    values[value] = None
    return list(values)


def is_listable(field: Mapping[str, Any]) -> bool:
    """Whether the list call (``GET /{module}?fields=``) can return this field."""
    return bool(field.get("api_name")) and field.get("data_type") not in SINGLE_RECORD_ONLY_TYPES


def module_schema(fields: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """JSON Schema of a module stream, from its ``settings/fields`` entries.

    Always has ``id`` (integer, not null), since the stream's key needs it even if the
    metadata does not list it.
    """
    properties: dict[str, Any] = {
        "id": {"type": ["integer"], DATA_TYPE: "bigint", JSON_TYPE: "string"}
    }
    for field in fields:
        if not is_listable(field):
            continue
        properties[str(field["api_name"])] = field_property(field)
    return {"type": ["object"], "properties": properties}


#: Data types whose values are datetimes (``event_reminder`` is datetime-like; only values
#: that parse as datetimes are converted).
DATETIME_TYPES = frozenset({"datetime", "event_reminder"})


def datetime_properties(schema: Mapping[str, Any]) -> frozenset[str]:
    """Top-level properties holding Zoho datetimes (to be normalised to UTC)."""
    props = schema.get("properties", {})
    return frozenset(
        name
        for name, prop in props.items()
        if prop.get("format") == "date-time"
        or prop.get(DATA_TYPE) in DATETIME_TYPES
        or prop.get(RETURN_TYPE) == "datetime"
    )


def rich_text_properties(schema: Mapping[str, Any]) -> list[str]:
    """Top-level rich-text properties (Zoho truncates them in list responses)."""
    props = schema.get("properties", {})
    return [name for name, prop in props.items() if prop.get(TEXTAREA_TYPE) == "rich_text"]


def integer_id_properties(schema: Mapping[str, Any]) -> frozenset[str]:
    """Top-level properties whose value is a Zoho id given as a digit string."""
    props = schema.get("properties", {})
    return frozenset(
        name
        for name, prop in props.items()
        if name == "id" or prop.get(DATA_TYPE) == "bigint" or "integer" in _types(prop)
    )


def _types(prop: Mapping[str, Any]) -> list[str]:
    raw = prop.get("type", [])
    return [raw] if isinstance(raw, str) else list(raw)
