"""JSON Schema (with the tap's ``x-zoho-*`` annotations) -> pyspark ``StructType``.

Pure and deterministic: the same JSON Schema always gives the same ``StructType``, with the
columns in the schema's property order. The Zoho data type annotation decides first (it carries
what JSON Schema cannot say, e.g. that an object is a lookup); properties without one (columns
the tap adds itself, such as ``_parent_id``) fall back to their JSON Schema type.

The mapping follows the seed doc's type table:

================================================  ===========================================
Zoho ``data_type``                                Spark type
================================================  ===========================================
``id``, bigint, integer                           LongType
double, currency, percent                         DoubleType
boolean                                           BooleanType
text-like types, date, datetime                   StringType (ISO 8601 for date and datetime)
multiselectpicklist                               ArrayType(StringType)
lookup, ownerlookup (and userlookup, ...)         StructType{id Long, name String, email String}
multiselectlookup                                 ArrayType(StructType) from the items' schema
subform                                           ArrayType(StructType) from the items' schema
anything else                                     StringType (objects and arrays as JSON text)
================================================  ===========================================

With ``native=True`` (the ``spark_types=native`` option) three rows change, so that
Databricks users need no casts: datetime -> TimestampType (UTC instants), date -> DateType,
and currency/double fields whose metadata gives their decimal places -> DecimalType(p, s)
with s = ``decimal_place`` and p = ``length`` + s, capped at 38 (Zoho does not say whether
``length`` counts the decimal places; adding them is wide enough under either reading).
Percent stays a double (it is a ratio, not an amount), and so does a number without
``decimal_place``.

Every column is nullable except a top-level ``id`` that the JSON Schema declares non-null: a
field Zoho marks as required can still be null in records created before it was required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

ZOHO_DATA_TYPE = "x-zoho-data-type"
ZOHO_LENGTH = "x-zoho-length"
ZOHO_DECIMAL_PLACE = "x-zoho-decimal-place"
#: The ``spark_types`` option's values: the Databricks connector documentation's mapping, or
#: native timestamp, date and decimal types.
SPARK_TYPES_SEED = "seed"
SPARK_TYPES_NATIVE = "native"
SPARK_TYPES = (SPARK_TYPES_SEED, SPARK_TYPES_NATIVE)
MAX_DECIMAL_PRECISION = 38
#: Fields whose decimal places make them exact amounts under ``native``.
NATIVE_DECIMAL_DATA_TYPES = frozenset({"currency", "double", "decimal"})

LONG_DATA_TYPES = frozenset({"bigint", "integer", "long"})
DOUBLE_DATA_TYPES = frozenset({"double", "currency", "percent", "decimal"})
BOOLEAN_DATA_TYPES = frozenset({"boolean"})
STRING_DATA_TYPES = frozenset(
    {
        "text",
        "textarea",
        "mediumtext",
        "email",
        "phone",
        "website",
        "picklist",
        "autonumber",
        "date",
        "datetime",
        "fileupload",
        "imageupload",
        "profileimage",
        "event_reminder",
    }
)
# Zoho returns all of these as a {"id", "name"[, "email"]} object pointing at one record.
LOOKUP_DATA_TYPES = frozenset(
    {"lookup", "ownerlookup", "userlookup", "multi_module_lookup", "consent_lookup"}
)
MULTI_LOOKUP_DATA_TYPES = frozenset({"multiselectlookup", "multiuserlookup"})
# Typed by their return type, which the tap writes as the property's JSON Schema type.
RETURN_TYPED_DATA_TYPES = frozenset({"formula", "rollup_summary"})

LOOKUP_STRUCT = StructType(
    [
        StructField("id", LongType(), True),
        StructField("name", StringType(), True),
        StructField("email", StringType(), True),
    ]
)
"""The seed doc's lookup struct: ``Owner.email`` is selectable whatever the tap's schema says."""

MULTI_LOOKUP_ITEM_STRUCT = StructType(
    [StructField("id", LongType(), True), StructField("name", StringType(), True)]
)
SUBFORM_ITEM_STRUCT = StructType([StructField("id", LongType(), True)])


def to_struct_type(json_schema: Mapping[str, Any], *, native: bool = False) -> StructType:
    """Map a stream's JSON Schema to the Spark schema the bridge serves for its table."""
    properties = json_schema.get("properties")
    if not isinstance(properties, Mapping):
        raise TypeError("the stream's JSON Schema has no 'properties' object")
    fields = []
    for name, raw in properties.items():
        prop = raw if isinstance(raw, Mapping) else {}
        nullable = not (name == "id" and not _allows_null(prop))
        fields.append(StructField(name, _property_type(name, prop, native), nullable))
    return StructType(fields)


def _property_type(name: str, prop: Mapping[str, Any], native: bool) -> DataType:
    """Spark type of one property, nested or not."""
    if name == "id":
        return LongType()
    data_type = prop.get(ZOHO_DATA_TYPE)
    if isinstance(data_type, str):
        return _zoho_type(data_type.lower(), prop, native)
    return _json_schema_type(prop, native)


def _native_type(data_type: str, prop: Mapping[str, Any]) -> DataType | None:
    """The ``native`` mapping's own types (None: as the seed mapping)."""
    if data_type == "datetime":
        return TimestampType()
    if data_type == "date":
        return DateType()
    scale = prop.get(ZOHO_DECIMAL_PLACE)
    if data_type in NATIVE_DECIMAL_DATA_TYPES and isinstance(scale, int) and scale >= 0:
        length = prop.get(ZOHO_LENGTH)
        digits = length if isinstance(length, int) and length > 0 else MAX_DECIMAL_PRECISION
        scale = min(scale, MAX_DECIMAL_PRECISION)
        return DecimalType(min(MAX_DECIMAL_PRECISION, digits + scale), scale)
    return None


def _zoho_type(data_type: str, prop: Mapping[str, Any], native: bool) -> DataType:
    if native:
        native_type = _native_type(data_type, prop)
        if native_type is not None:
            return native_type
    mapped = _scalar_zoho_type(data_type)
    if mapped is not None:
        return mapped
    if data_type == "multiselectpicklist":
        return ArrayType(StringType(), True)
    if data_type in LOOKUP_DATA_TYPES:
        return LOOKUP_STRUCT
    if data_type in MULTI_LOOKUP_DATA_TYPES:
        return ArrayType(_item_struct(prop, MULTI_LOOKUP_ITEM_STRUCT, native), True)
    if data_type == "subform":
        return ArrayType(_item_struct(prop, SUBFORM_ITEM_STRUCT, native), True)
    if data_type in RETURN_TYPED_DATA_TYPES:
        return _scalar_json_type(prop, native)
    return StringType()


def _scalar_zoho_type(data_type: str) -> DataType | None:
    if data_type in LONG_DATA_TYPES:
        return LongType()
    if data_type in DOUBLE_DATA_TYPES:
        return DoubleType()
    if data_type in BOOLEAN_DATA_TYPES:
        return BooleanType()
    if data_type in STRING_DATA_TYPES:
        return StringType()
    return None


def _item_struct(prop: Mapping[str, Any], default: StructType, native: bool) -> StructType:
    """The element struct of an array property, from its ``items`` schema when it has one."""
    items = _non_null_branch(prop.get("items"))
    if isinstance(items, Mapping) and isinstance(items.get("properties"), Mapping):
        nested = _struct_from_properties(items["properties"], native)
        if nested.fields:
            return nested
    return default


def _struct_from_properties(properties: Mapping[str, Any], native: bool) -> StructType:
    return StructType(
        [
            StructField(
                key, _property_type(key, sub if isinstance(sub, Mapping) else {}, native), True
            )
            for key, sub in properties.items()
        ]
    )


def _json_schema_type(prop: Mapping[str, Any], native: bool) -> DataType:
    """Fallback for properties the tap adds itself: follow the JSON Schema type."""
    prop = _non_null_branch(prop) or {}
    types = _json_types(prop)
    if types == {"object"}:
        properties = prop.get("properties")
        if isinstance(properties, Mapping) and properties:
            return _struct_from_properties(properties, native)
        return StringType()
    if types == {"array"}:
        items = prop.get("items")
        element = _property_type("", items, native) if isinstance(items, Mapping) else StringType()
        return ArrayType(element, True)
    return _scalar_json_type(prop, native)


def _scalar_json_type(prop: Mapping[str, Any], native: bool) -> DataType:
    branch = _non_null_branch(prop) or {}
    if native and branch.get("format") in ("date-time", "date"):
        return TimestampType() if branch["format"] == "date-time" else DateType()
    types = _json_types(branch)
    if types == {"integer"}:
        return LongType()
    if types and types <= {"integer", "number"}:
        return DoubleType()
    if types == {"boolean"}:
        return BooleanType()
    return StringType()


def _json_types(prop: Mapping[str, Any]) -> set[str]:
    """The non-null JSON types a property allows."""
    raw = prop.get("type")
    if isinstance(raw, str):
        names = {raw}
    elif isinstance(raw, list):
        names = {t for t in raw if isinstance(t, str)}
    else:
        names = set()
    return names - {"null"}


def _allows_null(prop: Mapping[str, Any]) -> bool:
    raw = prop.get("type")
    if raw == "null" or (isinstance(raw, list) and "null" in raw):
        return True
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list):
        return any(isinstance(b, Mapping) and _allows_null(b) for b in branches)
    return raw is None


def _non_null_branch(prop: Any) -> Mapping[str, Any] | None:
    """Unwrap ``anyOf``/``oneOf`` with a single non-null branch (the SDK's nullable form)."""
    if not isinstance(prop, Mapping):
        return None
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list):
        non_null = [b for b in branches if isinstance(b, Mapping) and b.get("type") != "null"]
        if len(non_null) == 1:
            merged = {k: v for k, v in prop.items() if k not in ("anyOf", "oneOf")}
            merged.update(non_null[0])
            return merged
        return {}
    return prop
