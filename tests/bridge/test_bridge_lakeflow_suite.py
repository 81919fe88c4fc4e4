"""The checks of the Lakeflow Community Connectors test suite (lakeflow-connect.md section 3.2).

Run over every table of the emulated demo org, through ``ZohoCrmLakeflowConnect``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from typing import Any

import pytest
from bridge_helpers import MAX_CALLS, TableRead, connection_options, same_offset
from pyspark.sql.types import StructType

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.interface import USING_REAL_INTERFACE, LakeflowConnect

pytestmark = pytest.mark.spark  # a local SparkSession

BAD_TABLE = "__nonexistent_table_$$_9z9z9z__"
INGESTION_TYPES = {"snapshot", "cdc", "cdc_with_deletes", "append"}
SAMPLE = 200


def schema_has(schema: StructType, path: str) -> bool:
    """Is a (possibly dotted) column path present in the schema?"""
    current: Any = schema
    for part in path.split("."):
        if not isinstance(current, StructType) or part not in current.fieldNames():
            return False
        current = current[part].dataType
    return True


def test_connector_has_the_interface_shape() -> None:
    assert issubclass(ZohoCrmLakeflowConnect, LakeflowConnect)
    assert not USING_REAL_INTERFACE  # databricks-labs-community-connector is not installed here
    for method in ("list_tables", "get_table_schema", "read_table_metadata", "read_table"):
        base = inspect.signature(getattr(LakeflowConnect, method))
        ours = inspect.signature(getattr(ZohoCrmLakeflowConnect, method))
        assert list(ours.parameters) == list(base.parameters), method
    assert not inspect.isgeneratorfunction(ZohoCrmLakeflowConnect.read_table)
    assert not inspect.isgeneratorfunction(ZohoCrmLakeflowConnect.read_table_deletes)


def test_list_tables(demo_connector: ZohoCrmLakeflowConnect) -> None:
    tables = demo_connector.list_tables()
    assert isinstance(tables, list)
    assert tables
    assert all(isinstance(t, str) for t in tables)
    assert len(tables) == len(set(tables))
    assert not [t for t in tables if t.endswith("_deleted")]


def test_invalid_table_name_raises_eagerly(demo_connector: ZohoCrmLakeflowConnect) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        demo_connector.get_table_schema(BAD_TABLE, {})
    with pytest.raises(ValueError, match="unknown table"):
        demo_connector.read_table_metadata(BAD_TABLE, {})
    with pytest.raises(ValueError, match="unknown table"):
        demo_connector.read_table(BAD_TABLE, {}, {})  # raises at call time, not on iteration
    with pytest.raises(ValueError, match="unknown table"):
        demo_connector.read_table_deletes(BAD_TABLE, {}, {})


def test_get_table_schema(demo_connector: ZohoCrmLakeflowConnect, demo_zoho: Any) -> None:
    other = ZohoCrmLakeflowConnect(connection_options(demo_zoho))
    for table in demo_connector.list_tables():
        schema = demo_connector.get_table_schema(table, {})
        assert isinstance(schema, StructType), table
        assert schema.fields, table
        names = schema.fieldNames()
        assert len(names) == len(set(names)), table
        assert demo_connector.get_table_schema(table, {}) == schema, table
        # Deterministic across instances (and so across Spark workers) too.
        assert other.get_table_schema(table, {}).json() == schema.json(), table


def test_read_table_metadata(demo_connector: ZohoCrmLakeflowConnect) -> None:
    for table in demo_connector.list_tables():
        meta = demo_connector.read_table_metadata(table, {})
        assert isinstance(meta, dict), table
        assert demo_connector.read_table_metadata(table, {}) == meta, table
        assert meta["ingestion_type"] in INGESTION_TYPES, table
        schema = demo_connector.get_table_schema(table, {})
        if meta["ingestion_type"] != "append":
            keys = meta["primary_keys"]
            assert isinstance(keys, list), table
            assert keys, table
            assert all(schema_has(schema, key) for key in keys), (table, keys)
        if meta["ingestion_type"] in ("cdc", "cdc_with_deletes"):
            assert isinstance(meta["cursor_field"], str), table
            assert schema_has(schema, meta["cursor_field"]), table
        if meta["ingestion_type"] == "cdc_with_deletes":
            assert hasattr(demo_connector, "read_table_deletes"), table


def check_records(
    spark: Any,
    connector: ZohoCrmLakeflowConnect,
    table: str,
    records: Iterable[dict[str, Any]],
    *,
    require_keys: bool,
) -> int:
    schema = connector.get_table_schema(table, {})
    meta = connector.read_table_metadata(table, {})
    sample = []
    for record in records:
        assert isinstance(record, dict), table
        sample.append(record)
        if len(sample) >= SAMPLE:
            break
    required = [f.name for f in schema.fields if not f.nullable]
    for record in sample:
        assert all(record.get(name) is not None for name in required), table
        assert any(value is not None for value in record.values()), table
        if require_keys:
            assert all(record.get(k) is not None for k in meta["primary_keys"]), table
    # "passes parse_value": Spark itself must accept every record against the schema.
    frame = spark.createDataFrame(sample, schema)
    assert frame.count() == len(sample), table
    return len(sample)


def test_read_table(
    spark: Any, demo_connector: ZohoCrmLakeflowConnect, demo_reads: dict[str, TableRead]
) -> None:
    nonempty = 0
    for table, read in demo_reads.items():
        assert isinstance(read.first_result, tuple), table
        assert len(read.first_result) == 2, table
        offset = read.offsets[0]
        assert offset is None or isinstance(offset, dict), table
        json.dumps(offset)
        meta = demo_connector.read_table_metadata(table, {})
        cdc = meta["ingestion_type"] in ("cdc", "cdc_with_deletes")
        nonempty += bool(
            check_records(spark, demo_connector, table, read.batches[0], require_keys=cdc)
        )
    # Simulate mode: the demo org has data in every table, so every first read has records.
    assert nonempty == len(demo_reads), nonempty


def test_read_table_deletes(spark: Any, demo_connector: ZohoCrmLakeflowConnect) -> None:
    tables = [
        t
        for t in demo_connector.list_tables()
        if demo_connector.read_table_metadata(t, {})["ingestion_type"] == "cdc_with_deletes"
    ]
    assert tables, "no module has a deleted-records stream in the tap's catalog"
    for table in tables:
        records, offset = demo_connector.read_table_deletes(table, {}, {})
        json.dumps(offset)
        rows = list(records)
        check_records(spark, demo_connector, table, rows, require_keys=True)
        meta = demo_connector.read_table_metadata(table, {})
        assert all(r.get(meta["cursor_field"]) for r in rows), table


def test_read_terminates_within_50_calls(demo_reads: dict[str, TableRead]) -> None:
    for table, read in demo_reads.items():
        assert read.converged, (table, len(read.offsets))
        assert len(read.offsets) <= MAX_CALLS
        assert same_offset(read.offsets[-1], read.offsets[-2] if len(read.offsets) > 1 else {})
        assert read.offsets[0] is not None, table  # only snapshot tables may answer None
