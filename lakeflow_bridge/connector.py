"""``ZohoCrmLakeflowConnect``: the tap behind the Lakeflow Connect interface.

Each call runs the tap in-process for exactly one stream (a catalog that holds only that
stream), starting from the offset as the stream's Singer bookmark, and replays its messages
into one batch. Discovery runs once per connector instance (and is shared for a few minutes by
instances with the same options); every later call hands the tap the cached catalog, so field
metadata is not read again. The connector makes no HTTP call itself.

The access token travels with a pickled connector (``__getstate__``): Spark and the Lakeflow
framework pickle connectors to their Python workers, which then use the driver's token instead
of minting their own (Zoho allows 10 mints per refresh token in 10 minutes). It never travels
as an option, so it is never in a plan, ``EXPLAIN`` or the Spark UI.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, Self

from pyspark.sql.types import StructType

from lakeflow_bridge.bulk_partitions import (
    BULK,
    PARTITION_RECORDS_OPTION,
    BulkCollector,
    BulkPartition,
    plan_bulk_partitions,
)
from lakeflow_bridge.interface import LakeflowConnect, SupportsPartitionedStream
from lakeflow_bridge.offsets import IncrementalBatch, SnapshotBatch, is_from_start, tap_state_for
from lakeflow_bridge.options import (
    OptionsError,
    max_records_per_batch,
    native_spark_types,
    option,
    positive_int_option,
    tap_config_from_options,
)
from lakeflow_bridge.partitions import (
    KIND,
    WHOLE,
    WINDOW,
    PartitionPlanner,
    WindowCollector,
    WindowPartition,
    max_partitions,
    offset_position,
    pin_now,
)
from lakeflow_bridge.replay import RecordEvent, SingerReplay
from lakeflow_bridge.rows import RecordConformError, record_conformer
from lakeflow_bridge.sources import (
    InProcessTapSource,
    Message,
    discover_catalog,
    preserved_signal_handlers,
)
from lakeflow_bridge.spark_types import to_struct_type
from lakeflow_bridge.tables import MODULE_KEY, TableSpec, tables_from_catalog

DELETED_CURSOR = "deleted_time"
#: How long connectors of one process with the same options reuse one discovery.
CATALOG_TTL_SECONDS = 600.0
_CATALOG_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}
_CATALOG_LOCK = threading.Lock()

TOMBSTONES_SETTING = "emit_tombstones"
SKIP_SETTING = "skip_unavailable_streams"
BUDGET_SETTING = "max_credits_per_run"
BULK_SETTING = "bulk_read_min_records"
#: The tap's largest ``max_credits_per_run``: in effect no budget of the tap's own.
NO_RUN_BUDGET = 100_000_000
TOMBSTONE_COLUMN = "_sdc_deleted_at"
DELETE_FLOW_OPTION = "isDeleteFlow"
MAX_REPLAY_CALLS = 10_000
"""Bound on the tap runs one whole-table read may make (each advances the offset)."""
_NOT_CONVERGED = (
    "reading table '{table}' did not finish within its bound on tap runs; raise "
    "max_records_per_batch so each run covers more records"
)
#: Settings of the tap run that reads one window partition: the window is in the state, and
#: the run is one walk (no plan of its own, no other stream ahead of it).
WINDOW_RUN_SETTINGS = {"windowed_reads": False, "streams_in_flight": 1}

logger = logging.getLogger(__name__)


class ZohoCrmReadError(RuntimeError):
    """Reading a table through the tap failed; the message names the table and the cause."""


def _tap_class() -> Any:
    # Imported on first use: importing the bridge (e.g. in a Spark driver) stays cheap.
    from tap_zoho_crm.tap import TapZohoCrm  # noqa: PLC0415

    return TapZohoCrm


class ZohoCrmLakeflowConnect(LakeflowConnect, SupportsPartitionedStream):
    """Zoho CRM as a Lakeflow Connect source, replaying the tap-zoho-crm Singer tap.

    Big modules are read in partitions (``SupportsPartitionedStream``): Modified_Time windows
    (partitions.py), or for an initial read above ``bulk_read_min_records`` records, Bulk Read
    jobs (bulk_partitions.py).
    """

    def __init__(self, options: dict[str, str]) -> None:
        super().__init__(options)
        self.options = options
        self._tap_config = tap_config_from_options(options, _tap_class().config_jsonschema)
        # The tap declares each setting forced here (a test checks it), so none is a stray key.
        if self._tap_config.get(TOMBSTONES_SETTING):
            logger.warning(
                "option '%s' is ignored: deletes reach Lakeflow through read_table_deletes",
                TOMBSTONES_SETTING,
            )
        # Tombstones in a module stream would upsert all-null rows (the reference
        # connector's bug); the deletes flow carries them instead.
        self._tap_config[TOMBSTONES_SETTING] = False
        # A stream the tap skips would read as an empty table, and an empty snapshot
        # makes Lakeflow delete every row of the target: a refused read must fail.
        self._tap_config[SKIP_SETTING] = False
        # A junction is read as a snapshot, without state: a pass the tap spread over runs
        # to keep to its budget would read as a partial table, and Lakeflow would delete the
        # rest. Zoho's own daily limit still stops a read (with an error, never a partial).
        self._tap_config[BUDGET_SETTING] = NO_RUN_BUDGET
        # Bulk Read hands records over in id order, not the cursor order a batch is cut
        # in, so a tap run that chose it itself would run the load again for every batch.
        # The bridge chooses instead: an initial read of a big module is partitioned into
        # the load's jobs (bulk_partitions.py), and every tap run is told not to choose.
        self._bulk_min_records = self._bulk_threshold()
        self._tap_config[BULK_SETTING] = 0
        self._check_config()
        positive_int_option(PARTITION_RECORDS_OPTION, options)  # a bad value fails here
        self._catalog: dict[str, Any] | None = None
        self._tables: dict[str, TableSpec] | None = None
        self._schemas: dict[tuple[str, bool], StructType] = {}
        native_spark_types(options)  # a bad spark_types value fails here, at construction
        max_partitions(options)  # so does a bad max_partitions
        #: The instant batch reads of this connector end at (set when first planned).
        self._pin: Any = None
        self._client: Any = None
        self._partitioned: dict[str, bool] = {}

    def __repr__(self) -> str:
        # Never show the options: they hold the client secret and the refresh token.
        return f"{type(self).__name__}(tables={len(self._tables or {})})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickle with this process's access token, so a worker does not mint its own."""
        state = dict(self.__dict__)
        state["_carried_token"] = self.carried_token()
        state["_client"] = None  # sessions and locks stay in this process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        token = state.pop("_carried_token", None)
        self.__dict__.update(state)
        self.adopt_token(token)

    def carried_token(self) -> Any:
        """This process's fresh access token for these credentials, if any (never mints)."""
        from tap_zoho_crm.client.auth import carried_token  # noqa: PLC0415

        return carried_token(self._zoho_settings())

    def access_token(self) -> Any:
        """A fresh access token to hand to workers: held, cached, or minted once here."""
        from tap_zoho_crm.client.http import ZohoClient  # noqa: PLC0415

        token = self.carried_token()
        if token is None:
            try:
                ZohoClient(self._zoho_settings()).authenticator.update_access_token()
            except Exception as exc:
                raise ZohoCrmReadError(f"getting a Zoho access token failed: {exc}") from exc
            token = self.carried_token()
        return token

    def adopt_token(self, token: Any) -> None:
        """Use a token minted by another process (the Spark driver) until it nears expiry."""
        from tap_zoho_crm.client.auth import adopt_token  # noqa: PLC0415

        adopt_token(self._zoho_settings(), token)

    def _zoho_settings(self) -> Any:
        from tap_zoho_crm.config import ZohoSettings  # noqa: PLC0415

        return ZohoSettings.from_config(self._tap_config, user_agent="lakeflow-bridge")

    def _bulk_threshold(self) -> int:
        """``bulk_read_min_records`` as given (the tap's default when not), 0 for off."""
        from tap_zoho_crm.config import DEFAULT_BULK_READ_MIN_RECORDS  # noqa: PLC0415

        value = self._tap_config.get(BULK_SETTING, DEFAULT_BULK_READ_MIN_RECORDS)
        if not isinstance(value, int) or value < 0:
            raise OptionsError(f"'{BULK_SETTING}' must be a non-negative integer")
        return value

    def _check_config(self) -> None:
        """Let the tap validate its config now (no HTTP), so bad options fail at construction."""
        try:
            with preserved_signal_handlers():
                _tap_class()(
                    config=dict(self._tap_config),
                    parse_env_config=False,
                    validate_config=True,
                    setup_mapper=False,
                )
        except Exception as exc:
            raise OptionsError(f"invalid Zoho CRM options: {exc}") from exc

    @classmethod
    def from_catalog(cls, options: dict[str, str], catalog: Mapping[str, Any] | None) -> Self:
        """A connector that reuses an already discovered catalog (e.g. in a Spark worker)."""
        connector = cls(options)
        if catalog is not None:
            connector._catalog = copy.deepcopy(dict(catalog))
        return connector

    @property
    def catalog(self) -> dict[str, Any]:
        """The tap's catalog, discovered on first use and kept for this instance.

        Lakeflow builds a connector per table flow, so instances of one process with the same
        options share a discovery for `CATALOG_TTL_SECONDS`: one discovery per pipeline update
        instead of one per table (each costs a metadata call per module).
        """
        if self._catalog is None:
            key = hashlib.sha256(
                json.dumps(self._tap_config, sort_keys=True, default=str).encode()
            ).hexdigest()
            with _CATALOG_LOCK:
                cached = _CATALOG_CACHE.get(key)
                if cached is not None and time.monotonic() - cached[0] < CATALOG_TTL_SECONDS:
                    self._catalog = copy.deepcopy(cached[1])
                    return self._catalog
            try:
                catalog = discover_catalog(_tap_class(), self._tap_config)
            except Exception as exc:
                raise ZohoCrmReadError(f"discovering the Zoho CRM tables failed: {exc}") from exc
            with _CATALOG_LOCK:
                _CATALOG_CACHE[key] = (time.monotonic(), copy.deepcopy(catalog))
            self._catalog = catalog
        return self._catalog

    def list_tables(self) -> list[str]:
        """Every table of the org: modules, Users/Roles/Profiles/Org, junctions, opt-in kinds."""
        return list(self._table_specs())

    def get_table_schema(self, table_name: str, table_options: dict[str, str]) -> StructType:
        """The table's Spark schema, built from the tap's JSON Schema (deterministic)."""
        table = self._table(table_name)
        native = native_spark_types(table_options, self.options)
        if (table.name, native) not in self._schemas:
            self._schemas[table.name, native] = to_struct_type(table.schema, native=native)
        return self._schemas[table.name, native]

    def read_table_metadata(self, table_name: str, table_options: dict[str, str]) -> dict:
        """``primary_keys``, ``cursor_field`` (if any) and ``ingestion_type``."""
        return self._table(table_name).metadata()

    def read_table(
        self, table_name: str, start_offset: dict, table_options: dict[str, str]
    ) -> tuple[Iterator[dict], dict]:
        """Read one batch eagerly (the tap has finished when this returns)."""
        table = self._table(table_name)
        schema = self.get_table_schema(table.name, table_options)
        collector: IncrementalBatch | SnapshotBatch
        if table.incremental and table.cursor_field is not None:
            collector = IncrementalBatch(
                cursor_field=table.cursor_field,
                key_field=table.key_properties[0] if table.key_properties else MODULE_KEY,
                start_offset=start_offset,
                limit=max_records_per_batch(table_options, self.options),
                source_sorted=table.sorted_by_cursor,
            )
            state_key = table.replication_key
        else:
            collector = SnapshotBatch(start_offset)
            state_key = None
        records, end_offset = self._run(table.name, table.name, collector, state_key)
        return iter(self._conform(table.name, records, schema)), end_offset

    def read_table_deletes(
        self, table_name: str, start_offset: dict, table_options: dict[str, str]
    ) -> tuple[Iterator[dict], dict]:
        """One batch of deleted records as rows carrying only the key and the cursor."""
        table = self._table(table_name)
        if table.deletes_stream is None or table.cursor_field is None:
            raise ValueError(
                f"table '{table.name}' is ingested as '{table.ingestion_type}' and has no "
                "deleted-records stream"
            )
        schema = self.get_table_schema(table.name, table_options)
        cursor = table.deletes_cursor or DELETED_CURSOR
        collector = IncrementalBatch(
            cursor_field=cursor,
            key_field=MODULE_KEY,
            start_offset=start_offset,
            limit=max_records_per_batch(table_options, self.options),
            source_sorted=False,
        )
        records, end_offset = self._run(table.name, table.deletes_stream, collector, cursor)
        tombstones = [
            {MODULE_KEY: record.get(MODULE_KEY), table.cursor_field: record.get(cursor)}
            for record in records
        ]
        return iter(self._conform(table.name, tombstones, schema)), end_offset

    def read_whole_table(
        self, table_name: str, table_options: dict[str, str], *, deletes: bool = False
    ) -> list[dict[str, Any]]:
        """Every current row: batch after batch from the start, the newest version per key.

        A record updated between two batches appears once, as updated.
        """
        table = self._table(table_name)
        read = self.read_table_deletes if deletes else self.read_table
        if table.ingestion_type == "snapshot" and not deletes:
            snapshot, _ = read(table.name, {}, table_options)
            return list(snapshot)
        keys = list(table.key_properties) or [MODULE_KEY]
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        offset: dict = {}
        for _ in range(MAX_REPLAY_CALLS):
            batch, end = read(table.name, offset, table_options)
            records = list(batch)
            for record in records:
                latest[tuple(record.get(k) for k in keys)] = record
            if end == offset or not records:
                return list(latest.values())
            offset = end
        raise ZohoCrmReadError(_NOT_CONVERGED.format(table=table.name))

    # -- partitions (SupportsPartitionedStream) ---------------------------------------------

    def is_partitioned(self, table_name: str) -> bool:
        """True for a module big enough for two partitions (one COQL count, then remembered).

        Deletes flows (``isDeleteFlow``), other tables and small modules keep the simple
        reader. ``max_partitions=1`` turns partitions off.
        """
        if str(option(self.options, DELETE_FLOW_OPTION) or "").lower() == "true":
            return False
        if table_name not in self._partitioned:
            planner = self._planner(table_name, self.options)
            self._partitioned[table_name] = planner is not None and planner.worth_partitioning()
        return self._partitioned[table_name]

    def latest_offset(
        self, table_name: str, table_options: dict[str, str], start_offset: dict | None = None
    ) -> dict:
        """The end of the micro-batch from ``start_offset``, capped at this connector's pin.

        The pin is the instant of the first call: a query started on this connector ends
        (the framework's availableNow reader relies on the connector for that).
        """
        if self._pin is None:
            self._pin = pin_now()
        return self.offset_until(table_name, table_options, start_offset, self._pin)

    def offset_until(
        self,
        table_name: str,
        table_options: dict[str, str],
        start_offset: dict | None,
        cap: Any,
    ) -> dict:
        """The end of the micro-batch from ``start_offset``, never past ``cap`` (exclusive)."""
        planner = self._planner(table_name, table_options)
        if planner is None:
            raise ValueError(f"table '{table_name}' is not read in partitions; use read_table")
        return planner.latest_offset(start_offset, cap)

    def get_partitions(
        self,
        table_name: str,
        table_options: dict[str, str],
        start_offset: dict | None = None,
        end_offset: dict | None = None,
    ) -> list[dict]:
        """Partition descriptors: of the whole table (offsets None) or of one micro-batch.

        A batch read of a module above ``bulk_read_min_records`` records, or a stream's first
        micro-batch holding more, is partitioned into Bulk Read jobs (bulk_partitions.py);
        anything else big into Modified_Time windows (docs/spark-partitions.md says why).
        """
        planner = self._planner(table_name, table_options)
        if start_offset is None and end_offset is None:
            if planner is None or not self._partitionable_batch(table_options):
                return [dict(WHOLE)]
            total = planner.records() if self._bulk_min_records else None
            if total is not None and total > self._bulk_min_records:
                jobs = self._bulk_partitions(table_name, planner, total, table_options)
                if jobs:
                    return jobs
            if self._pin is None:
                self._pin = pin_now()
            return planner.batch(self._pin, total)
        if start_offset == end_offset or end_offset is None:
            return []
        if planner is None:
            raise ValueError(f"table '{table_name}' is not read in partitions; use read_table")
        if is_from_start(start_offset) and self._bulk_min_records:
            jobs = self._bulk_micro_batch(table_name, planner, end_offset, table_options)
            if jobs:
                return jobs
        return planner.stream(start_offset, end_offset)

    def read_partition(
        self, table_name: str, partition: dict, table_options: dict[str, str]
    ) -> Iterator[dict]:
        """The records of one partition (on an executor, with the driver's token)."""
        if partition.get(KIND) == BULK:
            return self._read_bulk_partition(table_name, partition, table_options)
        if partition.get(KIND) != WINDOW:
            deletes = str(option(table_options, DELETE_FLOW_OPTION) or "").lower() == "true"
            return iter(self.read_whole_table(table_name, table_options, deletes=deletes))
        table = self._table(table_name)
        cursor = table.cursor_field or ""
        window = WindowPartition.from_descriptor(partition)
        collector = WindowCollector(cursor, MODULE_KEY, window)
        state = window.tap_state(table.name, cursor)
        return self._read_collected(table.name, table_options, state, collector, window)

    def _bulk_micro_batch(
        self,
        table_name: str,
        planner: PartitionPlanner,
        end_offset: dict,
        table_options: dict[str, str],
    ) -> list[dict[str, Any]] | None:
        """Bulk Read jobs for a stream's first micro-batch, if it holds enough records.

        Its end offset ("every record before U") is fixed already. The jobs export what was
        modified before U, and the partitions keep exactly that; the next micro-batch starts
        at U. An end that lists ids at U (written by the simple reader) keeps the windows.
        """
        until, until_ids = offset_position(end_offset)
        if until is None or until_ids:
            return None
        total = planner.records(before=until)
        if total is None or total <= self._bulk_min_records:
            return None
        return self._bulk_partitions(table_name, planner, total, table_options, cut=until)

    def _bulk_partitions(
        self,
        table_name: str,
        planner: PartitionPlanner,
        total: int,
        table_options: dict[str, str],
        cut: dt.datetime | None = None,
    ) -> list[dict[str, Any]] | None:
        """The Bulk Read jobs of a read, created now; None to read windows instead.

        The driver builds the tap's stream (no HTTP) and lets its `BulkLoad` cut the ranges
        and create the jobs, with the fields the executors' tap runs will expect. ``cut``: a
        micro-batch's end (`_bulk_micro_batch`).
        """
        from tap_zoho_crm.reading.bulk import (  # noqa: PLC0415
            RECORDS_PER_JOB,
            BulkUnavailableError,
        )

        table = self._table(table_name)
        per_partition = positive_int_option(PARTITION_RECORDS_OPTION, table_options, self.options)
        with preserved_signal_handlers():
            tap = _tap_class()(
                config=dict(self._tap_config),
                catalog=self._catalog_for(table.name),
                parse_env_config=False,
            )
        stream = tap.streams[table.name]
        since, _ = stream.starting_point()
        try:
            return plan_bulk_partitions(
                stream.bulk_load({}, since, cut),
                total,
                per_partition or RECORDS_PER_JOB,
                planner.width(),
                planner.budget(),
                cut,
            )
        except BulkUnavailableError as exc:
            logger.warning(
                "%s: reading through Get Records instead of Bulk Read: %s", table.name, exc
            )
            return None
        except Exception as exc:
            raise ZohoCrmReadError(
                f"planning the Bulk Read of '{table.name}' failed: {exc}"
            ) from exc

    def _read_bulk_partition(
        self, table_name: str, partition: dict, table_options: dict[str, str]
    ) -> Iterator[dict]:
        """One Bulk Read job's records: the tap resumes a load of that job alone."""
        table = self._table(table_name)
        cursor = table.cursor_field or ""
        job = BulkPartition.from_descriptor(partition)
        collector = BulkCollector(cursor, MODULE_KEY, job)
        state = job.tap_state(table.name, cursor)
        return self._read_collected(table.name, table_options, state, collector, job)

    def _read_collected(
        self,
        table: str,
        table_options: dict[str, str],
        state: dict[str, Any],
        collector: WindowCollector | BulkCollector,
        partition: WindowPartition | BulkPartition,
    ) -> Iterator[dict]:
        """One partition's tap run (one walk, its share of the budget), kept by its collector."""
        config = {
            **self._tap_config,
            **WINDOW_RUN_SETTINGS,
            "max_concurrency": partition.max_concurrency,
        }
        self._run_tap(table, config, self._catalog_for(table), state, collector.offer)
        schema = self.get_table_schema(table, table_options)
        return iter(self._conform(table, collector.records(), schema))

    def _partitionable_batch(self, table_options: dict[str, str]) -> bool:
        if str(option(table_options, DELETE_FLOW_OPTION) or "").lower() == "true":
            return False
        return str(option(self.options, DELETE_FLOW_OPTION) or "").lower() != "true"

    def _planner(self, table_name: str, table_options: dict[str, str]) -> PartitionPlanner | None:
        """The planner of a module read on Modified_Time (None for every other table)."""
        table = self._table(table_name)
        if table.kind != "module" or not table.sorted_by_cursor or table.cursor_field is None:
            return None
        settings = self._zoho_settings()
        limit = max_partitions(table_options, self.options)
        if limit == 1:
            return None
        if self._client is None:
            from tap_zoho_crm.client.http import ZohoClient  # noqa: PLC0415

            self._client = ZohoClient(settings)
        return PartitionPlanner(
            self._client,
            self._module_name(table.name) or table.name,
            table.cursor_field,
            start_date=settings.start_date,
            min_records=settings.window_min_records,
            limit=limit,
            batch_limit=max_records_per_batch(table_options, self.options),
            lookback=dt.timedelta(seconds=settings.lookback_seconds),
        )

    def _module_name(self, stream: str) -> str | None:
        """The Zoho module API name behind a module stream (from the catalog)."""
        for entry in self.catalog.get("streams") or ():
            if (entry.get("tap_stream_id") or entry.get("stream")) == stream:
                for item in entry.get("metadata") or ():
                    if list(item.get("breadcrumb") or []) == []:
                        module = (item.get("metadata") or {}).get("zoho-module")
                        return str(module) if module else None
        return None

    def _table_specs(self) -> dict[str, TableSpec]:
        if self._tables is None:
            self._tables = tables_from_catalog(self.catalog)
        return self._tables

    def _table(self, table_name: str) -> TableSpec:
        tables = self._table_specs()
        if table_name not in tables:
            raise ValueError(
                f"unknown table '{table_name}'; this org's tables are: {', '.join(tables)}"
            )
        return tables[table_name]

    def _run(
        self,
        table_name: str,
        stream: str,
        collector: IncrementalBatch | SnapshotBatch,
        state_key: str | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run the tap for one stream and feed its records to ``collector``."""
        start = collector.start_offset
        resumable = state_key is not None and (start or {}).get("replication_key") == state_key
        self._run_tap(
            table_name,
            # One walk, in cursor order. The tap's windows interleave several windows' records,
            # which can look sorted while they skip the rest of an earlier window, so a batch
            # cut at its first `limit` records would lose that rest. Partitions read in parallel.
            {**self._tap_config, "windowed_reads": False},
            self._catalog_for(stream),
            tap_state_for(stream, start) if resumable else None,
            collector.offer,
            stream=stream,
        )
        return collector.result()

    def _run_tap(  # noqa: PLR0917 - one tap run, in full
        self,
        table_name: str,
        config: Mapping[str, Any],
        catalog: dict[str, Any],
        state: dict[str, Any] | None,
        offer: Any,
        stream: str | None = None,
    ) -> None:
        """Run the tap in-process; ``offer`` takes each record and says when it has enough."""
        wanted = stream or table_name
        source = InProcessTapSource(_tap_class(), config=config, catalog=catalog, state=state)
        replay = SingerReplay()

        def sink(message: Message) -> bool:
            event = replay.feed(message)
            if (
                isinstance(event, RecordEvent)
                and event.stream == wanted
                and event.record.get(TOMBSTONE_COLUMN) is None
            ):
                return not offer(event.record)
            return True

        try:
            source.run(sink)
        except Exception as exc:
            raise ZohoCrmReadError(f"reading table '{table_name}' failed: {exc}") from exc

    def _catalog_for(self, stream: str) -> dict[str, Any]:
        """A copy of the cached catalog that holds and selects only ``stream``."""
        for entry in self.catalog.get("streams") or ():
            if (entry.get("tap_stream_id") or entry.get("stream")) == stream:
                selected = copy.deepcopy(entry)
                for item in selected.setdefault("metadata", []):
                    if list(item.get("breadcrumb") or []) == []:
                        item.setdefault("metadata", {})["selected"] = True
                        break
                else:
                    selected["metadata"].append({"breadcrumb": [], "metadata": {"selected": True}})
                return {"streams": [selected]}
        # Tables and their deletes streams come from this same catalog.
        raise ValueError(f"the tap's catalog has no stream '{stream}'")  # pragma: no cover

    @staticmethod
    def _conform(
        table_name: str, records: list[dict[str, Any]], schema: StructType
    ) -> list[dict[str, Any]]:
        try:
            conform = record_conformer(schema)
            return [conform(record) for record in records]
        except RecordConformError as exc:
            raise ZohoCrmReadError(f"table '{table_name}': {exc}") from exc
