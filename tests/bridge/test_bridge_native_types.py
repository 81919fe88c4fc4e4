"""``spark_types=native``: timestamps, dates and exact decimals, checked against the emulator.

Expected values come from the emulator's stored records and field metadata (Zoho's own
offsets, dates and amounts), never from the bridge's output.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from bridge_helpers import connection_options
from pyspark.sql.types import DateType, DecimalType, DoubleType, StringType, TimestampType

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.options import OptionsError

pytestmark = pytest.mark.spark


def _fields(zoho: Any, module: str) -> dict[str, dict[str, Any]]:
    return {f["api_name"]: f for f in zoho.fields(module)}


def test_native_schema_shows_timestamp_date_and_decimal(spark: Any, demo_zoho: Any) -> None:
    options = connection_options(demo_zoho, spark_types="native")
    schema = spark.read.format("zoho_crm").options(**options).load("Deals").schema
    meta = _fields(demo_zoho, "Deals")
    amount = meta["Amount"]
    assert schema["Modified_Time"].dataType == TimestampType()
    assert schema["Closing_Date"].dataType == DateType()
    assert schema["Amount"].dataType == DecimalType(
        amount["length"] + amount["decimal_place"], amount["decimal_place"]
    )
    assert schema["Probability"].dataType == DoubleType()  # a percent stays a ratio
    seed = spark.read.format("zoho_crm").options(**connection_options(demo_zoho)).load("Deals")
    assert seed.schema["Modified_Time"].dataType == StringType()
    assert seed.schema["Amount"].dataType == DoubleType()


def test_native_values_equal_the_emulator_as_instants_dates_and_exact_decimals(
    spark: Any, demo_zoho: Any
) -> None:
    options = connection_options(demo_zoho, spark_types="native")
    rows = spark.read.format("zoho_crm").options(**options).load("Deals").collect()
    truth = {int(r["id"]): r for r in demo_zoho.iter_records("Deals")}
    assert {row["id"] for row in rows} == set(truth)
    checked = 0
    for row in rows:
        record = truth[row["id"]]
        modified = dt.datetime.fromisoformat(record["Modified_Time"])
        # PySpark hands back naive datetimes in the driver's local time zone.
        assert row["Modified_Time"].astimezone(dt.UTC) == modified, row["id"]
        closing = record.get("Closing_Date")
        assert row["Closing_Date"] == (dt.date.fromisoformat(closing) if closing else None)
        amount = record.get("Amount")
        if amount is None:
            assert row["Amount"] is None
        else:
            assert row["Amount"] == Decimal(str(amount)), row["id"]
            checked += 1
    assert checked > 10


def test_a_bad_spark_types_value_names_the_option(demo_zoho: Any) -> None:
    with pytest.raises(OptionsError, match="spark_types"):
        ZohoCrmLakeflowConnect(connection_options(demo_zoho, spark_types="arrow"))


def test_lakeflow_framework_options_are_accepted_silently(
    demo_zoho: Any, caplog: pytest.LogCaptureFixture
) -> None:
    options = connection_options(
        demo_zoho, tableNameList="Leads,Deals", tableConfigs="{}", namespace="crm"
    )
    with caplog.at_level("WARNING"):
        connector = ZohoCrmLakeflowConnect(options)
    assert "Leads" in connector.list_tables()
    assert not [r for r in caplog.records if "not a Zoho CRM setting" in r.getMessage()]


def test_native_stream_reads_every_record_in_batches(
    spark: Any, demo_zoho: Any, tmp_path: Any
) -> None:
    """Offsets stay JSON and ordered by instant when rows carry timestamps, not text."""
    options = connection_options(demo_zoho, spark_types="native", max_records_per_batch="150")
    query = (
        spark.readStream.format("zoho_crm")
        .options(**options)
        .load("Leads")
        .writeStream.format("parquet")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(availableNow=True)
        .start(str(tmp_path / "leads"))
    )
    assert query.awaitTermination(300)
    assert query.exception() is None
    rows = spark.read.parquet(str(tmp_path / "leads")).collect()
    assert sorted(row["id"] for row in rows) == sorted(
        int(i) for i in demo_zoho.record_ids("Leads")
    )
