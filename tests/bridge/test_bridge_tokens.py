"""One access token for a Spark session and a Lakeflow replay: minted once, carried to workers.

The emulator keeps Zoho's limit on (10 mints per refresh token in 10 minutes); each
``POST /oauth/v2/token`` in its call log is a mint or a refusal.
"""

from __future__ import annotations

import pickle
import re
import time
from functools import reduce
from typing import Any

import pytest
from bridge_helpers import DEMO_SEED, connection_options, read_to_end
from pyspark.sql.functions import col, lit

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.datasource import ZohoCrmDataSource
from tap_zoho_crm.client.auth import TOKEN_CACHE
from tap_zoho_crm.client.token_cache import CACHE_DIR_ENV
from tap_zoho_crm.testing.emulator import ZohoEmulator

pytestmark = pytest.mark.spark

TOKEN = "POST /oauth/v2/token"
ACCESS_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
EXTRA_MODULES = 19  # with the minimal org's 11 modules: 30 tables


def assert_no_secrets(text: str, zoho: ZohoEmulator) -> None:
    assert zoho.client_secret not in text
    assert zoho.refresh_token not in text
    for token in zoho.issued_access_tokens():
        assert token not in text
    assert not ACCESS_TOKEN.search(text)


def explain(df: Any) -> str:
    """``EXPLAIN EXTENDED`` of a DataFrame, as the SQL command returns it."""
    df.createOrReplaceTempView("token_check")
    return str(df.sparkSession.sql("EXPLAIN EXTENDED SELECT * FROM token_check").collect()[0][0])


def test_thirty_tables_through_spark_and_lakeflow_mint_one_token(
    spark: Any, monkeypatch: pytest.MonkeyPatch, session_token_cache: str
) -> None:
    # Spark's Python workers use the session's cache directory (their environment is fixed when
    # Spark starts); this process uses the same one, as one machine's processes do.
    monkeypatch.setenv(CACHE_DIR_ENV, session_token_cache)
    TOKEN_CACHE.clear()
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 40, token_mint_limit=10) as zoho:
        for number in range(EXTRA_MODULES):
            zoho.add_module(f"Small_{number:02d}", count=2)
        modules = zoho.module_names()
        assert len(modules) == 30
        options = connection_options(zoho, include_modules=",".join(modules))
        started = time.monotonic()
        # One job over the 30 tables (each is still its own zoho_crm read): lean on Spark.
        tables = [
            spark.read.format("zoho_crm")
            .options(**options)
            .load(module)
            .select(lit(module).alias("table"), col("id").cast("string").alias("id"))
            for module in modules
        ]
        spark_ids: dict[str, set[str]] = {module: set() for module in modules}
        for row in reduce(lambda a, b: a.unionByName(b), tables).collect():
            spark_ids[row["table"]].add(row["id"])
        spark_seconds = time.monotonic() - started
        connector = ZohoCrmLakeflowConnect(options)
        replayed = {module: read_to_end(connector, module) for module in modules}
        for module in modules:
            truth = zoho.record_ids(module)
            assert spark_ids[module] == truth, module
            assert replayed[module].converged, module
            assert {str(r["id"]) for r in replayed[module].records} == truth, module
        assert zoho.stats.calls[TOKEN] <= 1  # one mint, and no refusal
        print(f"30 tables: Spark {spark_seconds:.1f} s, replay {time.monotonic() - started:.1f} s")


def test_the_token_is_in_no_plan_explain_or_option(spark: Any) -> None:
    TOKEN_CACHE.clear()
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 41, token_mint_limit=10) as zoho:
        options = connection_options(zoho, include_modules="Leads")
        df = spark.read.format("zoho_crm").options(**options).load("Leads")
        assert {str(row["id"]) for row in df.select("id").collect()} == zoho.record_ids("Leads")
        assert zoho.stats.calls[TOKEN] == 1
        assert zoho.issued_access_tokens()
        plans = explain(df)
        assert "zoho_crm" in plans or "Leads" in plans
        assert_no_secrets(plans, zoho)
        shown_options = str(df._jdf.queryExecution().analyzed())
        assert_no_secrets(shown_options, zoho)
        assert not set(zoho.issued_access_tokens()) & set(options.values())


def test_pickled_reader_partition_and_connector_carry_the_token() -> None:
    """With the cache file off, only what the pickled objects carry can spare a worker a mint."""
    TOKEN_CACHE.clear()
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 42, token_mint_limit=10) as zoho:
        options = connection_options(
            zoho, include_modules="Leads", token_cache="false", path="Leads"
        )
        source = ZohoCrmDataSource(options)
        reader = source.reader(source.schema())
        (partition,) = reader.partitions()
        connector = ZohoCrmLakeflowConnect(options)
        shipped = pickle.dumps((reader, partition, connector))
        assert zoho.stats.calls[TOKEN] == 1
        TOKEN_CACHE.clear()  # a worker process: nothing of the driver's but what was pickled
        worker_reader, worker_partition, worker_connector = pickle.loads(shipped)  # noqa: S301
        rows = list(worker_reader.read(worker_partition))
        assert len(rows) == zoho.count("Leads")
        TOKEN_CACHE.clear()  # another worker
        (_, _, worker_connector) = pickle.loads(shipped)  # noqa: S301
        records, _ = worker_connector.read_table("Leads", {}, {})
        assert {str(r["id"]) for r in records} == zoho.record_ids("Leads")
        assert zoho.stats.calls[TOKEN] == 1  # the workers never minted
        assert "1000." not in repr(partition)
        assert "1000." not in repr(connector)
