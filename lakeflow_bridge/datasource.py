"""The PySpark data source ``zoho_crm``: batch and streaming reads through the connector.

::

    lakeflow_bridge.datasource.register(spark)  # or spark.dataSource.register(ZohoCrmDataSource)
    df = spark.read.format("zoho_crm").options(**opts).load("Leads")
    (spark.readStream.format("zoho_crm").options(**opts).load("Leads")
        .writeStream.format("parquet").option("checkpointLocation", ckpt)
        .trigger(availableNow=True).start(path))

Spark runs this code in Python worker processes: options arrive as (lower-cased) strings and
the connector is rebuilt there. The catalog discovered while Spark asks for the schema travels
with the pickled data source, so workers do not discover again. So does the access token: the
data source, its readers and their partitions carry it as a pickled field (never as an option,
so it is in no plan, ``EXPLAIN`` or Spark UI page), and workers mint only near its expiry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    DataSourceStreamReader,
    InputPartition,
    SimpleDataSourceStreamReader,
)
from pyspark.sql.types import StructType

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect, ZohoCrmReadError
from lakeflow_bridge.offsets import (
    IncrementalBatch,
    cursor_key,
    is_from_start,
    offset_reached,
    record_within,
)
from lakeflow_bridge.options import option
from lakeflow_bridge.partitions import KIND, WHOLE, pin_now
from lakeflow_bridge.tables import MODULE_KEY
from lakeflow_bridge.workers import check_worker_python

try:  # Spark >= 4.2
    from pyspark.sql.streaming.datasource import SupportsTriggerAvailableNow

    #: ``latestOffset(start, limit)``: the partitioned stream reader needs the start it is given.
    STREAM_READER_GETS_START = True
except ImportError:  # pragma: no cover - older Spark: availableNow runs a single batch
    STREAM_READER_GETS_START = False

    class SupportsTriggerAvailableNow:  # type: ignore[no-redef]
        """Placeholder so the reader's bases stay the same on older Spark."""


DELETE_FLOW_OPTION = "isDeleteFlow"
_NOT_CONVERGED = (
    "reading table '{table}' did not finish within its bound on tap runs; raise "
    "max_records_per_batch so each run covers more records"
)
MAX_REPLAY_CALLS = 10_000
"""Bound on the tap runs one replay or batch read may make (each advances the offset)."""


class ZohoCrmDataSource(DataSource):
    """``spark.read.format("zoho_crm")``: every table the connector lists, by name."""

    def __init__(self, options: Mapping[str, str]) -> None:
        super().__init__(options)  # type: ignore[arg-type]
        self._catalog: dict[str, Any] | None = None
        self._token: Any = None

    @classmethod
    def name(cls) -> str:
        """The format name."""
        return "zoho_crm"

    def schema(self) -> StructType:
        """The table's schema; discovering it here caches the catalog for the workers."""
        connector = self._connector()
        schema = connector.get_table_schema(self._table(), _plain(self.options))
        self._token = connector.access_token()
        return schema

    def reader(self, schema: StructType) -> DataSourceReader:
        """Batch reads."""
        return ZohoCrmBatchReader(
            _plain(self.options), self._table(), self._catalog, schema, self._driver_token()
        )

    def simpleStreamReader(self, schema: StructType) -> SimpleDataSourceStreamReader:  # noqa: N802
        """Streaming reads (``SimpleDataSourceStreamReader``, micro-batches of one tap run)."""
        return ZohoCrmStreamReader(
            _plain(self.options), self._table(), self._catalog, schema, self._driver_token()
        )

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:  # noqa: N802
        """Partitioned streaming reads, for a module big enough for two partitions.

        Any other table (and a deletes flow, and Spark before 4.2, whose ``latestOffset`` is not
        given the start) raises NotImplementedError here, and Spark falls back to
        `simpleStreamReader`.
        """
        options = _plain(self.options)
        deletes = str(option(options, DELETE_FLOW_OPTION) or "").lower() == "true"
        if (
            deletes
            or not STREAM_READER_GETS_START
            or not self._connector().is_partitioned(self._table())
        ):
            return super().streamReader(schema)
        return ZohoCrmPartitionedStreamReader(
            options, self._table(), self._catalog, schema, self._driver_token()
        )

    def _driver_token(self) -> Any:
        """The token to ship to workers: the one got with the schema, else one got now."""
        if self._token is None or not self._token.is_fresh():
            self._token = self._connector().access_token()
        return self._token

    def _table(self) -> str:
        name = option(self.options, "tableName") or option(self.options, "path")
        if not name:
            raise ValueError(
                'say which table to read: .load("Leads") or .option("tableName", "Leads")'
            )
        return str(name)

    def _connector(self) -> ZohoCrmLakeflowConnect:
        connector = ZohoCrmLakeflowConnect.from_catalog(_plain(self.options), self._catalog)
        connector.adopt_token(self._token)
        self._catalog = connector.catalog
        return connector


class TablePartition(InputPartition):
    """One partition of a table read; it carries the driver's token to the executor.

    ``descriptor`` is the connector's partition dict (partitions.py): a window of a module, or
    the whole table.
    """

    def __init__(self, table: str, token: Any, descriptor: dict[str, Any] | None = None) -> None:
        super().__init__(table)
        self.token = token
        self.descriptor = dict(descriptor) if descriptor is not None else dict(WHOLE)

    def __repr__(self) -> str:
        """Name the table and the window only (the token must not reach logs)."""
        window = {
            k: v for k, v in self.descriptor.items() if k in ("start", "until", "job", "upto")
        }
        return f"TablePartition({self.value!r}, {window})"


class _TableReading:
    """What batch and stream readers share: the table, its options and a lazy connector."""

    def __init__(
        self,
        options: dict[str, str],
        table: str,
        catalog: Mapping[str, Any] | None,
        schema: StructType,
        token: Any = None,
    ) -> None:
        self._options = options
        self._token = token
        self._table = table
        self._catalog = dict(catalog) if catalog is not None else None
        self._schema = schema
        self._deletes = str(option(options, DELETE_FLOW_OPTION) or "").lower() == "true"
        self._connector_instance: ZohoCrmLakeflowConnect | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Workers rebuild the connector; only plain data is pickled.
        state = dict(self.__dict__)
        state["_connector_instance"] = None
        return state

    def _connector(self) -> ZohoCrmLakeflowConnect:
        if self._connector_instance is None:
            self._connector_instance = ZohoCrmLakeflowConnect.from_catalog(
                self._options, self._catalog
            )
            self._connector_instance.adopt_token(self._token)
        return self._connector_instance

    def _read_batch(self, start: dict) -> tuple[list[dict[str, Any]], dict]:
        connector = self._connector()
        read = connector.read_table_deletes if self._deletes else connector.read_table
        records, end = read(self._table, start, self._options)
        return list(records), end

    def _rows(self, records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        names = self._schema.fieldNames()
        return [tuple(record.get(name) for name in names) for record in records]


class ZohoCrmBatchReader(_TableReading, DataSourceReader):
    """Reads the whole table, one row per primary key; a big module in several partitions."""

    def partitions(self) -> list[InputPartition]:
        """The connector's plan: windows of a big module (partitions.py), else one partition."""
        if self._deletes:
            descriptors = [dict(WHOLE)]
        else:
            descriptors = self._connector().get_partitions(self._table, self._options)
        return [TablePartition(self._table, self._token, d) for d in descriptors]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        """The partition's rows; a record updated between two batches appears once, as updated."""
        connector = self._connector()
        connector.adopt_token(getattr(partition, "token", None))
        descriptor = getattr(partition, "descriptor", None) or dict(WHOLE)
        if descriptor.get(KIND) == WHOLE[KIND]:
            records = connector.read_whole_table(self._table, self._options, deletes=self._deletes)
        else:
            records = list(connector.read_partition(self._table, descriptor, self._options))
        yield from self._rows(records)


class ZohoCrmStreamReader(_TableReading, SimpleDataSourceStreamReader, SupportsTriggerAvailableNow):
    """Micro-batches of at most ``max_records_per_batch`` records, resuming from the offset.

    With ``trigger(availableNow=True)`` (Spark 4.2 and later) the query pins "now" when it
    starts and ends once every record changed up to then is read: an org that keeps changing
    cannot keep the run going. Records changed after the pin wait for the next run. On older
    Spark the mixin is missing and Spark pins the first batch's end instead (one batch a run).
    """

    _until: str | None = None

    def initialOffset(self) -> dict:  # noqa: N802
        """A new query starts from the beginning of the table."""
        return {}

    def read(self, start: dict) -> tuple[Iterator[tuple[Any, ...]], dict]:
        """One batch from ``start`` and the offset after it (the same offset if none)."""
        records, end = self._read_batch(start)
        if self._until is not None and records:
            records, end = self._cut_at_pin(start, records, end)
        return iter(self._rows(records)), end

    def readBetweenOffsets(self, start: dict, end: dict) -> Iterator[tuple[Any, ...]]:  # noqa: N802
        """Re-read, after a restart, a batch Spark planned but did not commit.

        Zoho serves current records only, so the replay holds the current version of each
        record up to ``end``: a record changed since the batch was planned has moved past
        ``end`` and arrives in a later batch instead (right for upsert sinks; an append sink
        gets its new version later, not its old one now).
        """
        connector = self._connector()
        meta = connector.read_table_metadata(self._table, self._options)
        cursor = str(meta.get("cursor_field") or "")
        key = (meta.get("primary_keys") or [MODULE_KEY])[0]
        bounded = bool(cursor) and not is_from_start(end) and "replication_key_value" in end
        rows: list[tuple[Any, ...]] = []
        offset = start
        for _ in range(MAX_REPLAY_CALLS):
            records, after = self._read_batch(offset)
            if bounded:
                # Rows of the table carry the table's cursor (tombstones too), whatever the
                # stream behind the offset calls it.
                records = [r for r in records if record_within(r, cursor, key, end)]
            rows.extend(self._rows(records))
            if after == offset or offset_reached(after, end):
                break
            offset = after
        else:
            raise ZohoCrmReadError(_NOT_CONVERGED.format(table=self._table))
        return iter(rows)

    def commit(self, end: dict) -> None:
        """Nothing to release: each batch is a finished tap run."""

    def prepareForTriggerAvailableNow(self) -> None:  # noqa: N802
        """Pin the end of an availableNow run at the current instant."""
        self._until = datetime.now(UTC).isoformat()

    def _cut_at_pin(
        self, start: dict, records: list[dict[str, Any]], end: dict
    ) -> tuple[list[dict[str, Any]], dict]:
        """Keep the records changed up to the pin; the offset ends after the last one kept."""
        meta = self._connector().read_table_metadata(self._table, self._options)
        cursor = meta.get("cursor_field")
        if not cursor or meta["ingestion_type"] == "snapshot":
            return records, end
        limit = cursor_key(self._until)
        kept = [r for r in records if cursor_key(r.get(cursor)) <= limit]
        if len(kept) == len(records):
            return records, end
        if not kept:
            return [], start
        batch = IncrementalBatch(
            cursor_field=str(cursor),
            key_field=(meta.get("primary_keys") or [MODULE_KEY])[0],
            start_offset=start,
            limit=len(kept),
        )
        for record in kept:
            batch.offer(record)
        return batch.result()


class ZohoCrmPartitionedStreamReader(
    _TableReading, DataSourceStreamReader, SupportsTriggerAvailableNow
):
    """Micro-batches of a big module, each read as several windows on the executors.

    ``latestOffset`` ends a micro-batch before an instant: ``max_records_per_batch`` records on
    from the start, or now (the availableNow pin) if fewer are left; ``partitions`` splits it
    into windows (partitions.py). Offsets are the simple reader's (the tap's bookmark), so a
    checkpoint survives a switch between the two readers.
    """

    _until: Any = None

    def initialOffset(self) -> dict:  # noqa: N802
        """A new query starts from the beginning of the table."""
        return {}

    def latestOffset(self, start: dict, limit: Any = None) -> dict:  # noqa: N802
        """The end of the next micro-batch (``start`` itself when nothing is new)."""
        cap = self._until if self._until is not None else pin_now()
        return self._connector().offset_until(self._table, self._options, start, cap)

    def partitions(self, start: dict, end: dict) -> list[InputPartition]:
        """The micro-batch's windows; none when ``start`` equals ``end``."""
        connector = self._connector()
        descriptors = connector.get_partitions(self._table, self._options, start, end)
        if not descriptors:
            return []
        # A query outlives a token (an hour): each micro-batch ships the driver's current one,
        # so executors never mint (Zoho allows 10 mints in 10 minutes).
        token = connector.access_token()
        return [TablePartition(self._table, token, d) for d in descriptors]

    def read(self, partition: InputPartition) -> Iterator[tuple[Any, ...]]:
        """The rows of one window (on an executor, with the driver's token)."""
        connector = self._connector()
        connector.adopt_token(getattr(partition, "token", None))
        descriptor = getattr(partition, "descriptor", None) or dict(WHOLE)
        records = list(connector.read_partition(self._table, descriptor, self._options))
        return iter(self._rows(records))

    def commit(self, end: dict) -> None:
        """Nothing to release: each window read is a finished tap run."""

    def prepareForTriggerAvailableNow(self) -> None:  # noqa: N802
        """Pin the end of an availableNow run at the current instant."""
        self._until = pin_now()


def _plain(options: Mapping[str, str]) -> dict[str, str]:
    return {str(key): value for key, value in options.items()}


def lakeflow_source_class() -> type:
    """The Lakeflow framework's data source bound to this connector (needs the framework).

    On Databricks, with ``databricks-labs-community-connector`` installed in the pipeline
    environment, this is what its ``ingest(spark, pipeline_spec)`` reads through (format
    ``lakeflow_connect``), exactly like the framework's own per-source subclasses.
    """
    try:
        from databricks.labs.community_connector.sparkpds.lakeflow_datasource import (  # noqa: PLC0415
            LakeflowSource,
        )
    except ImportError as exc:
        raise ImportError(
            "the Lakeflow Community Connectors framework is not installed; install "
            "databricks-labs-community-connector in the pipeline environment, or use the "
            "'zoho_crm' data source (ZohoCrmDataSource) on plain Spark"
        ) from exc
    return type(  # pragma: no cover - runs only where the framework is installed
        "ZohoCrmLakeflowSource",
        (LakeflowSource,),
        {"_lakeflow_connect_cls": ZohoCrmLakeflowConnect},
    )


#: Option names that carry secrets but match neither of Spark's default redaction patterns
#: (``spark.redaction.regex``: secret|password|token|access.key; options: url): the seed
#: doc's names. Without this, ``explain()`` and the Spark UI show their values.
SECRET_OPTION_PATTERN = "client_value_tmp|refresh_value_tmp"  # noqa: S105 - names, not values
OPTIONS_REDACTION_CONF = "spark.sql.redaction.options.regex"


def redact_secret_options(spark: Any) -> None:
    """Make the session redact the seed doc's secret option names in plans and the UI."""
    current = spark.conf.get(OPTIONS_REDACTION_CONF, "(?i)url")
    if SECRET_OPTION_PATTERN not in current:
        spark.conf.set(OPTIONS_REDACTION_CONF, f"{current}|{SECRET_OPTION_PATTERN}")


def register(spark: Any) -> None:
    """Register the ``zoho_crm`` data source, with the seed doc's secret names redacted.

    Checks first that Spark's worker Python can import the bridge (`check_worker_python`).
    """
    check_worker_python(getattr(spark.sparkContext, "pythonExec", None))
    redact_secret_options(spark)
    spark.dataSource.register(ZohoCrmDataSource)


def register_lakeflow_source(spark: Any) -> None:
    """Register the Lakeflow framework's ``lakeflow_connect`` source for Zoho CRM."""
    redact_secret_options(spark)
    spark.dataSource.register(lakeflow_source_class())
