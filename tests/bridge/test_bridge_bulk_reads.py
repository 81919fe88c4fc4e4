"""Batch reads of a big module through Bulk Read jobs, one Spark partition each.

Truth comes from the emulator: its stored ids and values, its call log (which calls a read
made) and its ``stats.credits`` (what Zoho would bill), and a Get Records read of the same org
through the same bridge (``bulk_read_min_records=0``), never from the bulk path's own output.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import DEMO_SEED, connection_options, each_available_now_batch, read_to_end
from pyspark.sql.functions import spark_partition_id

from lakeflow_bridge.bulk_partitions import BULK, BulkCollector, BulkPartition, partition_ranges
from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.offsets import incremental_offset
from lakeflow_bridge.options import OptionsError
from lakeflow_bridge.partitions import pin_now
from tap_zoho_crm.reading.bulk import JOB_CREDITS
from tap_zoho_crm.testing.emulator import ZohoEmulator

pytestmark = pytest.mark.spark

RECORDS = 12_000
THRESHOLD = "1000"
PARTITION_RECORDS = 4_000
CREATE = "POST /crm/bulk/v8/read"
DOWNLOAD = "GET /crm/bulk/v8/read/{job_id}/result"
LIST = "GET /crm/v8/{module}"


def settle() -> None:
    """Let the second of the org's newest stamp pass (a read ends at a whole second)."""
    time.sleep(1.1)


@pytest.fixture(scope="module")
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 80, size={"Leads": RECORDS}) as org:
        settle()
        yield org


def stored_instant(zoho: ZohoEmulator, record_id: str) -> datetime:
    return datetime.fromisoformat(str(zoho.get_record("Leads", record_id)["Modified_Time"]))


def options_for(zoho: ZohoEmulator, **extra: str) -> dict[str, str]:
    return connection_options(zoho, **{"bulk_read_min_records": THRESHOLD, **extra})


class SparkRead:
    """One batch read of Leads through Spark, with what the emulator saw meanwhile."""

    def __init__(self, spark: Any, zoho: ZohoEmulator, options: dict[str, str]) -> None:
        zoho.stats.reset()
        frame = spark.read.format("zoho_crm").options(**options).load("Leads")
        rows = frame.withColumn("_partition", spark_partition_id()).collect()
        self.partitions = {row["_partition"] for row in rows}
        self.rows = [row.asDict(recursive=True) for row in rows]
        for row in self.rows:
            del row["_partition"]
        self.ids = [str(row["id"]) for row in self.rows]
        self.credits = zoho.stats.credits
        self.calls = dict(zoho.stats.calls)
        self.log = [call for call in zoho.stats.log if call.module in (None, "Leads")]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {str(row["id"]): row for row in self.rows}

    def walks(self) -> list[Any]:
        """Get Records pages of a Modified_Time walk of Leads (not discovery's probe of one id)."""
        return [c for c in self.log if c.route == LIST and "sort_by" in c.query]


@pytest.fixture(scope="module")
def reads(spark: Any, zoho: ZohoEmulator) -> dict[str, SparkRead]:
    """The same org read three ways: 3 Bulk Read partitions, 1 job, and Get Records."""
    # Discovery first, so no read's credits include it (the bridge caches the catalog).
    assert spark.read.format("zoho_crm").options(**options_for(zoho)).load("Leads").schema
    return {
        "bulk": SparkRead(
            spark, zoho, options_for(zoho, bulk_read_partition_records=str(PARTITION_RECORDS))
        ),
        "one job": SparkRead(spark, zoho, options_for(zoho)),
        "get records": SparkRead(spark, zoho, options_for(zoho, bulk_read_min_records="0")),
    }


def test_a_batch_read_above_the_threshold_is_served_by_bulk_read_jobs(
    reads: dict[str, SparkRead], zoho: ZohoEmulator
) -> None:
    bulk, walked = reads["bulk"], reads["get records"]
    jobs = math.ceil(RECORDS / PARTITION_RECORDS)
    assert bulk.calls.get(CREATE) == jobs
    assert bulk.calls.get(DOWNLOAD) == jobs
    assert len(bulk.partitions) == jobs  # one Spark partition per job
    # No Get Records walk over the module: each partition's run makes one list call past
    # the export instant (the tap's walk after its load), which lists nothing.
    pages = bulk.walks()
    assert len(pages) <= jobs
    assert all(page.since is not None and not page.ids for page in pages)
    truth = zoho.record_ids("Leads")
    for read in (bulk, walked):
        assert len(read.ids) == len(set(read.ids)) == len(truth)
        assert set(read.ids) == truth
    assert walked.calls.get(CREATE) is None
    # Field by field, the same rows as the Get Records read of the same org.
    want = walked.by_id()
    different = {i: row for i, row in bulk.by_id().items() if row != want[i]}
    assert not different, list(different.items())[:2]


def test_bulk_read_credits_against_get_records(reads: dict[str, SparkRead]) -> None:
    """What the emulator billed: 50 a job and 1 every other call. One job beats the Get
    Records read at this size; each further partition is a further job."""
    one, three, walked = reads["one job"], reads["bulk"], reads["get records"]
    for read in (one, three, walked):
        jobs = read.calls.get(CREATE, 0)
        assert read.credits == JOB_CREDITS * jobs + sum(read.calls.values()) - jobs
    assert one.calls.get(CREATE) == 1
    assert walked.calls[LIST] >= math.ceil(RECORDS / 200)  # a page of 200 records per credit
    assert one.credits < walked.credits
    assert three.credits - one.credits >= 2 * JOB_CREDITS
    print(
        f"\ncredits for {RECORDS} Leads: Bulk Read in 1 job {one.credits}, in "
        f"{three.calls[CREATE]} jobs {three.credits}; Get Records {walked.credits}"
    )


def test_a_record_changed_during_the_read_is_read_once_by_the_batch_or_the_next_read(
    zoho: ZohoEmulator,
) -> None:
    """Changed after the jobs were created, before its job's export: the batch leaves it out
    and the incremental read from the export instant has it. Changed after its partition
    was read: the batch has it as it was, the incremental read as it is."""
    connector = ZohoCrmLakeflowConnect(
        options_for(zoho, bulk_read_partition_records=str(PARTITION_RECORDS))
    )
    partitions = connector.get_partitions("Leads", {})
    assert {p["kind"] for p in partitions} == {BULK}
    instant = partitions[0]["instant"]
    ids = sorted(zoho.record_ids("Leads"), key=int)
    before_export = [ids[5], ids[-5]]  # in the first and the last partition
    after_read = [ids[7]]  # in the first partition, changed once it is read
    zoho.update_records("Leads", before_export, {"Last_Name": "Changed before its export"})
    batch: list[dict[str, Any]] = []
    for number, partition in enumerate(partitions):
        batch += list(connector.read_partition("Leads", partition, {}))
        if number == 0:
            zoho.update_records("Leads", after_read, {"Last_Name": "Changed after its read"})
    batch_ids = [str(r["id"]) for r in batch]
    assert len(batch_ids) == len(set(batch_ids))
    assert set(batch_ids) == zoho.record_ids("Leads") - set(before_export)
    old = next(r for r in batch if str(r["id"]) == after_read[0])
    assert old["Last_Name"] != "Changed after its read"

    offset = incremental_offset("Modified_Time", instant, set())
    following = read_to_end(connector, "Leads", start=offset)
    assert following.converged
    later = {str(r["id"]): r for r in following.records}
    assert len(later) == len(following.records)
    assert set(later) == {*before_export, *after_read}
    for record_id in before_export:
        assert later[record_id]["Last_Name"] == "Changed before its export"
    assert later[after_read[0]]["Last_Name"] == "Changed after its read"


def test_a_module_bulk_read_refuses_is_read_in_windows(fresh_zoho: Any) -> None:
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 81, size={"Leads": 3_000})
    zoho.faults.bulk_refused_modules = {"Leads"}
    settle()
    connector = ZohoCrmLakeflowConnect(options_for(zoho, window_min_records="500"))
    partitions = connector.get_partitions("Leads", {})
    assert {p["kind"] for p in partitions} == {"window"}
    seen = [str(r["id"]) for p in partitions for r in connector.read_partition("Leads", p, {})]
    assert len(seen) == len(set(seen))
    assert set(seen) == zoho.record_ids("Leads")


def test_a_job_ending_in_failure_falls_back_within_its_partition(fresh_zoho: Any) -> None:
    """The tap's fallback is a Get Records walk from the start: each partition keeps its own
    ids, cut at the export instant, so the read still has every id once."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 82, size={"Leads": 1_500})
    settle()
    connector = ZohoCrmLakeflowConnect(options_for(zoho, bulk_read_partition_records="600"))
    partitions = connector.get_partitions("Leads", {})
    assert len(partitions) == 3
    zoho.faults.bulk_failure = True
    seen = [str(r["id"]) for p in partitions for r in connector.read_partition("Leads", p, {})]
    assert len(seen) == len(set(seen))
    assert set(seen) == zoho.record_ids("Leads")


def test_a_limit_on_jobs_in_progress_is_kept_by_the_driver(fresh_zoho: Any) -> None:
    """Zoho does not say how many Bulk Read jobs may be in progress (section 15, point 12):
    under a limit the driver creates what Zoho takes, waits for its own jobs to complete (their
    results are kept for the partitions), and creates the rest: every id once, in bulk."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 83, size={"Leads": 1_500})
    zoho.faults.bulk_jobs_limit = 1
    settle()
    connector = ZohoCrmLakeflowConnect(options_for(zoho, bulk_read_partition_records="600"))
    partitions = connector.get_partitions("Leads", {})
    assert [p["kind"] for p in partitions] == [BULK] * 3
    assert zoho.bulk_jobs.refused > 0
    seen = [str(r["id"]) for p in partitions for r in connector.read_partition("Leads", p, {})]
    assert len(seen) == len(set(seen))
    assert set(seen) == zoho.record_ids("Leads")
    assert zoho.bulk_jobs.peak_in_progress == 1
    assert zoho.stats.calls[CREATE] - zoho.bulk_jobs.refused == 3


def test_small_modules_and_a_threshold_of_zero_keep_get_records(zoho: ZohoEmulator) -> None:
    off = ZohoCrmLakeflowConnect(options_for(zoho, bulk_read_min_records="0"))
    assert {p["kind"] for p in off.get_partitions("Leads", {})} == {"window"}
    high = ZohoCrmLakeflowConnect(options_for(zoho, bulk_read_min_records=str(RECORDS)))
    assert {p["kind"] for p in high.get_partitions("Leads", {})} == {"window"}
    zoho.stats.reset()
    small = next(m for m in zoho.module_names() if 0 < zoho.count(m) < 400)
    assert high.get_partitions(small, {}) == [{"kind": "whole"}]
    assert zoho.stats.calls.get(CREATE) is None


def test_an_available_now_stream_reads_its_first_micro_batch_through_bulk_read(
    spark: Any, fresh_zoho: Any, tmp_path: Path
) -> None:
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 83, size={"Leads": 3_000})
    settle()
    options = options_for(
        zoho,
        window_min_records="200",
        max_records_per_batch="2000",
        bulk_read_partition_records="1000",
    )
    batches: list[tuple[int, list[str]]] = []

    def collect(frame: Any, _batch_id: int) -> None:
        ids = [str(row["id"]) for row in frame.select("id").collect()]
        batches.append((zoho.stats.calls.get(CREATE, 0), ids))

    each_available_now_batch(spark, options, "Leads", str(tmp_path / "checkpoint"), collect)
    filled = [(jobs, ids) for jobs, ids in batches if ids]
    assert len(filled) >= 2
    assert filled[0][0] == 2  # the first 2,000 records: two jobs of 1,000
    assert all(jobs == 2 for jobs, _ in filled)  # later micro-batches: Get Records
    ids = [i for _, batch in filled for i in batch]
    assert len(ids) == len(set(ids))
    assert set(ids) == zoho.record_ids("Leads")


def test_a_record_changed_during_a_bulk_micro_batch_comes_once_in_the_next(
    fresh_zoho: Any,
) -> None:
    """The first micro-batch ends before U; a record of it changed before its job's export
    moves to U or later, so the next micro-batch (from U) has it, and the first does not."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 84, size={"Leads": 3_000})
    settle()
    connector = ZohoCrmLakeflowConnect(
        options_for(zoho, max_records_per_batch="2000", bulk_read_partition_records="1000")
    )
    end = connector.offset_until("Leads", {}, {}, pin_now())
    partitions = connector.get_partitions("Leads", {}, {}, end)
    assert {p["kind"] for p in partitions} == {BULK}
    until = datetime.fromisoformat(end["replication_key_value"])
    first_batch = sorted(
        (i for i in zoho.record_ids("Leads") if stored_instant(zoho, i) < until), key=int
    )
    changed = [first_batch[10], first_batch[-10]]
    zoho.update_records("Leads", changed, {"Last_Name": "Changed before its export"})
    batches = [[r for p in partitions for r in connector.read_partition("Leads", p, {})]]
    start = end
    for _ in range(10):
        settle()
        end = connector.offset_until("Leads", {}, start, pin_now())
        if end == start:
            break
        parts = connector.get_partitions("Leads", {}, start, end)
        assert BULK not in {p["kind"] for p in parts}
        batches.append([r for p in parts for r in connector.read_partition("Leads", p, {})])
        start = end
    ids = [str(r["id"]) for batch in batches for r in batch]
    assert len(ids) == len(set(ids))
    assert set(ids) == zoho.record_ids("Leads")
    assert not set(changed) & {str(r["id"]) for r in batches[0]}
    later = {str(r["id"]): r for batch in batches[1:] for r in batch}
    assert all(later[i]["Last_Name"] == "Changed before its export" for i in changed)


def test_a_first_micro_batch_ending_ahead_of_zohos_clock_reads_windows(fresh_zoho: Any) -> None:
    """A driver clock ahead of Zoho's: the batch ends at the driver's "now", after the jobs'
    created_time, so a record changed between the export and that end could be lost. The jobs
    are given up and the batch is read as windows."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 85, size={"Leads": 3_000})
    settle()
    connector = ZohoCrmLakeflowConnect(
        options_for(zoho, window_min_records="500", bulk_read_partition_records="1000")
    )
    ahead = pin_now() + timedelta(hours=1)
    end = connector.offset_until("Leads", {}, {}, ahead)
    assert end["replication_key_value"] == ahead.isoformat()
    zoho.stats.reset()
    partitions = connector.get_partitions("Leads", {}, {}, end)
    assert zoho.stats.calls[CREATE] == 3  # created, then given up
    assert {p["kind"] for p in partitions} == {"window"}
    seen = [str(r["id"]) for p in partitions for r in connector.read_partition("Leads", p, {})]
    assert len(seen) == len(set(seen))
    assert set(seen) == zoho.record_ids("Leads")


@pytest.mark.parametrize(
    ("records", "per_partition", "width", "size"),
    [
        (12_000, 4_000, 8, 4_000),  # three jobs, three partitions
        (12_000, 500_000, 8, 200_000),  # at most Zoho's 200,000 a job
        (2_000_000, 200_000, 8, 400_000),  # ten jobs on eight partitions: two jobs a range
        (0, 200_000, 8, 200_000),
    ],
)
def test_ranges_hold_whole_jobs_within_the_width(
    records: int, per_partition: int, width: int, size: int
) -> None:
    assert partition_ranges(records, per_partition, width) == size
    assert size % min(per_partition, 200_000) == 0  # whole jobs: no job added for a range
    assert math.ceil(records / size) <= width


def test_a_first_micro_batch_ending_on_a_record_reads_windows(zoho: ZohoEmulator) -> None:
    """An end offset that lists ids at its instant (the simple reader's) includes records at
    that instant; a Bulk Read cut before it could not, so the batch keeps its windows."""
    newest = max(zoho.record_ids("Leads"), key=lambda i: (stored_instant(zoho, i), int(i)))
    end = incremental_offset("Modified_Time", stored_instant(zoho, newest).isoformat(), {newest})
    connector = ZohoCrmLakeflowConnect(options_for(zoho, window_min_records="2000"))
    zoho.stats.reset()
    partitions = connector.get_partitions("Leads", {}, {}, end)
    assert {p["kind"] for p in partitions} == {"window"}
    assert zoho.stats.calls.get(CREATE) is None


def test_bad_bulk_options_fail_at_construction(zoho: ZohoEmulator) -> None:
    for name, value in (("bulk_read_min_records", "-1"), ("bulk_read_partition_records", "0")):
        with pytest.raises(OptionsError, match=name):
            ZohoCrmLakeflowConnect(options_for(zoho, **{name: value}))


def test_the_collector_keeps_its_range_once_and_stops_at_the_instant() -> None:
    instant = datetime(2026, 1, 2, tzinfo=UTC)
    before, at = "2026-01-01T10:00:00+00:00", "2026-01-02T00:00:00+00:00"
    collector = BulkCollector(
        "Modified_Time", "id", BulkPartition(instant=instant, job="1", after=10, upto=20)
    )
    offered = [
        {"id": 11, "Modified_Time": before, "v": "old"},
        {"id": 10, "Modified_Time": before},  # the previous range's
        {"id": 21, "Modified_Time": before},  # the next range's
        {"id": None, "Modified_Time": before},
        {"id": 11, "Modified_Time": "2026-01-01T11:00:00+00:00", "v": "new"},
    ]
    assert not any(collector.offer(record) for record in offered)
    assert collector.offer({"id": 12, "Modified_Time": at})  # the walk after the load: done
    assert collector.records() == [offered[-1]]


#: Modules whose fields cover every data type of the emulator's catalog (as in
#: tests/tap/test_tap_bulk_read.py: Installations holds the exotic ones).
FIELD_TYPE_MODULES = ("Leads", "Contacts", "Deals", "Installations", "Accounts", "Tasks", "Events")


def test_every_field_type_reads_the_same_through_bulk_read_and_get_records(
    demo_zoho: ZohoEmulator,
) -> None:
    """Rows as the bridge hands them to Spark (conformed to the table's schema), id by id and
    field by field, from Bulk Read partitions and from the Get Records read of the same org."""
    bulk = ZohoCrmLakeflowConnect(connection_options(demo_zoho, bulk_read_min_records="1"))
    walk = ZohoCrmLakeflowConnect(connection_options(demo_zoho, bulk_read_min_records="0"))
    for module in FIELD_TYPE_MODULES:
        partitions = bulk.get_partitions(module, {})
        assert {p["kind"] for p in partitions} == {BULK}, module
        rows = [r for p in partitions for r in bulk.read_partition(module, p, {})]
        got = {str(r["id"]): r for r in rows}
        assert len(got) == len(rows)
        want = {str(r["id"]): r for r in walk.read_whole_table(module, {})}
        assert set(want) == demo_zoho.record_ids(module)
        assert set(got) == set(want), module
        different = {i: (row, want[i]) for i, row in got.items() if row != want[i]}
        assert not different, (module, list(different.items())[:1])
