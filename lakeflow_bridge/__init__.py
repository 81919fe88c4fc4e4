"""Replays tap-zoho-crm Singer messages into Databricks Lakeflow Connect and PySpark.

The public surface is two names (imported lazily, so ``import lakeflow_bridge`` stays cheap):
``ZohoCrmLakeflowConnect`` (the LakeflowConnect implementation) and ``ZohoCrmDataSource`` (the
PySpark data source ``zoho_crm``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeflow_bridge.workers import PYSPARK_MISSING, has_pyspark

if not has_pyspark():
    raise ImportError(PYSPARK_MISSING)

if TYPE_CHECKING:
    from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
    from lakeflow_bridge.datasource import ZohoCrmDataSource

__all__ = ["ZohoCrmDataSource", "ZohoCrmLakeflowConnect"]


def __getattr__(name: str) -> Any:
    if name == "ZohoCrmLakeflowConnect":
        from lakeflow_bridge.connector import ZohoCrmLakeflowConnect  # noqa: PLC0415

        return ZohoCrmLakeflowConnect
    if name == "ZohoCrmDataSource":
        from lakeflow_bridge.datasource import ZohoCrmDataSource  # noqa: PLC0415

        return ZohoCrmDataSource
    raise AttributeError(f"module 'lakeflow_bridge' has no attribute {name!r}")
