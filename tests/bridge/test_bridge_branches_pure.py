"""The pure parts of the bridge at their edges: offsets, conformance, type mapping, replay.

No I/O here: each expected value is written out from the rule the module's docstring states
(ISO instants compare as instants, naive means UTC, nothing is rounded, ...), never taken from
the implementation.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from enum import IntEnum, StrEnum
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

from lakeflow_bridge.connector import (
    BUDGET_SETTING,
    BULK_SETTING,
    SKIP_SETTING,
    TOMBSTONES_SETTING,
)
from lakeflow_bridge.demo import _as_strings
from lakeflow_bridge.interface import _LocalLakeflowConnect, _LocalSupportsPartitionedStream
from lakeflow_bridge.offsets import (
    IncrementalBatch,
    SnapshotBatch,
    cursor_key,
    id_key,
    incremental_offset,
    offset_reached,
    record_within,
)
from lakeflow_bridge.options import (
    OptionsError,
    native_spark_types,
    positive_int_option,
    tap_config_from_options,
)
from lakeflow_bridge.replay import SingerProtocolError, SingerReplay, collect_streams
from lakeflow_bridge.rows import conform_record
from lakeflow_bridge.sources import preserved_signal_handlers
from lakeflow_bridge.spark_types import to_struct_type

CURSOR = "Modified_Time"
T0 = "2024-01-15T05:00:00+00:00"


def one(value: Any, data_type: DataType) -> Any:
    return conform_record({"c": value}, StructType([StructField("c", data_type, True)]))["c"]


# -- offsets.py ---------------------------------------------------------------------------


def test_cursor_values_order_as_instants_then_as_text() -> None:
    # Naive ISO text means UTC (the tap writes UTC); epoch numbers are instants too.
    assert cursor_key("2024-01-15T05:00:00") == cursor_key(T0)
    assert cursor_key("2024-01-15T10:30:00+05:30") == cursor_key(T0)
    assert cursor_key(0) == cursor_key("1970-01-01T00:00:00+00:00")
    assert cursor_key(1.5) > cursor_key(1)
    # Text that is not an instant sorts after every instant, and among itself as text.
    assert cursor_key("not a date") > cursor_key("9999-12-31T23:59:59+00:00")
    assert cursor_key("a") < cursor_key("b")
    # Neither text nor number (a boolean is no instant): compared as its text.
    assert cursor_key(True) == cursor_key("True")
    assert cursor_key(None) < cursor_key(0) < cursor_key("x")


def test_text_ids_sort_after_integer_ids_and_still_count_as_delivered() -> None:
    assert id_key(10**18) < id_key("1")
    assert id_key("a") < id_key("b")
    offset = {"ids_at_replication_key_value": ["x-2"], "replication_key_value": T0}
    assert record_within({"id": "x-2", CURSOR: T0}, CURSOR, "id", offset)
    assert not record_within({"id": "x-3", CURSOR: T0}, CURSOR, "id", offset)


def test_an_offset_built_from_a_datetime_is_utc_iso_text() -> None:
    aware = dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    naive = dt.datetime(2024, 1, 15, 5, 0)
    for value in (aware, naive):
        offset = incremental_offset(CURSOR, value, {3, 1})
        assert offset == {
            "ids_at_replication_key_value": [1, 3],
            "replication_key": CURSOR,
            "replication_key_value": T0,
        }


def test_a_batch_needs_room_for_one_record() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        IncrementalBatch(cursor_field=CURSOR, key_field="id", start_offset={}, limit=0)


def test_offset_reached_at_the_start_and_for_snapshots() -> None:
    somewhere = {"replication_key_value": T0, "ids_at_replication_key_value": [1]}
    assert offset_reached(somewhere, {})  # every offset is at or past the start
    assert offset_reached(None, None)
    assert not offset_reached({}, somewhere)
    assert not offset_reached(None, somewhere)
    first, _ = SnapshotBatch(None).result()
    assert first == []
    snap = SnapshotBatch(None)
    snap.offer({"id": 1})
    _, digest = snap.result()
    other = SnapshotBatch(None)
    other.offer({"id": 2})
    _, other_digest = other.result()
    assert offset_reached(digest, digest)
    assert not offset_reached(other_digest, digest)


# -- rows.py ------------------------------------------------------------------------------


class Level(IntEnum):
    HIGH = 3


class Colour(StrEnum):
    RED = "red"


def test_subclasses_of_plain_values_pass_as_their_values() -> None:
    assert one(Level.HIGH, LongType()) == 3
    assert one(Colour.RED, StringType()) == "red"


def test_a_null_in_a_column_of_an_unsupported_type_stays_null() -> None:
    assert one(None, MapType(StringType(), StringType())) is None


# -- spark_types.py -----------------------------------------------------------------------


def zoho(data_type: str, json_type: Any = ("string", "null"), **extra: Any) -> dict[str, Any]:
    return {"type": list(json_type), "x-zoho-data-type": data_type, **extra}


def test_native_types_for_datetimes_dates_and_amounts_with_decimal_places() -> None:
    schema = {
        "properties": {
            "Modified_Time": zoho("datetime", format="date-time"),
            "Birth_Date": zoho("date", format="date"),
            "Amount": zoho(
                "currency", ("number", "null"), **{"x-zoho-decimal-place": 2, "x-zoho-length": 16}
            ),
            "Huge": zoho(
                "double", ("number", "null"), **{"x-zoho-decimal-place": 50, "x-zoho-length": 9}
            ),
            "No_Length": zoho("decimal", ("number", "null"), **{"x-zoho-decimal-place": 3}),
            "Ratio": zoho("percent", ("number", "null"), **{"x-zoho-decimal-place": 2}),
            "Plain": zoho("double", ("number", "null")),
            "Name": zoho("text"),
        }
    }
    native = to_struct_type(schema, native=True)
    seed = to_struct_type(schema)
    assert native["Modified_Time"].dataType == TimestampType()
    assert native["Birth_Date"].dataType == DateType()
    assert native["Amount"].dataType == DecimalType(18, 2)  # length + decimal places
    assert native["Huge"].dataType == DecimalType(38, 38)  # capped at Spark's 38 digits
    assert native["No_Length"].dataType == DecimalType(38, 3)
    assert native["Ratio"].dataType == DoubleType()  # a ratio, not an amount
    assert native["Plain"].dataType == DoubleType()  # no decimal places known
    assert native["Name"].dataType == StringType()
    assert [seed[n].dataType for n in ("Modified_Time", "Birth_Date", "Amount")] == [
        StringType(),
        StringType(),
        DoubleType(),
    ]


def test_properties_the_tap_adds_follow_their_json_schema_type() -> None:
    schema = {
        "properties": {
            "id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "_stamp": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "_day": {"type": ["string", "null"], "format": "date"},
            "_count": {"type": ["integer", "null"]},
            "_mixed": {"type": ["integer", "number", "null"]},
            "_flag": {"type": "boolean"},
            "_either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "_shape": {"type": "object", "properties": {"n": {"type": "integer"}, "s": {}}},
            "_free": {"type": ["object", "null"]},
            "_list": {"type": "array", "items": {"type": "number"}},
            "_untyped_list": {"type": "array"},
            "_odd": "not a schema",
            "_formula": zoho("formula", ("integer", "null")),
            "_subform": zoho(
                "subform",
                ("array", "null"),
                items={"anyOf": [{"type": "null"}, {"type": "object", "properties": {}}]},
            ),
        }
    }
    native = to_struct_type(schema, native=True)
    seed = to_struct_type(schema)
    assert native["id"].nullable  # an id whose schema allows null is nullable
    assert native["_stamp"].dataType == TimestampType()
    assert seed["_stamp"].dataType == StringType()
    assert native["_day"].dataType == DateType()
    assert seed["_count"].dataType == LongType()
    assert seed["_mixed"].dataType == DoubleType()
    assert seed["_flag"].dataType == BooleanType()
    assert seed["_either"].dataType == StringType()  # no single non-null branch: text
    assert seed["_shape"].dataType == StructType(
        [StructField("n", LongType(), True), StructField("s", StringType(), True)]
    )
    assert seed["_free"].dataType == StringType()  # an object without properties: JSON text
    assert seed["_list"].dataType == ArrayType(DoubleType(), True)
    assert seed["_untyped_list"].dataType == ArrayType(StringType(), True)
    assert seed["_odd"].dataType == StringType()
    assert seed["_formula"].dataType == LongType()
    # An empty item schema says nothing: the subform's rows keep their id.
    assert seed["_subform"].dataType == ArrayType(
        StructType([StructField("id", LongType(), True)]), True
    )


def test_an_id_without_any_type_is_nullable() -> None:
    assert to_struct_type({"properties": {"id": {}}})["id"].nullable
    assert not to_struct_type({"properties": {"id": {"type": "integer"}}})["id"].nullable
    guaranteed = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert not to_struct_type({"properties": {"id": guaranteed}})["id"].nullable


# -- replay.py ----------------------------------------------------------------------------


def test_replay_refuses_a_schema_without_an_object_and_a_record_without_one() -> None:
    replay = SingerReplay()
    with pytest.raises(SingerProtocolError, match="message 1: the SCHEMA of stream 'S'"):
        replay.feed({"type": "SCHEMA", "stream": "S", "schema": "text"})
    replay.feed({"type": "SCHEMA", "stream": "S", "schema": {}, "key_properties": ["id"]})
    with pytest.raises(SingerProtocolError, match="message 3: a RECORD of stream 'S'"):
        replay.feed({"type": "RECORD", "stream": "S", "record": [1]})


def test_collect_streams_without_a_state_or_with_a_non_object_bookmark() -> None:
    schema = {"type": "SCHEMA", "stream": "S", "schema": {}, "key_properties": ["id"]}
    record = {"type": "RECORD", "stream": "S", "record": {"id": 1}}
    collected = collect_streams([schema, record])
    assert collected["S"].records == [{"id": 1}]
    assert collected["S"].bookmark is None
    state = {"type": "STATE", "value": {"bookmarks": {"S": "not an object"}}}
    assert collect_streams([schema, record, state])["S"].bookmark is None
    state = {"type": "STATE", "value": {"bookmarks": ["not", "a", "map"]}}
    assert collect_streams([schema, record, state])["S"].bookmark is None


# -- sources.py ---------------------------------------------------------------------------


def test_signal_handlers_are_left_alone_off_the_main_thread() -> None:
    """Only the main thread may set handlers; elsewhere the context manager does nothing."""
    before = signal.getsignal(signal.SIGTERM)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            with preserved_signal_handlers():
                pass
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert errors == []
    assert signal.getsignal(signal.SIGTERM) == before


# -- options.py ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_a_positive_integer_option_refuses_anything_else(value: str) -> None:
    with pytest.raises(OptionsError, match="'max_partitions' must be a positive integer"):
        positive_int_option("max_partitions", {"MAX_PARTITIONS": value})


def test_a_positive_integer_option_takes_the_first_map_that_sets_it() -> None:
    assert positive_int_option("n", None, {"n": ""}, {"N": " 7 "}, {"n": "9"}) == 7
    assert positive_int_option("n", {}, None) is None


def tap_settings() -> dict[str, Any]:
    from tap_zoho_crm.tap import TapZohoCrm  # noqa: PLC0415

    return TapZohoCrm.config_jsonschema


CREDENTIALS = {"client_id": "id", "client_secret": "s3cret-value", "refresh_token": "r3fresh-value"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("request_timeout", "soon", "option 'request_timeout' must be a number"),
        ("include_modules", "[Leads", "option 'include_modules' must be a JSON list"),
        ("include_modules", '["Leads"', "option 'include_modules' must be a JSON list"),
    ],
)
def test_typed_settings_refuse_text_of_the_wrong_kind(name: str, text: str, message: str) -> None:
    with pytest.raises(OptionsError, match=message) as raised:
        tap_config_from_options({**CREDENTIALS, name: text}, tap_settings())
    assert text not in str(raised.value)
    assert "s3cret-value" not in str(raised.value)


def test_values_that_are_not_text_reach_the_tap_unchanged() -> None:
    """The tap's own config (not Spark options) may hold numbers, lists and booleans."""
    given = {"page_size": 200, "include_modules": ["Leads"], "token_cache": False}
    config = tap_config_from_options({**CREDENTIALS, **given}, tap_settings())
    assert {k: config[k] for k in given} == given
    assert tap_config_from_options(
        {**CREDENTIALS, "request_timeout": " 2.5 ", "include_modules": '["Leads","Deals"]'},
        tap_settings(),
    )["include_modules"] == ["Leads", "Deals"]


def test_spark_types_option_names_the_mapping() -> None:
    assert native_spark_types({"SPARK_TYPES": " Native "})
    assert not native_spark_types({"spark_types": "seed"}, {"spark_types": "native"})
    assert not native_spark_types({}, None)


def test_every_setting_the_connector_forces_is_one_the_tap_declares() -> None:
    forced = {TOMBSTONES_SETTING, SKIP_SETTING, BUDGET_SETTING, BULK_SETTING}
    assert forced <= set(tap_settings()["properties"])


def test_demo_options_become_the_strings_spark_takes() -> None:
    given = {"include_modules": ["Leads", "Deals"], "token_cache": False, "on": True}
    assert _as_strings({**given, "page_size": 200, "api_url": None}) == {
        "include_modules": "Leads,Deals",
        "token_cache": "false",
        "on": "true",
        "page_size": "200",
    }


class _SmallestConnector(_LocalLakeflowConnect, _LocalSupportsPartitionedStream):
    """The least a connector must write against the stand-in interface."""

    def list_tables(self) -> list[str]:
        return ["T"]

    def get_table_schema(self, table_name: str, table_options: dict[str, str]) -> StructType:
        return StructType([StructField("id", LongType(), False)])

    def read_table_metadata(self, table_name: str, table_options: dict[str, str]) -> dict:
        return {"primary_keys": ["id"], "ingestion_type": "snapshot"}

    def read_table(self, table_name: str, start_offset: dict, table_options: dict[str, str]):
        return iter([]), {}

    def latest_offset(self, table_name: str, table_options: dict, start_offset: Any = None):
        return {}

    def get_partitions(self, table_name: str, table_options: dict, *offsets: Any) -> list:
        return []

    def read_partition(self, table_name: str, partition: dict, table_options: dict):
        return iter([])


def test_the_stand_in_interface_defaults_match_the_frameworks_contract() -> None:
    """Without the framework: tables track no deletes, and streams are partitioned."""
    connector = _SmallestConnector({})
    with pytest.raises(NotImplementedError, match="table 'T' does not track deletes"):
        connector.read_table_deletes("T", {}, {})
    assert connector.is_partitioned("T") is True
