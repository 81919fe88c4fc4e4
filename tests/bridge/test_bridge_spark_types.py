"""The pure JSON Schema -> StructType mapping and record conformance, on hand-built schemas.

The schemas follow docs/ARCHITECTURE.md: integer ids, ``x-zoho-data-type`` on every property
generated from a Zoho field, lookups as objects, datetimes as UTC strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from lakeflow_bridge.rows import RecordConformError, conform_record, record_to_row
from lakeflow_bridge.spark_types import to_struct_type

NULLABLE_STRING = {"type": ["string", "null"]}

#: A lookup as docs/ARCHITECTURE.md and the seed doc describe it (written out here, not taken
#: from the implementation): integer id, name and email, every one nullable.
EXPECTED_LOOKUP = StructType(
    [
        StructField("id", LongType(), True),
        StructField("name", StringType(), True),
        StructField("email", StringType(), True),
    ]
)


def zoho(data_type: str, json_schema: dict | None = None, **extra: object) -> dict:
    prop = dict(json_schema or NULLABLE_STRING)
    prop["x-zoho-data-type"] = data_type
    prop.update(extra)
    return prop


LOOKUP = {
    "type": ["object", "null"],
    "properties": {
        "id": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
    },
}

MODULE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer"], "x-zoho-data-type": "bigint"},
        "Last_Name": zoho("text"),
        "Description": zoho("textarea"),
        "Email": zoho("email"),
        "Phone": zoho("phone"),
        "Website": zoho("website"),
        "Lead_Status": zoho("picklist"),
        "Lead_Number": zoho("autonumber"),
        "No_of_Employees": zoho("integer", {"type": ["integer", "null"]}),
        "Big_Number": zoho("bigint", {"type": ["string", "null"]}),
        "Annual_Revenue": zoho("currency", {"type": ["number", "null"]}),
        "Probability": zoho("percent", {"type": ["number", "null"]}),
        "Rating_Score": zoho("double", {"type": ["number", "null"]}),
        "Email_Opt_Out": zoho("boolean", {"type": ["boolean", "null"]}),
        "Birth_Date": zoho("date", {"type": ["string", "null"], "format": "date"}),
        "Modified_Time": zoho("datetime", {"type": ["string", "null"], "format": "date-time"}),
        "Interests": zoho(
            "multiselectpicklist", {"type": ["array", "null"], "items": {"type": ["string"]}}
        ),
        "Owner": zoho("ownerlookup", LOOKUP),
        "Account_Name": zoho("lookup", LOOKUP),
        "Related_Products": zoho(
            "multiselectlookup",
            {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["integer", "null"]},
                        "Product": zoho("lookup", LOOKUP),
                    },
                },
            },
        ),
        "Line_Items": zoho(
            "subform",
            {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["integer", "null"]},
                        "Quantity": zoho("double", {"type": ["number", "null"]}),
                        "Product_Name": zoho("lookup", LOOKUP),
                    },
                },
            },
        ),
        "Score_Formula": zoho("formula", {"type": ["number", "null"]}),
        "Recurring_Activity": zoho(
            "RRULE", {"type": ["object", "null"]}, **{"x-zoho-json-type": "jsonobject"}
        ),
        "Tag": zoho("text", {"type": ["array", "null"], "items": {"type": "object"}}),
        "Brand_New_Type": zoho("hologram", {"type": ["object", "null"]}),
        "_parent_id": {"type": ["integer", "null"]},
        "_zoho_deleted": {"type": ["boolean", "null"]},
        "Member_Status": {"type": ["string", "null"]},
        "Weight": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["id", "Last_Name"],
}


def field(struct: StructType, name: str) -> StructField:
    return struct[name]


def test_seed_type_table() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    expected_types = {
        "id": LongType(),
        "Last_Name": StringType(),
        "Description": StringType(),
        "Email": StringType(),
        "Phone": StringType(),
        "Website": StringType(),
        "Lead_Status": StringType(),
        "Lead_Number": StringType(),
        "No_of_Employees": LongType(),
        "Big_Number": LongType(),
        "Annual_Revenue": DoubleType(),
        "Probability": DoubleType(),
        "Rating_Score": DoubleType(),
        "Email_Opt_Out": BooleanType(),
        "Birth_Date": StringType(),
        "Modified_Time": StringType(),
        "Interests": ArrayType(StringType(), True),
        "Owner": EXPECTED_LOOKUP,
        "Account_Name": EXPECTED_LOOKUP,
        "Score_Formula": DoubleType(),
        "Recurring_Activity": StringType(),
        "Tag": StringType(),
        "Brand_New_Type": StringType(),
        "_parent_id": LongType(),
        "_zoho_deleted": BooleanType(),
        "Member_Status": StringType(),
        "Weight": DoubleType(),
    }
    for name, expected in expected_types.items():
        assert struct[name].dataType == expected, name
    assert struct.fieldNames() == list(MODULE_SCHEMA["properties"])


def test_lookups_are_structs_with_id_name_email() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    owner = struct["Owner"].dataType
    assert isinstance(owner, StructType)
    assert owner.fieldNames() == ["id", "name", "email"]
    assert [f.dataType for f in owner.fields] == [LongType(), StringType(), StringType()]


def test_multiselectlookup_and_subform_are_arrays_of_structs() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    related = struct["Related_Products"].dataType
    assert isinstance(related, ArrayType)
    assert isinstance(related.elementType, StructType)
    assert related.elementType["id"].dataType == LongType()
    assert related.elementType["Product"].dataType == EXPECTED_LOOKUP
    lines = struct["Line_Items"].dataType
    assert isinstance(lines, ArrayType)
    assert isinstance(lines.elementType, StructType)
    assert lines.elementType["Quantity"].dataType == DoubleType()
    assert lines.elementType["Product_Name"].dataType == EXPECTED_LOOKUP


def test_array_of_structs_without_item_schema_falls_back_to_id_structs() -> None:
    bare = {
        "properties": {
            "Items": zoho("subform", {"type": ["array", "null"]}),
            "Links": zoho("multiselectlookup", {"type": ["array", "null"]}),
        }
    }
    struct = to_struct_type(bare)
    items = struct["Items"].dataType
    links = struct["Links"].dataType
    assert isinstance(items, ArrayType)
    assert isinstance(links, ArrayType)
    assert isinstance(items.elementType, StructType)
    assert isinstance(links.elementType, StructType)
    assert items.elementType.fieldNames() == ["id"]
    assert links.elementType.fieldNames() == ["id", "name"]


def test_only_a_guaranteed_id_is_non_nullable() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    assert struct["id"].nullable is False
    # Zoho-required fields can be null in records created before they were required.
    assert struct["Last_Name"].nullable is True
    assert all(f.nullable for f in struct.fields if f.name != "id")
    nullable_id = to_struct_type({"properties": {"id": {"type": ["integer", "null"]}}})
    assert nullable_id["id"].nullable is True


def test_mapping_is_deterministic() -> None:
    first = to_struct_type(MODULE_SCHEMA)
    second = to_struct_type(MODULE_SCHEMA)
    assert first == second
    assert first.json() == second.json()


def test_schema_without_properties_is_refused() -> None:
    with pytest.raises(TypeError, match="properties"):
        to_struct_type({"type": "object"})


def test_conform_coerces_json_values_to_spark_types() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    record = {
        "id": 3652397000009851001,
        "Last_Name": "Rao",
        "Big_Number": "12345678901234",
        "Annual_Revenue": Decimal("5000000.50"),
        "Probability": 20,
        "Email_Opt_Out": "false",
        "Owner": {"id": "3652397000000186017", "name": "Pat", "email": "pat@example.com"},
        "Account_Name": {},
        "Recurring_Activity": {"RRULE": "FREQ=DAILY;INTERVAL=1"},
        "Tag": [{"name": "vip", "id": 1}],
        "Interests": ["A", "B"],
        "Line_Items": [{"id": 9, "Quantity": Decimal("2"), "Product_Name": {"id": 5, "name": "W"}}],
        "$currency_symbol": "$",
    }
    out = conform_record(record, struct)
    assert list(out) == struct.fieldNames()
    assert out["Big_Number"] == 12345678901234
    assert out["Annual_Revenue"] == 5000000.5
    assert isinstance(out["Probability"], float)
    assert out["Email_Opt_Out"] is False
    assert out["Owner"] == {"id": 3652397000000186017, "name": "Pat", "email": "pat@example.com"}
    assert out["Account_Name"] is None  # {} for a struct means "no value"
    assert out["Recurring_Activity"] == '{"RRULE":"FREQ=DAILY;INTERVAL=1"}'
    assert out["Tag"] == '[{"id":1,"name":"vip"}]'
    assert out["Line_Items"] == [
        {"id": 9, "Quantity": 2.0, "Product_Name": {"id": 5, "name": "W", "email": None}}
    ]
    assert out["Description"] is None
    assert "$currency_symbol" not in out


def test_conform_errors_name_the_column_not_the_value() -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    with pytest.raises(RecordConformError, match="'No_of_Employees'") as caught:
        conform_record({"id": 1, "No_of_Employees": "many-secret-value"}, struct)
    assert "many-secret-value" not in str(caught.value)
    with pytest.raises(RecordConformError, match="'id'"):
        conform_record({"Last_Name": "no id"}, struct)


@pytest.mark.spark
def test_records_parse_in_spark_and_lookups_are_selectable(spark) -> None:
    struct = to_struct_type(MODULE_SCHEMA)
    records: list[dict[str, Any]] = [
        {
            "id": 1,
            "Last_Name": "Rao",
            "Owner": {"id": 11, "name": "Pat", "email": "pat@example.com"},
            "Annual_Revenue": Decimal("10.5"),
            "Interests": ["A"],
        },
        {"id": 2, "Last_Name": None, "Owner": None, "Recurring_Activity": {"RRULE": "X"}},
    ]
    rows = [conform_record(r, struct) for r in records]
    frame = spark.createDataFrame(rows, struct)
    assert frame.schema == struct
    emails = {r["id"]: r["email"] for r in frame.select("id", "Owner.email").collect()}
    assert emails == {1: "pat@example.com", 2: None}
    tuples = [record_to_row(r, struct) for r in records]
    assert spark.createDataFrame(tuples, struct).count() == 2
