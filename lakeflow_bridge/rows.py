"""Singer records -> plain Python values that Spark accepts for a given ``StructType``.

Singer records are JSON: numbers may arrive as ``Decimal`` (the SDK parses floats that way),
ids inside lookups may be strings, and columns the bridge serves as strings (unknown Zoho types)
may hold objects. ``spark.createDataFrame(records, schema)`` and the Python data source both
reject such values, so every record is conformed to its table's schema once, here. Pure.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
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
    StructType,
    TimestampType,
)

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class RecordConformError(ValueError):
    """A value cannot be represented in its column's Spark type (the message names the column)."""


Conform = Callable[[Any], Any]


def record_conformer(schema: StructType) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """`conform_record` for one schema, with each column's conversion chosen once.

    A partitioned read conforms hundreds of thousands of records: choosing the conversion by
    the column's type for every value cost more than the rest of the bridge's record path.
    """
    columns = [(f.name, _converter(f.dataType, f.name), f.nullable) for f in schema.fields]

    def conform(record: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, convert, nullable in columns:
            value = convert(record.get(name))
            if value is None and not nullable:
                raise RecordConformError(f"column '{name}' is null but the schema forbids nulls")
            out[name] = value
        return out

    return conform


def conform_record(record: Mapping[str, Any], schema: StructType) -> dict[str, Any]:
    """Return a dict with exactly the schema's columns, each value of the column's Spark type.

    Keys that are not columns are dropped (the Lakeflow framework drops them too); missing
    columns become None; an empty object for a struct column becomes None, as the Lakeflow
    implementation rules require.
    """
    return record_conformer(schema)(record)


def record_to_row(record: Mapping[str, Any], schema: StructType) -> tuple[Any, ...]:
    """Conform a record and order its values like the schema (the data source returns tuples)."""
    conformed = conform_record(record, schema)
    return tuple(conformed[name] for name in schema.fieldNames())


def _converter(data_type: DataType, path: str) -> Conform:
    """The conversion of one column: values already of the Spark type pass through."""
    if isinstance(data_type, StringType):
        return lambda v: v if v is None or type(v) is str else _to_string(v)
    if isinstance(data_type, LongType):
        return lambda v: v if v is None or type(v) is int else _to_long(v, path)
    if isinstance(data_type, DoubleType):
        return lambda v: v if v is None or type(v) is float else _to_double(v, path)
    if isinstance(data_type, BooleanType):
        return lambda v: v if v is None or type(v) is bool else _to_boolean(v, path)
    if isinstance(data_type, TimestampType):
        return lambda v: None if v is None else _to_timestamp(v, path)
    if isinstance(data_type, DateType):
        return lambda v: None if v is None else _to_date(v, path)
    if isinstance(data_type, DecimalType):
        decimal_type = data_type
        return lambda v: None if v is None else _to_decimal(v, decimal_type, path)
    if isinstance(data_type, ArrayType):
        item = _converter(data_type.elementType, f"{path}[]")

        def array(value: Any) -> Any:
            if value is None:
                return None
            return [item(v) for v in (value if isinstance(value, list | tuple) else [value])]

        return array
    if isinstance(data_type, StructType):
        return _struct_converter(data_type, path)
    unsupported = data_type

    def fail(value: Any) -> Any:
        if value is None:
            return None
        raise RecordConformError(f"column '{path}' has an unsupported Spark type {unsupported}")

    return fail


def _struct_converter(data_type: StructType, path: str) -> Conform:
    fields = [(f.name, _converter(f.dataType, f"{path}.{f.name}")) for f in data_type.fields]
    id_converter = dict(fields).get("id")

    def struct(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, Mapping):
            if not value:
                return None
            return {name: convert(value.get(name)) for name, convert in fields}
        if id_converter is not None:
            # A bare id where a lookup object was expected (older API versions answer that way).
            conformed: dict[str, Any] = dict.fromkeys(name for name, _ in fields)
            conformed["id"] = id_converter(value)
            return conformed
        raise RecordConformError(f"column '{path}' expects an object, got {type(value).__name__}")

    return struct


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _to_long(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise RecordConformError(f"column '{path}' expects an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    raise RecordConformError(f"column '{path}' expects an integer, got {type(value).__name__}")


def _to_double(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise RecordConformError(f"column '{path}' expects a number, got a boolean")
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise RecordConformError(f"column '{path}' expects a number, got {type(value).__name__}")


def _to_boolean(value: Any, path: str) -> bool:
    # Booleans never get here (bool has no subclasses, and the converter passes bools on).
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise RecordConformError(f"column '{path}' expects a boolean, got {type(value).__name__}")


def _to_timestamp(value: Any, path: str) -> dt.datetime:
    """An aware UTC datetime: the tap writes UTC ISO 8601, and Spark stores instants."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordConformError(
                f"column '{path}' expects an ISO 8601 datetime, got {value!r}"
            ) from None
    else:
        raise RecordConformError(f"column '{path}' expects a datetime, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _to_date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise RecordConformError(f"column '{path}' expects a date (YYYY-MM-DD), got {value!r}")


def _to_decimal(value: Any, data_type: DecimalType, path: str) -> Decimal:
    """The exact decimal, refused (never rounded) when it does not fit the column's scale."""
    if isinstance(value, bool):
        raise RecordConformError(f"column '{path}' expects a number, got a boolean")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        exact = number.quantize(Decimal(1).scaleb(-data_type.scale))
    except (InvalidOperation, ValueError):
        raise RecordConformError(f"column '{path}' expects a number, got {value!r}") from None
    if exact != number or len(exact.as_tuple().digits) > data_type.precision:
        raise RecordConformError(
            f"column '{path}' holds {value!r}, which does not fit {data_type.simpleString()}; "
            "read it with spark_types=seed (a double) instead"
        )
    return exact
