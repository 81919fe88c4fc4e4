"""The LakeflowConnect interface, for when ``databricks-labs-community-connector`` is absent.

Same shape as ``databricks.labs.community_connector.interface.LakeflowConnect`` (signatures
copied from its public contract), so the connector is the same class in both worlds: on
Databricks it subclasses the real ABC, elsewhere this one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pyspark.sql.types import StructType

try:
    from databricks.labs.community_connector.interface import (
        LakeflowConnect as _RealLakeflowConnect,
    )
except ImportError:
    _RealLakeflowConnect = None

try:
    from databricks.labs.community_connector.interface import (
        SupportsPartitionedStream as _RealSupportsPartitionedStream,
    )
except ImportError:  # the framework is absent, or predates the partition mixins
    _RealSupportsPartitionedStream = None


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


class _LocalSupportsPartitionedStream(ABC):
    """Shape-compatible stand-in for the framework's ``SupportsPartitionedStream`` mixin.

    ``get_partitions`` with both offsets None plans a batch read (``SupportsPartition``); with
    offsets, the partitions of one micro-batch. Partition dicts are JSON-serialisable.
    """

    def is_partitioned(self, table_name: str) -> bool:
        """Whether streaming reads of the table go through partitions (else the simple reader)."""
        return True

    @abstractmethod
    def latest_offset(
        self, table_name: str, table_options: dict[str, str], start_offset: dict | None = None
    ) -> dict:
        """Where the micro-batch that starts at ``start_offset`` ends."""

    @abstractmethod
    def get_partitions(
        self,
        table_name: str,
        table_options: dict[str, str],
        start_offset: dict | None = None,
        end_offset: dict | None = None,
    ) -> Sequence[dict]:
        """Partition descriptors of a batch read (offsets None) or of one micro-batch."""

    @abstractmethod
    def read_partition(
        self, table_name: str, partition: dict, table_options: dict[str, str]
    ) -> Iterator[dict]:
        """The records of one partition (runs on an executor)."""


USING_REAL_INTERFACE = _RealLakeflowConnect is not None
USING_REAL_PARTITIONS = USING_REAL_INTERFACE and _RealSupportsPartitionedStream is not None

if TYPE_CHECKING:
    LakeflowConnect = _LocalLakeflowConnect
    SupportsPartitionedStream = _LocalSupportsPartitionedStream
else:
    # The base class the connector subclasses: the real ABC when installed, else the stand-in.
    LakeflowConnect = _RealLakeflowConnect if USING_REAL_INTERFACE else _LocalLakeflowConnect
    # The framework's partition mixin when installed (its Spark reader checks isinstance).
    SupportsPartitionedStream = (
        _RealSupportsPartitionedStream if USING_REAL_PARTITIONS else _LocalSupportsPartitionedStream
    )
