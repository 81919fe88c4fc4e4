"""The partition contract of the connector (SupportsPartitionedStream), against the emulator.

The same points the Lakeflow framework's partition suite checks (partitions non-empty, dicts,
JSON-serialisable and stable; every partition readable; latest_offset a non-empty dict that
converges and never goes back; no partition between equal offsets), plus what it cannot check
without the source's truth: every partition read together yields exactly the emulator's ids,
each once, and each record lies in its partition's window by its stored Modified_Time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bridge_helpers import DEMO_SEED, connection_options, read_to_end

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.options import OptionsError
from lakeflow_bridge.partitions import WHOLE
from tap_zoho_crm.testing.emulator import ZohoEmulator

BIG = 1_200
MIN_RECORDS = 200  # the tap's window_min_records, lowered to its floor
BATCH = 500
MAX_MICRO_BATCHES = 20


@pytest.fixture(scope="module")
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 60, size={"Leads": BIG}) as org:
        settle()
        yield org


def settle() -> None:
    """Let the second of the org's newest stamp pass: a stream ends before the instant it
    starts at (whole seconds), and leaves a record stamped in that second to the next run."""
    time.sleep(1.1)


def options_for(zoho: ZohoEmulator, **extra: str) -> dict[str, str]:
    chosen = {"window_min_records": str(MIN_RECORDS), "max_records_per_batch": str(BATCH)}
    return connection_options(zoho, **{**chosen, **extra})


@pytest.fixture(scope="module")
def connector(zoho: ZohoEmulator) -> ZohoCrmLakeflowConnect:
    return ZohoCrmLakeflowConnect(options_for(zoho))


def instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def stored_instant(zoho: ZohoEmulator, module: str, record_id: Any) -> datetime:
    return instant(zoho.get_record(module, str(record_id))["Modified_Time"])


def ids_of(records: list[dict[str, Any]]) -> list[str]:
    return [str(record["id"]) for record in records]


def test_is_partitioned_is_a_bool_true_only_for_modules_with_two_partitions_worth(
    zoho: ZohoEmulator, connector: ZohoCrmLakeflowConnect
) -> None:
    modules = set(zoho.module_names())
    for table in connector.list_tables():
        result = connector.is_partitioned(table)
        assert isinstance(result, bool), table
        big = table in modules and zoho.count(table) >= 2 * MIN_RECORDS
        assert result is big, table
    assert connector.is_partitioned("Leads")


def test_batch_partitions_are_several_json_dicts_and_stable(
    connector: ZohoCrmLakeflowConnect,
) -> None:
    first = connector.get_partitions("Leads", {})
    second = connector.get_partitions("Leads", {})
    assert len(first) >= 2
    assert all(isinstance(p, dict) for p in first)
    assert json.loads(json.dumps(first)) == first
    assert first == second


def test_every_partition_read_together_yields_the_emulators_ids_once(
    zoho: ZohoEmulator, connector: ZohoCrmLakeflowConnect
) -> None:
    partitions = connector.get_partitions("Leads", {})
    schema_fields = set(connector.get_table_schema("Leads", {}).fieldNames())
    seen: list[str] = []
    for partition in partitions:
        records = list(connector.read_partition("Leads", partition, {}))
        assert records, partition  # equal-count windows: none is empty
        for record in records:
            assert set(record) <= schema_fields
            stamp = stored_instant(zoho, "Leads", record["id"])
            if partition["start"] is not None:
                assert stamp >= instant(partition["start"])
            assert stamp < instant(partition["until"])
        seen += ids_of(records)
    assert len(seen) == len(set(seen))  # no overlap
    assert set(seen) == zoho.record_ids("Leads")


def test_small_and_non_module_tables_are_read_whole_in_one_partition(
    zoho: ZohoEmulator, connector: ZohoCrmLakeflowConnect
) -> None:
    small = next(m for m in zoho.module_names() if 0 < zoho.count(m) < 2 * MIN_RECORDS)
    for table, truth in ((small, zoho.record_ids(small)), ("Roles", zoho.role_ids())):
        partitions = connector.get_partitions(table, {})
        assert partitions == [WHOLE], table
        records = list(connector.read_partition(table, partitions[0], {}))
        assert sorted(ids_of(records)) == sorted(truth), table


def test_max_partitions_one_is_the_old_single_partition_read(
    zoho: ZohoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    single = ZohoCrmLakeflowConnect(options_for(zoho, max_partitions="1"))
    assert "max_partitions" not in caplog.text  # the bridge's own option: no warning
    assert single.get_partitions("Leads", {}) == [WHOLE]
    assert not single.is_partitioned("Leads")
    with pytest.raises(OptionsError, match="max_partitions"):
        ZohoCrmLakeflowConnect(options_for(zoho, max_partitions="none"))


def test_a_deletes_flow_keeps_the_simple_reader(zoho: ZohoEmulator) -> None:
    deletes = ZohoCrmLakeflowConnect(options_for(zoho, isDeleteFlow="true"))
    assert deletes.is_partitioned("Leads") is False
    assert deletes.get_partitions("Leads", {}) == [WHOLE]


def test_the_budget_is_split_across_partitions(zoho: ZohoEmulator) -> None:
    budget = 6
    split = ZohoCrmLakeflowConnect(options_for(zoho, max_concurrency=str(budget)))
    partitions = split.get_partitions("Leads", {})
    assert 2 <= len(partitions) <= budget
    assert sum(p["max_concurrency"] for p in partitions) <= budget
    capped = ZohoCrmLakeflowConnect(options_for(zoho, max_partitions="3"))
    assert len(capped.get_partitions("Leads", {})) <= 3


def micro_batches(
    connector: ZohoCrmLakeflowConnect, start: dict[str, Any] | None = None
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The framework's micro-batch loop: (end offset, the batch's partitions), until it stops."""
    end = connector.latest_offset("Leads", {}, start)
    for _ in range(MAX_MICRO_BATCHES):
        if end == start:
            return
        yield end, connector.get_partitions("Leads", {}, start, end)
        start, end = end, connector.latest_offset("Leads", {}, end)
    pytest.fail("latest_offset did not converge")


def test_micro_batches_converge_with_monotone_offsets_and_exact_ids(
    zoho: ZohoEmulator, connector: ZohoCrmLakeflowConnect
) -> None:
    stream = ZohoCrmLakeflowConnect(options_for(zoho))
    seen: list[str] = []
    previous: datetime | None = None
    widths = []
    for end, partitions in micro_batches(stream):
        assert end
        assert json.loads(json.dumps(end)) == end
        current = instant(end["replication_key_value"])
        assert previous is None or current > previous  # monotone
        previous = current
        widths.append(len(partitions))
        for partition in partitions:
            seen += ids_of(list(stream.read_partition("Leads", partition, {})))
    assert len(widths) >= 2  # the backlog took several micro-batches
    assert max(widths) >= 2  # and a micro-batch several partitions
    assert len(seen) == len(set(seen))
    assert set(seen) == zoho.record_ids("Leads")
    assert stream.latest_offset("Leads", {}, end) == end  # nothing new: the same offset
    assert stream.get_partitions("Leads", {}, end, end) == []


def test_partitioned_stream_continues_from_the_simple_readers_offset(
    zoho: ZohoEmulator,
) -> None:
    """A checkpoint written by the simple reader (an offset that lists ids at its instant)."""
    stream = ZohoCrmLakeflowConnect(options_for(zoho, max_records_per_batch="333"))
    first, offset = stream.read_table("Leads", {}, {})
    delivered = ids_of(list(first))
    assert offset["ids_at_replication_key_value"]
    seen: list[str] = []
    for _end, partitions in micro_batches(stream, offset):
        for partition in partitions:
            seen += ids_of(list(stream.read_partition("Leads", partition, {})))
    assert len(seen) == len(set(seen))
    assert not set(seen) & set(delivered)
    assert set(seen) | set(delivered) == zoho.record_ids("Leads")


def test_a_record_changed_during_a_batch_read_is_not_read_twice() -> None:
    """A batch read ends where it was planned: a record changed after that moves past its
    end, so it is read once at most (here not at all: it changed before its window was read)."""
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 61, size={"Leads": 600}) as zoho:
        batch = ZohoCrmLakeflowConnect(options_for(zoho))
        partitions = batch.get_partitions("Leads", {})
        assert len(partitions) >= 2
        time.sleep(1.1)  # the plan ends at a whole second; changes come after it
        changed = sorted(zoho.record_ids("Leads"))[:7]
        zoho.update_records("Leads", changed, {"Last_Name": "Changed meanwhile"})
        seen: list[str] = []
        for partition in partitions:
            seen += ids_of(list(batch.read_partition("Leads", partition, {})))
        assert len(seen) == len(set(seen))
        assert set(seen) == zoho.record_ids("Leads") - set(changed)


@pytest.mark.parametrize("exclusive", [False, True], ids=["ims-inclusive", "ims-exclusive"])
def test_a_tie_block_of_several_pages_on_a_boundary_is_read_once(exclusive: bool) -> None:
    """A mass update stamps 450 records with one instant (over two pages): the boundaries land
    in it, and the window that starts there walks the block, under both If-Modified-Since
    readings and with the tie order reshuffled on every call."""
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 62, size={"Leads": 1_000}) as zoho:
        zoho.faults.if_modified_since_exclusive = exclusive
        zoho.faults.unstable_tie_order = True
        tied = sorted(zoho.record_ids("Leads"))[100:550]
        zoho.update_records("Leads", tied, {"Last_Name": "Mass update"})
        assert len({zoho.get_record("Leads", i)["Modified_Time"] for i in tied}) == 1
        settle()
        connector = ZohoCrmLakeflowConnect(options_for(zoho))
        batch: list[str] = []
        for partition in connector.get_partitions("Leads", {}):
            batch += ids_of(list(connector.read_partition("Leads", partition, {})))
        streamed: list[str] = []
        for _, partitions in micro_batches(connector):
            for partition in partitions:
                streamed += ids_of(list(connector.read_partition("Leads", partition, {})))
        for seen in (batch, streamed):
            assert len(seen) == len(set(seen))
            assert set(seen) == zoho.record_ids("Leads")


def test_batches_of_a_module_the_tap_would_window_lose_nothing(zoho: ZohoEmulator) -> None:
    """read_table cuts a batch at its first records in cursor order. The tap's windows
    interleave the records of several windows, which can look sorted while they skip the rest
    of an earlier window: before batches were read as one walk, 2 reads in 8 lost records."""
    connector = ZohoCrmLakeflowConnect(options_for(zoho, max_records_per_batch="333"))
    for _ in range(6):
        read = read_to_end(connector, "Leads")
        assert read.converged
        assert len(read.records) == len(set(ids_of(read.records)))
        assert set(ids_of(read.records)) == zoho.record_ids("Leads")


def test_a_stream_stays_lookback_seconds_behind_now() -> None:
    """With the tap's ``lookback_seconds``, a micro-batch ends that long before now: a write
    Zoho shows late, stamped within that span, is still ahead of the stream when it shows."""
    lookback = 3_600
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 63, size={"Leads": 600}) as zoho:
        recent = sorted(zoho.record_ids("Leads"))[:5]
        zoho.update_records("Leads", recent, {"Last_Name": "Just now"})
        stream = ZohoCrmLakeflowConnect(options_for(zoho, lookback_seconds=str(lookback)))
        seen: list[str] = []
        ends: list[dict[str, Any]] = []
        for end, partitions in micro_batches(stream):
            ends.append(end)
            for partition in partitions:
                seen += ids_of(list(stream.read_partition("Leads", partition, {})))
        cap = instant(ends[-1]["replication_key_value"])
        assert cap <= datetime.now(UTC) - timedelta(seconds=lookback)
        before = {i for i in zoho.record_ids("Leads") if stored_instant(zoho, "Leads", i) < cap}
        assert set(recent).isdisjoint(before)
        assert len(seen) == len(set(seen))
        assert set(seen) == before
