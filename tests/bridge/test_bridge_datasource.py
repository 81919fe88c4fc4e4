"""The ``zoho_crm`` PySpark data source: batch reads and availableNow streaming to parquet."""

from __future__ import annotations

import json
import pickle
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import connection_options

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.datasource import ZohoCrmDataSource
from tests.tap.tap_helpers import expected_nested, instant, is_utc_string, listable_fields

pytestmark = pytest.mark.spark  # a local SparkSession


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def run_available_now(
    spark: Any, options: dict[str, str], table: str, output: Path, checkpoint: Path
) -> None:
    """One availableNow run of ``table`` into parquet; it must end, without an error."""
    query = (
        spark.readStream.format("zoho_crm")
        .options(**options)
        .load(table)
        .writeStream.format("parquet")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start(str(output))
    )
    assert query.awaitTermination(300)
    assert query.exception() is None


def spark_value_problems(raw: Any, got: Any, where: str) -> list[str]:
    """How a Spark value differs from the emulator's raw value (Zoho's shape).

    Structs have a fixed set of fields, so keys the truth lacks must be null there (a lookup
    without an email); ids compare as integers, datetimes as instants, ``$`` keys are Zoho's.
    Objects without a fixed shape (``Tag``, ``Layout``) come as JSON text.
    """
    if isinstance(raw, dict | list) and isinstance(got, str):
        got = json.loads(got)
    if isinstance(raw, dict):
        if not isinstance(got, dict):
            return [f"{where}: {got!r:.60} is not a struct"]
        problems = []
        for key, value in raw.items():
            if not key.startswith("$"):
                problems += spark_value_problems(value, got.get(key), f"{where}.{key}")
        extra = {k: v for k, v in got.items() if k not in raw and v is not None}
        return problems + ([f"{where}: extra {extra!r:.60}"] if extra else [])
    if isinstance(raw, list):
        if not isinstance(got, list) or len(got) != len(raw):
            return [f"{where}: {got!r:.60} != {raw!r:.60}"]
        return [
            p
            for i, (r, g) in enumerate(zip(raw, got, strict=True))
            for p in spark_value_problems(r, g, f"{where}[{i}]")
        ]
    expected = expected_nested(raw)
    if isinstance(expected, datetime):
        ok = isinstance(got, str) and is_utc_string(got) and instant(got) == expected
    elif isinstance(raw, str) and where.rsplit(".", 1)[-1] == "id":
        ok = got == int(raw)
    else:
        ok = got == expected
    return [] if ok else [f"{where}: {got!r:.60} != {raw!r:.60}"]


def test_batch_read_returns_the_emulators_records(
    spark: Any, demo_zoho: Any, demo_connector: ZohoCrmLakeflowConnect
) -> None:
    """Rows compared with the emulator's stored records, not with the connector's output."""
    options = connection_options(demo_zoho, max_records_per_batch="400")
    frame = spark.read.format("zoho_crm").options(**options).load("Leads")
    assert frame.schema == demo_connector.get_table_schema("Leads", {})
    rows = by_id([r.asDict(recursive=True) for r in frame.collect()])
    assert set(rows) == {int(i) for i in demo_zoho.record_ids("Leads")}
    fields = listable_fields(demo_zoho, "Leads")
    assert set(fields) <= set(frame.schema.fieldNames())
    for record_id, row in rows.items():
        truth = demo_zoho.get_record("Leads", str(record_id))
        problems = [
            p for name in fields for p in spark_value_problems(truth.get(name), row[name], name)
        ]
        assert not problems, (record_id, problems[:5])
    roles = spark.read.format("zoho_crm").options(**options).load("Roles").collect()
    assert sorted(r["id"] for r in roles) == sorted(int(i) for i in demo_zoho.role_ids())
    emails = spark.read.format("zoho_crm").options(**options).option("tableName", "Leads").load()
    owners = {r["email"] for r in emails.select("Owner.email").collect()}
    truth_owners = {(r.get("Owner") or {}).get("email") for r in demo_zoho.iter_records("Leads")}
    assert owners - {None}
    assert owners == truth_owners


def test_available_now_stream_picks_up_an_update_between_runs(
    spark: Any, fresh_zoho: Any, tmp_path: Path
) -> None:
    zoho = fresh_zoho(size={"Leads": 900})
    options = connection_options(zoho, max_records_per_batch="300")
    output = tmp_path / "leads"
    checkpoint = tmp_path / "checkpoint"

    def run_stream() -> None:
        run_available_now(spark, options, "Leads", output, checkpoint)

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


def test_demo_show_prints_rows_read_through_the_bridge(
    spark: Any, demo_zoho: Any, capsys: Any
) -> None:
    from lakeflow_bridge import demo  # noqa: PLC0415

    frame = demo.show(demo_zoho.tap_config(), "Leads", rows=3, spark=spark)
    out = capsys.readouterr().out
    assert f"Leads: {demo_zoho.count('Leads')} rows read through lakeflow_bridge" in out
    assert "Owner_email" in out
    assert frame.count() == demo_zoho.count("Leads")


def test_stream_reader_replays_a_committed_range_after_a_restart(fresh_zoho: Any) -> None:
    zoho = fresh_zoho(size={"Leads": 700})
    options = connection_options(zoho, max_records_per_batch="250", path="Leads")
    source = ZohoCrmDataSource(options)
    schema = source.schema()  # discovers once; the catalog travels with the data source
    reader = source.simpleStreamReader(schema)
    start = reader.initialOffset()
    assert start == {}
    first_rows, first_end = reader.read(start)
    second_rows, second_end = reader.read(first_end)
    first, second = list(first_rows), list(second_rows)
    assert len(first) == len(second) == 250

    # A restarted query re-reads committed batches through a fresh reader (in a worker).
    restarted = pickle.loads(pickle.dumps(source)).simpleStreamReader(schema)  # noqa: S301
    assert list(restarted.readBetweenOffsets(first_end, second_end)) == second
    assert list(restarted.readBetweenOffsets(start, second_end)) == first + second
    rest, end = restarted.read(second_end)
    assert len(list(rest)) == 200
    nothing, same = restarted.read(end)
    assert list(nothing) == []
    assert same == end


def test_delete_flow_reads_the_deleted_records(spark: Any, fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    live = sorted(zoho.record_ids("Contacts"))
    zoho.delete_record("Contacts", live[0])
    zoho.delete_record("Contacts", live[1], permanent=True)
    options = connection_options(zoho, isDeleteFlow="true")
    frame = spark.read.format("zoho_crm").options(**options).load("Contacts")
    rows = frame.select("id", "Modified_Time", "Last_Name").collect()
    truth = {int(entry["id"]): entry["deleted_time"] for entry in zoho.deleted_records("Contacts")}
    assert {int(live[0]), int(live[1])} <= set(truth)
    assert {r["id"] for r in rows} == set(truth)
    for row in rows:
        assert datetime.fromisoformat(row["Modified_Time"]) == datetime.fromisoformat(
            truth[row["id"]]
        )
        assert row["Last_Name"] is None  # tombstones carry only the key and the cursor


def test_plans_never_show_secrets_under_either_set_of_option_names(
    spark: Any, demo_zoho: Any
) -> None:
    """Spark prints data source options in plans and the UI, redacting only names it knows."""
    config = demo_zoho.tap_config()
    secrets = [config["client_secret"], config["refresh_token"]]
    seed_names = {
        "client_id": config["client_id"],
        "client_value_tmp": config["client_secret"],
        "refresh_value_tmp": config["refresh_token"],
        "base_url": config["base_url"],
    }
    for options in (connection_options(demo_zoho), seed_names):
        stream = spark.readStream.format("zoho_crm").options(**options).load("Roles")
        batch = spark.read.format("zoho_crm").options(**options).load("Roles")
        for frame in (stream, batch):
            plan = frame._jdf.queryExecution().toString()
            assert "zoho_crm" in plan.lower() or "Roles" in plan
            for secret in secrets:
                assert secret not in plan


def test_available_now_stops_at_the_instant_it_started(
    spark: Any, fresh_zoho: Any, tmp_path: Path
) -> None:
    """Changes stamped after the run began wait for the next run, so a busy org cannot keep
    an availableNow run going; the next run picks them up, so nothing is lost.

    No timing is assumed: the emulator holds the run's first CRM call (made after the run
    pinned its instant) until the records are changed, so the run sees the changes yet must
    leave them out.
    """
    zoho = fresh_zoho(size={"Leads": 600})
    options = connection_options(zoho, max_records_per_batch="200")
    output, checkpoint = tmp_path / "leads", tmp_path / "checkpoint"
    later = sorted(zoho.record_ids("Leads"))[:5]

    stream = spark.readStream.format("zoho_crm").options(**options).load("Leads")  # discovers
    release = threading.Event()
    zoho.faults.hold = release
    try:
        query = (
            stream.writeStream.format("parquet")
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start(str(output))
        )
        wait_for_a_held_call(zoho, query)
        # Zoho stamps whole seconds: one second on, a change cannot share the pin's second.
        zoho.clock.advance(1)
        zoho.update_records("Leads", later, {"Last_Name": "After the pin"})
    finally:
        release.set()
    assert query.awaitTermination(300)
    assert query.exception() is None
    zoho.faults.hold = None
    first = {r["id"] for r in spark.read.parquet(str(output)).collect()}
    assert first == {int(i) for i in zoho.record_ids("Leads")} - {int(i) for i in later}

    # The next run pins a later instant: wall time past the changes' stamp (at most a second
    # more, usually already gone by while the first run ran).
    stamped = datetime.fromisoformat(zoho.get_record("Leads", later[0])["Modified_Time"])
    while time.time() <= stamped.timestamp():
        time.sleep(stamped.timestamp() - time.time() + 0.01)
    run_available_now(spark, options, "Leads", output, checkpoint)
    rows = spark.read.parquet(str(output)).collect()
    assert {r["id"] for r in rows} == {int(i) for i in zoho.record_ids("Leads")}
    assert {r["id"] for r in rows if r["Last_Name"] == "After the pin"} == {int(i) for i in later}


def wait_for_a_held_call(zoho: Any, query: Any) -> None:
    """Until the emulator holds a call of the query (or the query has stopped)."""
    while zoho.calls_in_flight() == 0:
        assert query.isActive, f"the query ended without calling Zoho: {query.exception()}"
        time.sleep(0.01)
