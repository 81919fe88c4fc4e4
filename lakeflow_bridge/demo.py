"""Show a few rows of a Zoho CRM table read through the bridge into a Spark DataFrame.

Used by ``make demo`` (``scripts/demo.py``) against the emulator's demo org::

    from lakeflow_bridge import demo
    demo.show({"client_id": ..., "client_secret": ..., "refresh_token": ..., "base_url": ...})
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

PREFERRED_COLUMNS = ("id", "Last_Name", "Company", "Email", "Owner", "Modified_Time")


def local_spark(app_name: str = "zoho-crm-bridge", **extra_config: str) -> Any:
    """A small local SparkSession bound to loopback, whose Python workers use this interpreter.

    Spark's local mode otherwise binds the machine's first non-loopback address, which a
    sandboxed or offline machine may not route; the driver only ever talks to itself here.
    ``extra_config`` entries are set as Spark confs (keys use ``_`` in place of ``.``).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession  # noqa: PLC0415 - Spark starts only when asked

    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
    )
    for key, value in extra_config.items():
        builder = builder.config(key.replace("_", "."), value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def show(
    options: Mapping[str, str],
    table: str = "Leads",
    rows: int = 5,
    spark: Any = None,
) -> Any:
    """Read ``table`` with ``spark.read.format("zoho_crm")`` and print ``rows`` rows.

    ``options`` are the connection options (or the tap config: same names). Returns the
    DataFrame so callers can keep using it.
    """
    from pyspark.sql import functions  # noqa: PLC0415

    from lakeflow_bridge.datasource import register  # noqa: PLC0415

    session = spark or local_spark()
    register(session)
    frame = session.read.format("zoho_crm").options(**_as_strings(options)).load(table).cache()
    columns = [c for c in PREFERRED_COLUMNS if c in frame.columns] or frame.columns[:6]
    # Lookups are real structs: the owner's email is a nested column, not JSON text.
    selected = frame.select(
        *[functions.col("Owner.email").alias("Owner_email") if c == "Owner" else c for c in columns]
    )
    print(f"{table}: {frame.count()} rows read through lakeflow_bridge into Spark")
    selected.orderBy(columns[0]).show(rows, truncate=40)
    return frame


def _as_strings(options: Mapping[str, Any]) -> dict[str, str]:
    """Spark options are strings; lists become comma-separated (the bridge splits them)."""
    out = {}
    for key, value in options.items():
        if isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is not None:
            out[key] = str(value)
    return out
