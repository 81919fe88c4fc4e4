"""Conformance of Singer values to Spark column types: every fallback, with hand-written answers.

A value the tap may send in more than one shape (a Decimal, a numeric string, a bare id where a
lookup object was expected) either converts to the one value written out here or is refused
with an error naming the column; nothing is rounded or dropped silently.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakeflow_bridge.rows import RecordConformError, conform_record, record_to_row

LOOKUP = StructType(
    [
        StructField("id", LongType(), True),
        StructField("name", StringType(), True),
        StructField("email", StringType(), True),
    ]
)
NAMED = StructType([StructField("label", StringType(), True)])
UTC = dt.UTC


def one(value: Any, data_type: DataType) -> Any:
    """The value of column ``c`` after conformance."""
    return conform_record({"c": value}, StructType([StructField("c", data_type, True)]))["c"]


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        # strings: JSON text for objects (sorted keys, compact), lower-case booleans
        ({"b": 1, "a": [1, 2]}, StringType(), '{"a":[1,2],"b":1}'),
        ([{"x": None}], StringType(), '[{"x":null}]'),
        (True, StringType(), "true"),
        (False, StringType(), "false"),
        (12, StringType(), "12"),
        (Decimal("1.50"), StringType(), "1.50"),
        # integers
        (7, LongType(), 7),
        (3.0, LongType(), 3),
        (Decimal("4"), LongType(), 4),
        (" -12 ", LongType(), -12),
        ("+5", LongType(), 5),
        # doubles
        (2, DoubleType(), 2.0),
        (Decimal("2.25"), DoubleType(), 2.25),
        (" 1e3 ", DoubleType(), 1000.0),
        # booleans
        (1, BooleanType(), True),
        (0, BooleanType(), False),
        (" Yes ", BooleanType(), True),
        ("FALSE", BooleanType(), False),
        ("0", BooleanType(), False),
        # timestamps: instants in UTC; naive means UTC
        ("2024-03-10T01:59:00-08:00", TimestampType(), dt.datetime(2024, 3, 10, 9, 59, tzinfo=UTC)),
        ("2024-03-10T01:59:00", TimestampType(), dt.datetime(2024, 3, 10, 1, 59, tzinfo=UTC)),
        (
            dt.datetime(2024, 3, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            TimestampType(),
            dt.datetime(2024, 3, 10, 6, 30, tzinfo=UTC),
        ),
        # dates: from a date, a datetime, or the date part of a string
        (dt.date(2024, 2, 29), DateType(), dt.date(2024, 2, 29)),
        (dt.datetime(2024, 2, 29, 23, 0, tzinfo=UTC), DateType(), dt.date(2024, 2, 29)),
        (" 2024-02-29T10:00:00+00:00", DateType(), dt.date(2024, 2, 29)),
        # exact decimals, never rounded
        ("12.3", DecimalType(10, 2), Decimal("12.30")),
        (7, DecimalType(5, 0), Decimal("7")),
        (Decimal("0.125"), DecimalType(6, 3), Decimal("0.125")),
        # arrays: a single value where a list was expected becomes a one-item list
        ("solo", ArrayType(StringType(), True), ["solo"]),
        ((1, "2"), ArrayType(LongType(), True), [1, 2]),
        # structs: an empty object is null; a bare id fills a lookup's id
        ({}, LOOKUP, None),
        ("4876876010000000005", LOOKUP, {"id": 4876876010000000005, "name": None, "email": None}),
        (
            {"id": "9", "name": "Pat", "extra": 1},
            LOOKUP,
            {"id": 9, "name": "Pat", "email": None},
        ),
    ],
)
def test_values_convert_to_the_written_out_value(value: Any, data_type: DataType, expected: Any):
    got = one(value, data_type)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "data_type", "message"),
    [
        (True, LongType(), "expects an integer, got a boolean"),
        (2.5, LongType(), "expects an integer"),
        (float("inf"), LongType(), "expects an integer"),
        ("12a", LongType(), "expects an integer"),
        ([1], LongType(), "expects an integer"),
        (False, DoubleType(), "expects a number, got a boolean"),
        ("many", DoubleType(), "expects a number"),
        ({"n": 1}, DoubleType(), "expects a number"),
        (2, BooleanType(), "expects a boolean"),
        ("maybe", BooleanType(), "expects a boolean"),
        (1.0, BooleanType(), "expects a boolean"),
        ("yesterday", TimestampType(), "expects an ISO 8601 datetime"),
        (1_700_000_000, TimestampType(), "expects a datetime"),
        ("29/02/2024", DateType(), "expects a date"),
        (20240229, DateType(), "expects a date"),
        (True, DecimalType(10, 2), "expects a number, got a boolean"),
        ("ten", DecimalType(10, 2), "expects a number"),
        ("1.005", DecimalType(10, 2), "does not fit decimal(10,2)"),
        ("123456", DecimalType(5, 0), "does not fit decimal(5,0)"),
        ("free text", NAMED, "expects an object"),
        ({"k": "v"}, MapType(StringType(), StringType()), "unsupported Spark type"),
    ],
)
def test_values_that_do_not_fit_are_refused_naming_the_column(
    value: Any, data_type: DataType, message: str
):
    with pytest.raises(RecordConformError, match="column 'c'") as info:
        one(value, data_type)
    assert message in str(info.value)


def test_nested_errors_name_the_path_and_nulls_respect_nullability():
    schema = StructType(
        [
            StructField("id", LongType(), False),
            StructField("Items", ArrayType(LOOKUP, True), True),
        ]
    )
    with pytest.raises(RecordConformError, match=r"column 'Items\[\]\.id'"):
        conform_record({"id": 1, "Items": [{"id": "x"}]}, schema)
    with pytest.raises(RecordConformError, match="column 'id' is null"):
        conform_record({"Items": None}, schema)
    assert record_to_row({"Items": ["5"], "id": "1", "dropped": 1}, schema) == (
        1,
        [{"id": 5, "name": None, "email": None}],
    )
