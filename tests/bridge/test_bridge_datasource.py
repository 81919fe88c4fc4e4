"""The ``zoho_crm`` PySpark data source: batch reads and availableNow streaming to parquet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bridge_helpers import connection_options, read_to_end

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def test_batch_read_returns_the_same_rows_as_the_bridge(
    spark: Any, demo_zoho: Any, demo_connector: ZohoCrmLakeflowConnect
) -> None:
    options = connection_options(demo_zoho, max_records_per_batch="400")
    for table in ("Leads", "Roles"):
        frame = spark.read.format("zoho_crm").options(**options).load(table)
        assert frame.schema == demo_connector.get_table_schema(table, {})
        spark_rows = by_id([r.asDict(recursive=True) for r in frame.collect()])
        bridge = read_to_end(demo_connector, table, {"max_records_per_batch": "400"})
        bridge_rows = by_id(bridge.records)
        assert len(spark_rows) == len(bridge_rows) > 0, table
        assert spark_rows == bridge_rows, table
    emails = spark.read.format("zoho_crm").options(**options).option("tableName", "Leads").load()
    owners = {r["email"] for r in emails.select("Owner.email").collect()}
    assert owners - {None}


def test_available_now_stream_picks_up_an_update_between_runs(
    spark: Any, fresh_zoho: Any, tmp_path: Path
) -> None:
    zoho = fresh_zoho(size={"Leads": 900})
    options = connection_options(zoho, max_records_per_batch="300")
    output = tmp_path / "leads"
    checkpoint = tmp_path / "checkpoint"

    def run_stream() -> None:
        query = (
            spark.readStream.format("zoho_crm")
            .options(**options)
            .load("Leads")
            .writeStream.format("parquet")
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start(str(output))
        )
        assert query.awaitTermination(300)
        assert query.exception() is None

    run_stream()
    first = spark.read.parquet(str(output)).collect()
    truth = {int(i) for i in zoho.record_ids("Leads")}
    assert len(first) == len(truth)
    assert {r["id"] for r in first} == truth
    batches = {p.name for p in (checkpoint / "offsets").iterdir() if p.name.isdigit()}
    assert len(batches) >= 3  # 900 records in micro-batches of at most 300

    target = sorted(truth)[17]
    zoho.update_record("Leads", str(target), {"Last_Name": "Updated between runs"})
    run_stream()
    second = spark.read.parquet(str(output)).collect()
    new_rows = [r for r in second if r not in first]
    assert [r["id"] for r in new_rows] == [target]
    assert new_rows[0]["Last_Name"] == "Updated between runs"
    modified = datetime.fromisoformat(zoho.get_record("Leads", str(target))["Modified_Time"])
    assert datetime.fromisoformat(new_rows[0]["Modified_Time"]) == modified
