"""The LakeflowConnect interface, for when ``databricks-labs-community-connector`` is absent.

Same shape as ``databricks.labs.community_connector.interface.LakeflowConnect`` (signatures
copied from its public contract), so the connector is the same class in both worlds: on
Databricks it subclasses the real ABC, elsewhere this one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pyspark.sql.types import StructType

try:
    from databricks.labs.community_connector.interface import (
        LakeflowConnect as _RealLakeflowConnect,
    )
except ImportError:
    _RealLakeflowConnect = None


class _LocalLakeflowConnect(ABC):
    """Shape-compatible stand-in for the Lakeflow Community Connectors ABC."""

    def __init__(self, options: dict[str, str]) -> None:
        self.options = options

    @abstractmethod
    def list_tables(self) -> list[str]:
        """Names of the tables this source offers."""

    @abstractmethod
    def get_table_schema(self, table_name: str, table_options: dict[str, str]) -> StructType:
        """The table's Spark schema."""

    @abstractmethod
    def read_table_metadata(self, table_name: str, table_options: dict[str, str]) -> dict:
        """``primary_keys``, ``cursor_field`` and ``ingestion_type`` of the table."""

    @abstractmethod
    def read_table(
        self, table_name: str, start_offset: dict, table_options: dict[str, str]
    ) -> tuple[Iterator[dict], dict]:
        """One batch of records from ``start_offset``, and the offset after it."""

    def read_table_deletes(
        self, table_name: str, start_offset: dict, table_options: dict[str, str]
    ) -> tuple[Iterator[dict], dict]:
        """One batch of deleted records; only ``cdc_with_deletes`` tables implement it."""
        raise NotImplementedError(f"table '{table_name}' does not track deletes")


USING_REAL_INTERFACE = _RealLakeflowConnect is not None

if TYPE_CHECKING:
    LakeflowConnect = _LocalLakeflowConnect
else:
    # The base class the connector subclasses: the real ABC when installed, else the stand-in.
    LakeflowConnect = _RealLakeflowConnect if USING_REAL_INTERFACE else _LocalLakeflowConnect
