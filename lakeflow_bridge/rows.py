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
from collections.abc import Mapping
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


def conform_record(record: Mapping[str, Any], schema: StructType) -> dict[str, Any]:
    """Return a dict with exactly the schema's columns, each value of the column's Spark type.

    Keys that are not columns are dropped (the Lakeflow framework drops them too); missing
    columns become None; an empty object for a struct column becomes None, as the Lakeflow
    implementation rules require.
    """
    out: dict[str, Any] = {}
    for field in schema.fields:
        value = _conform(record.get(field.name), field.dataType, field.name)
        if value is None and not field.nullable:
            raise RecordConformError(f"column '{field.name}' is null but the schema forbids nulls")
        out[field.name] = value
    return out


def record_to_row(record: Mapping[str, Any], schema: StructType) -> tuple[Any, ...]:
    """Conform a record and order its values like the schema (the data source returns tuples)."""
    conformed = conform_record(record, schema)
    return tuple(conformed[name] for name in schema.fieldNames())


def _conform(value: Any, data_type: DataType, path: str) -> Any:
    if value is None:
        return None
    if isinstance(data_type, StringType):
        return _to_string(value)
    if isinstance(data_type, LongType):
        return _to_long(value, path)
    if isinstance(data_type, DoubleType):
        return _to_double(value, path)
    if isinstance(data_type, BooleanType):
        return _to_boolean(value, path)
    if isinstance(data_type, TimestampType):
        return _to_timestamp(value, path)
    if isinstance(data_type, DateType):
        return _to_date(value, path)
    if isinstance(data_type, DecimalType):
        return _to_decimal(value, data_type, path)
    if isinstance(data_type, ArrayType):
        items = value if isinstance(value, list | tuple) else [value]
        return [_conform(item, data_type.elementType, f"{path}[]") for item in items]
    if isinstance(data_type, StructType):
        return _to_struct(value, data_type, path)
    raise RecordConformError(f"column '{path}' has an unsupported Spark type {data_type}")


def _to_struct(value: Any, data_type: StructType, path: str) -> dict[str, Any] | None:
    if isinstance(value, Mapping):
        if not value:
            return None
        return {
            f.name: _conform(value.get(f.name), f.dataType, f"{path}.{f.name}")
            for f in data_type.fields
        }
    if "id" in data_type.fieldNames():
        # A bare id where a lookup object was expected (older API versions answer that way).
        conformed = {f.name: None for f in data_type.fields}
        conformed["id"] = _conform(value, data_type["id"].dataType, f"{path}.id")
        return conformed
    raise RecordConformError(f"column '{path}' expects an object, got {type(value).__name__}")


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
    if isinstance(value, bool):
        return value
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
