"""Initial reads of a big module through Bulk Read: one Spark partition per export job.

A batch read (no offsets) of a module above ``bulk_read_min_records`` records is an initial
load, which the tap reads through Bulk Read (tap_zoho_crm/reading/bulk.py) for 50 credits a job
of up to 200,000 records instead of 1 credit per 200 records. Here the load is cut up (a
stream's first micro-batch likewise, bounded by its end offset: see ``cut`` in
`plan_bulk_partitions`, and docs/spark-partitions.md):

* **On the driver** (`plan_bulk_partitions`), through the tap's own `BulkLoad` (the bridge
  builds no request): the module is cut into id ranges with COQL (``order by id`` with an
  offset: 1 credit a bound), and a job is created for each range, at once, so Zoho prepares
  them together. Zoho documents no limit on jobs in progress: one it refuses for that waits
  until the driver's own jobs complete, oldest first (polled; the partitions download them),
  so the driver never holds more than Zoho takes (`BulkLoad.create_jobs`). The export
  **instant** is the earliest job's ``created_time`` (Zoho's clock, so no clock skew between
  the driver and Zoho can lose a record).
* **A partition** is one job: ``{"kind": "bulk", "instant", "job", "after", "upto"}``. Its
  executor runs the tap with the job in the stream's state, the state an interrupted load
  resumes from (`BulkProgress.begin_chunk`): the tap polls, downloads, converts the CSV and
  completes what Bulk Read cannot export, exactly as in a first sync.
* **One row per id, bounded to the instant.** The tap leaves out rows modified at or after the
  instant. `BulkCollector` keeps the records of the job's id range, one per id, and stops the
  run at the first record at or after the instant: that is the tap's walk after the load, whose
  records belong to the next incremental read (from the instant, with no id delivered at it).
  Ranges do not overlap, so the read has one row per id, and together with the incremental read
  from the instant every record is read: a record changed during the read is stamped at or
  after the instant, and its export row (if any) is left out.
* **Credits.** Jobs are as few as Zoho's 200,000 records a job allow (`partition_ranges`):
  ``bulk_read_partition_records`` smaller buys more partitions at 50 credits each.
* **Fallback.** A job Zoho refuses on the driver (no ``ZohoCRM.bulk.read`` scope, a module Bulk
  Read does not serve, too many jobs in progress still after the bounded waits) makes the read
  windows of Get Records instead. A job that fails on an
  executor makes that partition's tap run fall back as the tap does (a Get Records walk from
  the start, kept to the partition's ids and cut at the instant): correct, at a walk's cost.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeflow_bridge.offsets import REPLICATION_KEY, cursor_key
from lakeflow_bridge.options import BULK_PARTITION_RECORDS_OPTION
from lakeflow_bridge.partitions import NewestById
from tap_zoho_crm.reading.bulk import RECORDS_PER_JOB, BulkProgress, BulkUnavailableError
from tap_zoho_crm.records import format_utc, parse_instant

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_zoho_crm.reading.bulk import BulkLoad

logger = logging.getLogger(__name__)

KIND = "kind"
BULK = "bulk"
#: Bridge option: records per Bulk Read partition (one job each); Zoho's 200,000 by default.
PARTITION_RECORDS_OPTION = BULK_PARTITION_RECORDS_OPTION


@dataclass(frozen=True)
class BulkPartition:
    """One Bulk Read job of a batch read: ids in ``(after, upto]`` modified before ``instant``."""

    instant: dt.datetime
    job: str
    after: int | None
    upto: int | None
    max_concurrency: int = 1

    def descriptor(self) -> dict[str, Any]:
        """The JSON descriptor Spark ships to the executor."""
        return {
            KIND: BULK,
            "instant": format_utc(self.instant),
            "job": self.job,
            "after": self.after,
            "upto": self.upto,
            "max_concurrency": self.max_concurrency,
        }

    @classmethod
    def from_descriptor(cls, descriptor: Mapping[str, Any]) -> BulkPartition:
        """The job a descriptor names."""
        after, upto = descriptor.get("after"), descriptor.get("upto")
        return cls(
            instant=parse_instant(str(descriptor["instant"])),
            job=str(descriptor["job"]),
            after=int(after) if after is not None else None,
            upto=int(upto) if upto is not None else None,
            max_concurrency=max(1, int(descriptor.get("max_concurrency") or 1)),
        )

    def tap_state(self, stream: str, replication_key: str) -> dict[str, Any]:
        """Singer state that makes the tap read this one job (the resume path of a load)."""
        bookmark: dict[str, Any] = {REPLICATION_KEY: replication_key}
        BulkProgress(bookmark).begin_chunk(
            self.instant, {"job": self.job, "after": self.after, "upto": self.upto}
        )
        return {"bookmarks": {stream: bookmark}}


class BulkCollector:
    """The records of one Bulk Read partition, one per id, from a tap run reading its job.

    The load emits only rows modified before the instant; after it the tap walks on from the
    instant, so the first record at or after the instant means the job is read, and the run
    stops there (one Get Records call when nothing changed since). Records outside the id range
    come only from the tap's fallback walk, and are left to their own partitions.
    """

    def __init__(self, cursor_field: str, key_field: str, partition: BulkPartition) -> None:
        self._cursor = cursor_field
        self._key = key_field
        self._partition = partition
        self._instant = cursor_key(partition.instant)
        self._kept = NewestById()

    def offer(self, record: dict[str, Any]) -> bool:
        """Keep the record if it is in the partition; True once the partition is read."""
        position = cursor_key(record.get(self._cursor))
        if position >= self._instant:
            return True
        record_id = record.get(self._key)
        try:
            number = int(record_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        after, upto = self._partition.after, self._partition.upto
        if (after is not None and number <= after) or (upto is not None and number > upto):
            return False
        self._kept.keep(record_id, position, record)
        return False

    def records(self) -> list[dict[str, Any]]:
        """The partition's records, one per id (its newest version seen)."""
        return self._kept.records()


def partition_ranges(records: int, per_partition: int, width: int) -> int:
    """Records in each partition's id range: whole jobs, at most ``width`` partitions.

    ``per_partition`` (at most Zoho's 200,000) is one job. A module of more jobs than
    ``width`` (Spark's partitions of one read, which are also the downloads a minute Zoho
    allows) puts several jobs in a range; the tap's load then creates each next one as the
    previous is read (`BulkLoad._follow`), so no job is added for it.
    """
    size = max(1, min(per_partition, RECORDS_PER_JOB))
    jobs = max(1, -(-records // size))
    return size * -(-jobs // max(1, width))


def plan_bulk_partitions(  # noqa: PLR0917 - each argument is a different fact
    load: BulkLoad,
    records: int,
    per_partition: int,
    width: int,
    budget: int,
    cut: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Cut the load into id ranges, create a job for each, and describe one partition each.

    ``cut``: the end of a micro-batch, already handed to Spark as its end offset (the load
    was built with it as ``before``). The partitions then keep what was modified before it,
    which is every record before it only if each job was created at or after it by Zoho's
    clock; if Zoho's clock is behind, the jobs are given up (their credits are spent).

    Raises `BulkUnavailableError` when Zoho refuses a job (read through Get Records instead).
    """
    ranges = load.plan_ranges(partition_ranges(records, per_partition, width))
    instant, chunks = load.create_jobs(ranges)
    if cut is not None:
        if instant < cut:
            raise BulkUnavailableError(
                f"Zoho's clock ({format_utc(instant)}) is behind the micro-batch's end "
                f"({format_utc(cut)}), so its export could miss a record changed meanwhile"
            )
        instant = cut
    share = max(1, budget // max(1, len(chunks)))
    logger.info(
        "%d records through Bulk Read: %d job(s), export instant %s",
        records,
        len(chunks),
        format_utc(instant),
    )
    return [
        BulkPartition(
            instant=instant,
            job=str(chunk["job"]),
            after=chunk.get("after"),
            upto=chunk.get("upto"),
            max_concurrency=share,
        ).descriptor()
        for chunk in chunks
    ]
