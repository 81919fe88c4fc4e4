"""The bridge's read paths at their edges, against the emulator, in this process.

Spark runs the data source's readers in Python workers that coverage follows only partly, so
these tests drive the same reader objects here, the way Spark calls them (pickled like a
worker gets them), and compare every row with the emulator's stored records: ids from the
emulator, instants from its stored ``Modified_Time``, never from the connector's output.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bridge_helpers import DEMO_SEED, connection_options, read_to_end

import lakeflow_bridge.connector as connector_module
import lakeflow_bridge.datasource as datasource_module
from lakeflow_bridge.connector import ZohoCrmLakeflowConnect, ZohoCrmReadError
from lakeflow_bridge.datasource import (
    ZohoCrmDataSource,
    ZohoCrmPartitionedStreamReader,
    register_lakeflow_source,
)
from lakeflow_bridge.partitions import WHOLE
from tap_zoho_crm.testing.emulator import ZohoEmulator

BIG = 600
MIN_RECORDS = 200  # the tap's window_min_records, at its floor: 600 records make 3 windows
MAX_MICRO_BATCHES = 20
#: Scopes of a refresh token that may read modules and settings but not run COQL.
NO_COQL = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ"


@pytest.fixture(scope="module")
def big() -> Iterator[ZohoEmulator]:
    """A read-only org whose Leads take three partitions (every stamp is in the past)."""
    with ZohoEmulator(profile="minimal", seed=DEMO_SEED + 70, size={"Leads": BIG}) as org:
        yield org


def options_for(zoho: ZohoEmulator, **extra: str) -> dict[str, str]:
    return connection_options(zoho, window_min_records=str(MIN_RECORDS), **extra)


def id_column(schema: Any) -> int:
    return schema.fieldNames().index("id")


def row_ids(rows: list[tuple[Any, ...]], schema: Any) -> list[int]:
    column = id_column(schema)
    return [row[column] for row in rows]


def stored_ids(zoho: ZohoEmulator, module: str) -> set[int]:
    return {int(i) for i in zoho.record_ids(module)}


def stored_instant(zoho: ZohoEmulator, module: str, record_id: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(zoho.get_record(module, str(record_id))["Modified_Time"])


def as_worker(reader: Any) -> Any:
    """The reader as Spark ships it to a worker (pickled; the connector is rebuilt there)."""
    return pickle.loads(pickle.dumps(reader))  # noqa: S301 - our own object


# -- the data source's readers --------------------------------------------------------------


def test_a_batch_read_of_a_big_module_reads_each_window_once(big: ZohoEmulator) -> None:
    options = options_for(big, path="Leads")
    schema = ZohoCrmLakeflowConnect(options).get_table_schema("Leads", {})
    source = ZohoCrmDataSource(options)  # no schema() first: the reader gets a token itself
    reader = source.reader(schema)
    partitions = reader.partitions()
    assert len(partitions) >= 2
    assert all(p.descriptor["kind"] == "window" for p in partitions)
    assert "token" not in repr(partitions[0]).lower()
    rows = [row for p in partitions for row in as_worker(reader).read(p)]
    ids = row_ids(rows, schema)
    assert len(ids) == len(set(ids))
    assert set(ids) == stored_ids(big, "Leads")


def test_a_partitioned_stream_reads_every_record_once_and_stops(big: ZohoEmulator) -> None:
    options = options_for(big, path="Leads", max_records_per_batch="250")
    source = ZohoCrmDataSource(options)
    schema = source.schema()
    reader = source.streamReader(schema)
    assert isinstance(reader, ZohoCrmPartitionedStreamReader)
    reader.prepareForTriggerAvailableNow()
    start = reader.initialOffset()
    assert start == {}
    ids: list[int] = []
    batches = 0
    for _ in range(MAX_MICRO_BATCHES):
        end = reader.latestOffset(start, None)
        if end == start:
            break
        batches += 1
        for partition in reader.partitions(start, end):
            ids += row_ids(list(as_worker(reader).read(partition)), schema)
        reader.commit(end)
        start = end
    else:
        pytest.fail("the partitioned stream did not stop")
    assert batches >= 2  # 600 records in micro-batches of about 250
    assert len(ids) == len(set(ids))
    assert set(ids) == stored_ids(big, "Leads")
    assert reader.partitions(start, start) == []


def test_other_tables_and_deletes_flows_fall_back_to_the_simple_stream_reader(
    big: ZohoEmulator,
) -> None:
    for options in (
        options_for(big, path="Roles"),
        options_for(big, path="Leads", isDeleteFlow="true"),
    ):
        source = ZohoCrmDataSource(options)
        with pytest.raises(NotImplementedError):
            source.streamReader(source.schema())


def test_a_data_source_without_a_table_name_says_how_to_give_one(big: ZohoEmulator) -> None:
    with pytest.raises(ValueError, match=r'\.load\("Leads"\)'):
        ZohoCrmDataSource(options_for(big)).schema()


def test_available_now_leaves_records_changed_after_its_pin_for_the_next_run(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """The simple reader's cut at the pin: some records kept, then none, then a next run."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 71, size={"Leads": 300})
    options = connection_options(zoho, path="Leads", max_records_per_batch="1000")
    source = ZohoCrmDataSource(options)
    schema = source.schema()
    reader = source.simpleStreamReader(schema)
    reader.prepareForTriggerAvailableNow()
    pinned = dt.datetime.now(dt.UTC)
    zoho.clock.advance(120)  # Zoho stamps the changes two minutes after the pin
    later = sorted(zoho.record_ids("Leads"))[10:15]
    zoho.update_records("Leads", later, {"Last_Name": "After the pin"})
    assert all(stored_instant(zoho, "Leads", i) > pinned for i in later)
    before_pin = {
        i for i in stored_ids(zoho, "Leads") if stored_instant(zoho, "Leads", i) <= pinned
    }
    assert before_pin == stored_ids(zoho, "Leads") - {int(i) for i in later}

    rows, end = reader.read(reader.initialOffset())
    assert set(row_ids(list(rows), schema)) == before_pin
    newest = max(stored_instant(zoho, "Leads", i) for i in before_pin)
    assert dt.datetime.fromisoformat(end["replication_key_value"]) == newest
    rest, same = reader.read(end)  # only changes after the pin are left: none of them now
    assert list(rest) == []
    assert same == end

    next_run = source.simpleStreamReader(schema)
    rows, _ = next_run.read(end)
    assert set(row_ids(list(rows), schema)) == {int(i) for i in later}


def test_available_now_keeps_whole_batches_before_the_pin_and_snapshots(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 72, size={"Leads": 300})
    for table, truth in (("Leads", stored_ids(zoho, "Leads")), ("Roles", zoho.role_ids())):
        source = ZohoCrmDataSource(connection_options(zoho, path=table))
        schema = source.schema()
        reader = source.simpleStreamReader(schema)
        reader.prepareForTriggerAvailableNow()
        rows, _ = reader.read({})
        assert set(row_ids(list(rows), schema)) == {int(i) for i in truth}, table


def test_a_replay_of_a_snapshot_range_is_the_whole_snapshot(big: ZohoEmulator) -> None:
    source = ZohoCrmDataSource(options_for(big, path="Roles"))
    schema = source.schema()
    reader = source.simpleStreamReader(schema)
    _, end = reader.read({})
    replayed = list(as_worker(reader).readBetweenOffsets({}, end))
    assert set(row_ids(replayed, schema)) == {int(i) for i in big.role_ids()}


def test_a_replay_that_cannot_reach_its_end_within_the_bound_fails_clearly(
    big: ZohoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ZohoCrmDataSource(options_for(big, path="Leads", max_records_per_batch="200"))
    schema = source.schema()
    reader = source.simpleStreamReader(schema)
    _, first = reader.read({})
    _, second = reader.read(first)
    monkeypatch.setattr(datasource_module, "MAX_REPLAY_CALLS", 1)
    with pytest.raises(ZohoCrmReadError, match="'Leads' did not finish within its bound"):
        list(reader.readBetweenOffsets({}, second))


def test_the_lakeflow_source_names_the_framework_to_install(spark: Any) -> None:
    with pytest.raises(ImportError, match="databricks-labs-community-connector"):
        register_lakeflow_source(spark)


# -- the connector --------------------------------------------------------------------------


def test_tables_without_partitions_refuse_partition_calls(big: ZohoEmulator) -> None:
    connector = ZohoCrmLakeflowConnect(options_for(big))
    offset = {"replication_key_value": "2024-01-01T00:00:00+00:00"}
    with pytest.raises(ValueError, match="'Roles' is not read in partitions"):
        connector.offset_until("Roles", {}, {}, dt.datetime.now(dt.UTC))
    with pytest.raises(ValueError, match="'Roles' is not read in partitions"):
        connector.get_partitions("Roles", {}, {}, offset)
    with pytest.raises(ValueError, match="'Roles' is ingested as 'snapshot'"):
        connector.read_table_deletes("Roles", {}, {})
    assert connector.get_partitions("Leads", {}, offset, offset) == []
    assert connector.get_partitions("Leads", {"isDeleteFlow": "true"}) == [WHOLE]


def test_a_whole_table_read_that_cannot_finish_within_the_bound_fails_clearly(
    big: ZohoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = ZohoCrmLakeflowConnect(options_for(big, max_records_per_batch="200"))
    monkeypatch.setattr(connector_module, "MAX_REPLAY_CALLS", 2)  # 600 records need 4 reads
    with pytest.raises(ZohoCrmReadError, match="raise max_records_per_batch"):
        connector.read_whole_table("Leads", {})


def test_coql_refused_reads_the_module_whole_in_one_partition(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """Without ``ZohoCRM.coql.READ`` nothing can be planned: one partition, every record."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 73, size={"Leads": BIG})
    narrower = zoho.issue_refresh_token(scope=NO_COQL)
    connector = ZohoCrmLakeflowConnect(options_for(zoho, refresh_token=narrower))
    assert not connector.is_partitioned("Leads")
    assert connector.get_partitions("Leads", {}) == [WHOLE]
    records = list(connector.read_partition("Leads", WHOLE, {}))
    assert sorted(r["id"] for r in records) == sorted(stored_ids(zoho, "Leads"))


def test_coql_refused_after_the_count_still_reads_every_record(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """The profile loses COQL between the count and the probes: the batch read is one
    partition, and a micro-batch one window up to the cap; both read every record."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 74, size={"Leads": BIG})
    connector = ZohoCrmLakeflowConnect(options_for(zoho))
    zoho.faults.denied_modules = {"coql"}
    zoho.faults.denied_after = 1  # the count goes through; every later COQL call is refused
    assert connector.get_partitions("Leads", {}) == [WHOLE]
    assert zoho.faults.injected["denied_modules"] >= 1

    cap = dt.datetime.now(dt.UTC).replace(microsecond=0)
    end = connector.offset_until("Leads", {}, {}, cap)
    assert dt.datetime.fromisoformat(end["replication_key_value"]) == cap
    windows = connector.get_partitions("Leads", {}, {}, end)
    assert len(windows) == 1
    ids = [r["id"] for w in windows for r in connector.read_partition("Leads", w, {})]
    assert sorted(ids) == sorted(stored_ids(zoho, "Leads"))


def test_a_stream_with_nothing_new_before_the_cap_stays_where_it_is(big: ZohoEmulator) -> None:
    connector = ZohoCrmLakeflowConnect(options_for(big))
    newest = max(stored_instant(big, "Leads", i) for i in big.record_ids("Leads"))
    cap = newest.astimezone(dt.UTC) + dt.timedelta(seconds=1)
    end = connector.offset_until("Leads", {}, {}, cap)
    again = connector.offset_until("Leads", {}, end, cap + dt.timedelta(hours=1))
    assert again == end  # nothing changed after `end`: the same offset, not a new one
    from_start_of_nothing = connector.offset_until(
        "Leads", {}, {}, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    assert from_start_of_nothing["replication_key_value"].startswith("2000-01-01T00:00:00")
    assert from_start_of_nothing["ids_at_replication_key_value"] == []


def test_access_tokens_are_minted_once_and_a_revoked_token_fails_clearly(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 75)
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    before = len(zoho.issued_access_tokens())
    token = connector.access_token()
    assert token is not None
    assert len(zoho.issued_access_tokens()) == before + 1
    connector.access_token()  # held now: no second mint
    assert len(zoho.issued_access_tokens()) == before + 1

    revoked = zoho.issue_refresh_token()
    zoho.revoke_refresh_token(revoked)
    with pytest.raises(ZohoCrmReadError, match="getting a Zoho access token failed") as caught:
        ZohoCrmLakeflowConnect(connection_options(zoho, refresh_token=revoked)).access_token()
    assert revoked not in str(caught.value)
    assert zoho.client_secret not in str(caught.value)


def test_a_value_that_does_not_fit_its_native_column_fails_the_read_naming_it(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """Zoho stores an amount with more decimals than its field's ``decimal_place``: the native
    DecimalType cannot hold it exactly, so the read fails (never rounds); seed types read it."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 76)
    field = next(f for f in zoho.fields("Leads") if f["api_name"] == "Annual_Revenue")
    places = int(field["decimal_place"])
    value = float(f"12.{'3' * (places + 1)}")
    victim = sorted(zoho.record_ids("Leads"))[0]
    zoho.update_record("Leads", victim, {"Annual_Revenue": value})
    native = ZohoCrmLakeflowConnect(connection_options(zoho, spark_types="native"))
    with pytest.raises(ZohoCrmReadError, match=r"'Leads'.*'Annual_Revenue'.*spark_types=seed"):
        native.read_table("Leads", {}, {})
    seed = ZohoCrmLakeflowConnect(connection_options(zoho))
    records, _ = seed.read_table("Leads", {}, {})
    by_id = {r["id"]: r for r in records}
    assert (
        by_id[int(victim)]["Annual_Revenue"] == zoho.get_record("Leads", victim)["Annual_Revenue"]
    )


def test_a_catalog_written_by_hand_without_the_taps_metadata_still_reads(
    big: ZohoEmulator,
) -> None:
    """Table kinds come from stream names when the catalog lacks ``zoho-stream-kind``."""
    with_attachments = options_for(big, include_attachments="true")
    discovered = ZohoCrmLakeflowConnect(with_attachments).catalog
    by_hand: dict[str, Any] = {
        "streams": [
            {k: v for k, v in entry.items() if k != "metadata"} for entry in discovered["streams"]
        ]
    }
    # A module whose schema lacks its cursor column cannot be read incrementally.
    accounts = next(e for e in by_hand["streams"] if e["tap_stream_id"] == "Accounts")
    accounts["schema"] = {
        **accounts["schema"],
        "properties": {
            k: v for k, v in accounts["schema"]["properties"].items() if k != "Modified_Time"
        },
    }
    connector = ZohoCrmLakeflowConnect.from_catalog(with_attachments, by_hand)
    tables = connector.list_tables()
    assert "Leads_deleted" not in tables
    kinds = {
        "Leads": "cdc_with_deletes",
        "Users": "cdc",
        "Roles": "snapshot",
        "Campaigns_Leads": "snapshot",
        "Deals_Contact_Roles": "snapshot",
        "Accounts": "snapshot",
        "Attachments": "append",
    }
    for table, ingestion in kinds.items():
        meta = connector.read_table_metadata(table, {})
        assert meta["ingestion_type"] == ingestion, table
        assert ("cursor_field" in meta) == (ingestion != "snapshot"), table
    ids = [
        r["id"]
        for p in connector.get_partitions("Leads", {})
        for r in connector.read_partition("Leads", p, {})
    ]
    assert sorted(ids) == sorted(stored_ids(big, "Leads"))


def test_records_the_tap_sends_again_for_its_lookback_are_delivered_once(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """With ``lookback_seconds`` the tap resumes an hour before the offset and skips nothing,
    so every batch after the first gets records the offset already holds: the bridge drops
    them (before the offset's instant, or tied at it and listed)."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 77, size={"Leads": 200})
    recent = sorted(zoho.record_ids("Leads"))[:120]
    for first in range(0, len(recent), 10):  # ten records a second: ties at every instant
        zoho.update_records("Leads", recent[first : first + 10], {"Last_Name": "Recent"})
        zoho.clock.advance(1)
    connector = ZohoCrmLakeflowConnect(connection_options(zoho, lookback_seconds="3600"))
    read = read_to_end(connector, "Leads", {"max_records_per_batch": "25"})
    assert read.converged
    assert len(read.batches) > 5
    ids = [r["id"] for r in read.records]
    assert len(ids) == len(set(ids))
    assert set(ids) == stored_ids(zoho, "Leads")


def test_offsets_at_the_same_position_or_without_an_instant_plan_from_where_they_are(
    big: ZohoEmulator,
) -> None:
    """A simple-reader offset of records without a cursor (``replication_key_value`` None)
    is the start; two offsets naming the same position hold no micro-batch between them."""
    connector = ZohoCrmLakeflowConnect(options_for(big))
    cap = dt.datetime.now(dt.UTC).replace(microsecond=0)
    no_instant = {
        "ids_at_replication_key_value": [],
        "replication_key": "Modified_Time",
        "replication_key_value": None,
    }
    from_start = connector.offset_until("Leads", {}, {}, cap)
    assert connector.offset_until("Leads", {}, no_instant, cap) == from_start
    position = {"replication_key_value": from_start["replication_key_value"]}
    assert connector.get_partitions("Leads", {}, from_start, position) == []
    assert connector.get_partitions("Leads", {}, from_start, no_instant) == []


def test_with_one_call_in_flight_a_micro_batch_is_one_window_of_every_record(
    big: ZohoEmulator,
) -> None:
    connector = ZohoCrmLakeflowConnect(options_for(big, max_concurrency="1"))
    assert not connector.is_partitioned("Leads")  # no room for two partitions
    assert connector.get_partitions("Leads", {}) == [WHOLE]
    end = connector.offset_until("Leads", {}, {}, dt.datetime.now(dt.UTC).replace(microsecond=0))
    windows = connector.get_partitions("Leads", {}, {}, end)
    assert [w["max_concurrency"] for w in windows] == [1]
    ids = [r["id"] for r in connector.read_partition("Leads", windows[0], {})]
    assert sorted(ids) == sorted(stored_ids(big, "Leads"))


@pytest.mark.parametrize("lookback", ["0", "86400"], ids=["no-lookback", "lookback"])
def test_a_window_without_an_end_reads_the_rest_of_the_module_from_its_start(
    big: ZohoEmulator, lookback: str
) -> None:
    """A descriptor may leave ``until`` out: the window runs to the newest record. With
    ``lookback_seconds`` the tap starts a day early; records before the start stay out."""
    stamps = {int(i): stored_instant(big, "Leads", i) for i in big.record_ids("Leads")}
    start = sorted(stamps.values())[len(stamps) // 2]
    connector = ZohoCrmLakeflowConnect(options_for(big, lookback_seconds=lookback))
    window = {"kind": "window", "start": start.astimezone(dt.UTC).isoformat()}
    ids = [r["id"] for r in connector.read_partition("Leads", window, {})]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i for i, t in stamps.items() if t >= start}


def test_a_batch_read_of_deletes_is_one_partition_of_the_deleted_records(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 78, size={"Leads": BIG})
    victims = sorted(zoho.record_ids("Leads"))[:3]
    for victim in victims:
        zoho.delete_record("Leads", victim)
    source = ZohoCrmDataSource(options_for(zoho, path="Leads", isDeleteFlow="true"))
    schema = source.schema()
    reader = source.reader(schema)
    partitions = reader.partitions()
    assert [p.descriptor for p in partitions] == [WHOLE]  # never windows of the module
    rows = list(as_worker(reader).read(partitions[0]))
    truth = {int(entry["id"]) for entry in zoho.deleted_records("Leads")}
    assert {int(v) for v in victims} <= truth
    assert set(row_ids(rows, schema)) == truth


def test_a_tie_block_larger_than_a_micro_batch_is_read_in_one_micro_batch(
    fresh_zoho: Callable[..., ZohoEmulator],
) -> None:
    """A mass update stamps every record with one instant: the ``max_records_per_batch``-th
    record after the start is at the start's own instant, so a cut there would not move the
    stream; the micro-batch runs to the cap instead, and every record is read once."""
    zoho = fresh_zoho(profile="minimal", seed=DEMO_SEED + 79, size={"Leads": 300})
    every = sorted(zoho.record_ids("Leads"))
    zoho.update_records("Leads", every, {"Last_Name": "Mass update"})
    stamps = {stored_instant(zoho, "Leads", i) for i in every}
    assert len(stamps) == 1
    cap = stamps.pop().astimezone(dt.UTC) + dt.timedelta(minutes=1)
    connector = ZohoCrmLakeflowConnect(options_for(zoho, max_records_per_batch="100"))
    start: dict[str, Any] = {}
    seen: list[int] = []
    for _ in range(MAX_MICRO_BATCHES):
        end = connector.offset_until("Leads", {}, start, cap)
        if end == start:
            break
        for partition in connector.get_partitions("Leads", {}, start, end):
            seen += [r["id"] for r in connector.read_partition("Leads", partition, {})]
        start = end
    else:
        pytest.fail("the stream did not stop")
    assert len(seen) == len(set(seen))
    assert set(seen) == stored_ids(zoho, "Leads")
