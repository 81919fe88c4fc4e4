"""Spark at scale: the 120,000-record module read in partitions against one partition.

One run, side by side, on ``local[4]`` against the same emulated org at 150 ms per call and a
limit of 10 calls in flight (a Standard org, as in test_parallel_reads_bench.py):

* the batch read in partitions (the default: windows planned by the connector);
* the same read in one partition (``max_partitions=1``, the read before partitions existed);
* an availableNow stream of the whole module as a backlog (``max_records_per_batch`` left at
  its default, 100,000: two micro-batches), each micro-batch in partitions;
* the batch read as an initial read through Bulk Read jobs (the default above
  ``bulk_read_min_records``, bulk_partitions.py), for its wall time and credits.

The first three turn Bulk Read off (``bulk_read_min_records=0``): they measure the windows.

Ids are compared with the emulator's store. Spark's Python workers are started, with the tap
imported, before the clock runs, and an untimed read at zero latency fills the emulator's record
caches, so the timed reads are served alike; the partitioned read goes first.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql.functions import col, spark_partition_id

from lakeflow_bridge.datasource import register
from lakeflow_bridge.demo import local_spark
from tap_zoho_crm.config import DEFAULT_BULK_READ_MIN_RECORDS
from tap_zoho_crm.testing.emulator import ZohoEmulator

LATENCY_S = 0.15
LIMIT = 10
RECORDS = 120_000
MIN_PARTITIONS = 4
WALL_SHARE_MAX = 1 / 3


def _options(zoho: ZohoEmulator, **extra: str) -> dict[str, str]:
    """Windows (Bulk Read off) unless ``extra`` says otherwise."""
    options = {key: str(value) for key, value in zoho.tap_config().items()}
    options.update(include_modules="Leads", bulk_read_min_records="0")
    options.update(extra)
    return options


def _partitions_and_ids(frame: Any) -> tuple[int, list[str]]:
    rows = frame.select(spark_partition_id().alias("p"), col("id").cast("string")).collect()
    return len({row["p"] for row in rows}), [row["id"] for row in rows]


def _batch(spark: Any, options: dict[str, str]) -> tuple[float, int, list[str]]:
    started = time.monotonic()
    frame = spark.read.format("zoho_crm").options(**options).load("Leads")
    partitions, ids = _partitions_and_ids(frame)
    return time.monotonic() - started, partitions, ids


def _stream(spark: Any, options: dict[str, str], checkpoint: Path) -> tuple[float, list[Any]]:
    batches: list[tuple[int, int, list[str]]] = []

    def collect(frame: Any, batch_id: int) -> None:
        partitions, ids = _partitions_and_ids(frame)
        batches.append((batch_id, partitions, ids))

    started = time.monotonic()
    query = (
        spark.readStream.format("zoho_crm")
        .options(**options)
        .load("Leads")
        .writeStream.foreachBatch(collect)
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    assert query.awaitTermination(1800)
    assert query.exception() is None
    return time.monotonic() - started, batches


@pytest.mark.benchmark
@pytest.mark.spark
def test_120k_module_in_partitions_on_local4_at_150ms(tmp_path: Path) -> None:
    spark = local_spark(
        "spark-partitions-bench",
        spark_master="local[4]",
        spark_sql_warehouse_dir=str(tmp_path / "warehouse"),
        spark_local_dir=str(tmp_path / "local"),
    )
    register(spark)
    # Start the Python workers and import the tap in them before any clock runs.
    # (A lambda: Spark pickles it by value; this module is not importable in the workers.)
    spark.sparkContext.parallelize(range(8), 8).foreach(
        lambda _: [__import__(m) for m in ("lakeflow_bridge.connector", "tap_zoho_crm.tap")]
    )
    try:
        with ZohoEmulator(profile="minimal", seed=5, size={"Leads": RECORDS}) as zoho:
            details = dict(zoho.org.org_info["license_details"])
            details.update(paid=True, paid_type="standard")
            zoho.org.org_info["license_details"] = details
            truth = zoho.record_ids("Leads")
            # Untimed, at zero latency: the emulator builds and renders every record once
            # (its caches, docs/EMULATOR.md), so the timed reads below are all served warm.
            _batch(spark, _options(zoho, max_partitions="1"))
            time.sleep(1.1)  # availableNow ends before the second it starts in
            zoho.faults.latency_s = LATENCY_S
            zoho.faults.concurrency_limit = LIMIT

            zoho.limits.reset_peak()
            zoho.stats.reset()
            wall, partitions, ids = _batch(spark, _options(zoho))
            peak, credits = zoho.limits.peak_in_flight, zoho.stats.credits
            zoho.limits.reset_peak()
            zoho.stats.reset()
            one_wall, one_partitions, one_ids = _batch(spark, _options(zoho, max_partitions="1"))
            one_peak, one_credits = zoho.limits.peak_in_flight, zoho.stats.credits
            zoho.limits.reset_peak()
            stream_wall, batches = _stream(spark, _options(zoho), tmp_path / "checkpoint")
            stream_peak = zoho.limits.peak_in_flight
            zoho.limits.reset_peak()
            zoho.stats.reset()
            bulk_options = _options(zoho, bulk_read_min_records=str(DEFAULT_BULK_READ_MIN_RECORDS))
            bulk_wall, bulk_partitions, bulk_ids = _batch(spark, bulk_options)
            bulk_peak, bulk_credits = zoho.limits.peak_in_flight, zoho.stats.credits
            bulk_jobs = zoho.stats.calls["POST /crm/bulk/v8/read"]
    finally:
        spark.stop()

    print(f"\n{RECORDS:,} Leads, {LATENCY_S * 1000:.0f} ms per call, at most {LIMIT} in flight")
    print(f"{'read':<34} {'wall s':>8} {'partitions':>10} {'rows':>8} {'peak':>5} {'credits':>8}")
    print(
        f"{'batch, partitions':<34} {wall:>8.1f} {partitions:>10} {len(ids):>8} {peak:>5} "
        f"{credits:>8}"
    )
    print(
        f"{'batch, one partition':<34} {one_wall:>8.1f} {one_partitions:>10} "
        f"{len(one_ids):>8} {one_peak:>5} {one_credits:>8}"
    )
    print(
        f"{f'batch, Bulk Read ({bulk_jobs} job(s))':<34} {bulk_wall:>8.1f} {bulk_partitions:>10} "
        f"{len(bulk_ids):>8} {bulk_peak:>5} {bulk_credits:>8}"
    )
    stream_ids = [i for _, _, batch in batches for i in batch]
    widths = [width for _, width, batch in batches if batch]
    print(
        f"{'availableNow stream':<34} {stream_wall:>8.1f} {'+'.join(map(str, widths)):>10} "
        f"{len(stream_ids):>8} {stream_peak:>5}"
    )
    print(
        f"partitions: wall {wall / one_wall:.2f} of the one-partition read "
        f"(target <= {WALL_SHARE_MAX:.2f}); {len(widths)} micro-batches"
    )
    print(
        f"Bulk Read: {bulk_credits / credits:.3f}x the credits and {bulk_wall / wall:.2f}x the "
        "wall time of the read in partitions"
    )

    assert partitions >= MIN_PARTITIONS
    assert len(ids) == len(set(ids))
    assert set(ids) == truth
    assert one_partitions == 1
    assert sorted(one_ids) == sorted(truth)
    assert len(stream_ids) == len(set(stream_ids))
    assert set(stream_ids) == truth
    assert bulk_jobs >= 1
    assert sorted(bulk_ids) == sorted(truth)
    assert bulk_credits < credits
    assert len(widths) >= 2
    assert min(widths) >= 2  # several partitions in every micro-batch
    assert wall <= WALL_SHARE_MAX * one_wall
