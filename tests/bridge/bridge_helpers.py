"""Helpers shared by the bridge tests (ground truth comes from the emulator's Python API)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DEMO_SEED = 7
MAX_CALLS = 50
"""The Lakeflow test suite's read_termination_max_iterations."""


def connection_options(zoho: Any, **extra: str) -> dict[str, str]:
    """Connection options as Spark passes them: every value a string."""
    options = {key: str(value) for key, value in zoho.tap_config().items()}
    options.update(extra)
    return options


def same_offset(a: Any, b: Any) -> bool:
    """Offsets compared the way the Lakeflow suite does (JSON with sorted keys)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@dataclass
class TableRead:
    """One table read from ``{}`` until two consecutive offsets were equal."""

    first_result: tuple[Any, ...]
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    offsets: list[Any] = field(default_factory=list)
    converged: bool = False

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for batch in self.batches for record in batch]


def read_to_end(
    connector: Any,
    table: str,
    table_options: dict[str, str] | None = None,
    *,
    start: dict[str, Any] | None = None,
    deletes: bool = False,
) -> TableRead:
    """Feed offsets back like Lakeflow does, up to MAX_CALLS times."""
    read = connector.read_table_deletes if deletes else connector.read_table
    offset: Any = {} if start is None else start
    result = read(table, offset, table_options or {})
    outcome = TableRead(first_result=result)
    for _ in range(MAX_CALLS):
        records_iter, end = result
        outcome.batches.append(list(records_iter))
        outcome.offsets.append(end)
        if same_offset(end, offset):
            outcome.converged = True
            break
        offset = end
        result = read(table, offset, table_options or {})
    return outcome


def each_available_now_batch(
    spark: Any, options: dict[str, str], table: str, checkpoint: Any, collect: Any
) -> None:
    """One availableNow run of ``table``, each micro-batch handed to ``collect(frame, id)``."""
    query = (
        spark.readStream.format("zoho_crm")
        .options(**options)
        .load(table)
        .writeStream.foreachBatch(collect)
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    assert query.awaitTermination(300)
    assert query.exception() is None
