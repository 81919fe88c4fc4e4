"""Partitioned reads through a local SparkSession: batch, and availableNow streaming.

Truth comes from the emulator's store (its ids, its observed calls in flight and token mints),
never from the connector.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import DEMO_SEED, connection_options, each_available_now_batch
from pyspark.errors import PySparkNotImplementedError
from pyspark.sql.functions import col, spark_partition_id

from lakeflow_bridge.datasource import ZohoCrmDataSource, ZohoCrmPartitionedStreamReader
from tap_zoho_crm.client.auth import TOKEN_CACHE
from tap_zoho_crm.testing.emulator import ZohoEmulator

pytestmark = pytest.mark.spark

TOKEN = "POST /oauth/v2/token"
BIG = 1_200
BUDGET = 3


def options_for(zoho: ZohoEmulator, **extra: str) -> dict[str, str]:
    chosen = {"window_min_records": "200", "max_concurrency": str(BUDGET)}
    return connection_options(zoho, **{**chosen, **extra})


def partition_ids(frame: Any) -> tuple[set[int], list[str]]:
    """(the Spark partitions that held rows, every id read) of a DataFrame of the source."""
    rows = frame.select(spark_partition_id().alias("p"), col("id").cast("string")).collect()
    return {row["p"] for row in rows}, [row["id"] for row in rows]


def test_a_big_module_is_read_in_several_partitions_within_the_budget(spark: Any) -> None:
    TOKEN_CACHE.clear()
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 70, size={"Leads": BIG}) as zoho:
        zoho.limits.reset_peak()
        frame = spark.read.format("zoho_crm").options(**options_for(zoho)).load("Leads")
        partitions, ids = partition_ids(frame)
        assert len(partitions) >= 2
        assert len(ids) == len(set(ids))
        assert set(ids) == zoho.record_ids("Leads")
        # The budget is split across partitions, whatever Spark runs at once.
        assert zoho.limits.peak_in_flight <= BUDGET
        assert zoho.stats.calls[TOKEN] <= 1  # the driver's token travelled with the partitions


def test_streams_pick_their_reader_by_size() -> None:
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 71, size={"Leads": BIG}) as zoho:
        small = next(m for m in zoho.module_names() if 0 < zoho.count(m) < 400)
        for table, partitioned in (("Leads", True), (small, False), ("Roles", False)):
            source = ZohoCrmDataSource({**options_for(zoho), "path": table})
            schema = source.schema()
            if partitioned:
                assert isinstance(source.streamReader(schema), ZohoCrmPartitionedStreamReader)
            else:  # Spark falls back to simpleStreamReader
                with pytest.raises(PySparkNotImplementedError):
                    source.streamReader(schema)
        deletes = ZohoCrmDataSource({**options_for(zoho), "path": "Leads", "isDeleteFlow": "true"})
        with pytest.raises(PySparkNotImplementedError):
            deletes.streamReader(deletes.schema())


def test_available_now_reads_a_backlog_in_partitioned_micro_batches(
    spark: Any, tmp_path: Path
) -> None:
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 72, size={"Leads": BIG}) as zoho:
        time.sleep(1.1)  # availableNow ends before the second it starts in: let it pass
        options = options_for(zoho, max_records_per_batch="400")
        batches: list[tuple[int, set[int], list[str]]] = []

        def collect(frame: Any, batch_id: int) -> None:
            partitions, ids = partition_ids(frame)
            batches.append((batch_id, partitions, ids))

        each_available_now_batch(spark, options, "Leads", str(tmp_path / "checkpoint"), collect)
        ids = [i for _, _, batch in batches for i in batch]
        assert len([b for b in batches if b[2]]) >= 2  # several micro-batches
        assert max(len(partitions) for _, partitions, _ in batches) >= 2
        assert len(ids) == len(set(ids))
        assert set(ids) == zoho.record_ids("Leads")


def test_each_micro_batch_ships_a_fresh_token_so_executors_never_mint() -> None:
    """A query outlives its first token. With the token cache file off, only what the pickled
    partitions carry can spare an executor a mint: the runner refreshes once, not each executor."""
    TOKEN_CACHE.clear()
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 73, size={"Leads": BIG}) as zoho:
        time.sleep(1.1)  # a micro-batch ends before the second it is planned in
        zoho.token_ttl = 8  # fresh for 6 s (a quarter of the lifetime is the safety margin)
        options = {**options_for(zoho, token_cache="false", max_records_per_batch="600")}
        source = ZohoCrmDataSource({**options, "path": "Leads"})
        reader = source.streamReader(source.schema())
        assert isinstance(reader, ZohoCrmPartitionedStreamReader)
        seen: list[str] = []
        start: dict[str, Any] = {}
        for batch in range(2):
            if batch:
                time.sleep(7)  # the token the query started with is stale now
            end = reader.latestOffset(start, None)
            partitions = reader.partitions(start, end)
            assert len(partitions) >= 2
            for partition in partitions:
                TOKEN_CACHE.clear()  # an executor: nothing but what was pickled
                executor = pickle.loads(pickle.dumps(reader))  # noqa: S301
                rows = executor.read(pickle.loads(pickle.dumps(partition)))  # noqa: S301
                seen += [str(row[executor._schema.fieldNames().index("id")]) for row in rows]
            start = end
        assert len(seen) == len(set(seen))
        assert set(seen) <= zoho.record_ids("Leads")
        assert len(seen) >= 1_000
        # The first token, and one refresh by the runner for the second micro-batch.
        assert zoho.stats.calls[TOKEN] == 2
