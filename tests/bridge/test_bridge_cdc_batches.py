"""A cdc table read in batches of 500 across mutations ends with exactly the emulator's rows.

Changes are applied like Lakeflow's ``apply_changes`` does: upserts keyed on ``id`` and
sequenced by ``Modified_Time``, deletes from ``read_table_deletes`` sequenced by their time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge_helpers import connection_options, same_offset

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect

TABLE = "Leads"
BATCH = 500
OPTIONS = {"max_records_per_batch": str(BATCH)}


def instant(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


class AppliedTable:
    """A target table fed by apply_changes (SCD type 1) with deletes."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[float, dict[str, Any] | None]] = {}

    def _apply(self, key: int, sequence: float, row: dict[str, Any] | None) -> None:
        current = self.rows.get(key)
        if current is None or sequence >= current[0]:
            self.rows[key] = (sequence, row)

    def upsert(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self._apply(record["id"], instant(record["Modified_Time"]), record)

    def delete(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            assert set(record.values()) - {None} == {record["id"], record["Modified_Time"]}
            self._apply(record["id"], instant(record["Modified_Time"]), None)

    def live(self) -> dict[int, dict[str, Any]]:
        return {key: row for key, (_, row) in self.rows.items() if row is not None}


class Pipeline:
    """Drives read_table and read_table_deletes like the Lakeflow streaming flows do."""

    def __init__(self, connector: ZohoCrmLakeflowConnect) -> None:
        self.connector = connector
        self.target = AppliedTable()
        self.offset: dict[str, Any] = {}
        self.deletes_offset: dict[str, Any] = {}
        self.batch_sizes: list[int] = []

    def upserts(self, max_batches: int = 50) -> None:
        for _ in range(max_batches):
            records, end = self.connector.read_table(TABLE, self.offset, OPTIONS)
            batch = list(records)
            assert len(batch) <= BATCH
            if same_offset(end, self.offset):
                assert batch == []
                return
            assert batch, "an offset moved without records"
            self.batch_sizes.append(len(batch))
            self.target.upsert(batch)
            self.offset = end
        raise AssertionError("upserts did not converge")

    def one_batch(self) -> None:
        records, self.offset = self.connector.read_table(TABLE, self.offset, OPTIONS)
        batch = list(records)
        self.batch_sizes.append(len(batch))
        self.target.upsert(batch)

    def deletes(self, max_batches: int = 50) -> None:
        for _ in range(max_batches):
            records, end = self.connector.read_table_deletes(TABLE, self.deletes_offset, OPTIONS)
            batch = list(records)
            if same_offset(end, self.deletes_offset):
                assert batch == []
                return
            self.target.delete(batch)
            self.deletes_offset = end
        raise AssertionError("deletes did not converge")


def assert_matches_emulator(target: AppliedTable, zoho: Any) -> None:
    live = target.live()
    truth = {int(record["id"]): record for record in zoho.iter_records(TABLE)}
    assert set(live) == set(truth), (len(set(live) - set(truth)), len(set(truth) - set(live)))
    for key, record in truth.items():
        row = live[key]
        assert instant(row["Modified_Time"]) == instant(record["Modified_Time"]), key
        assert row["Last_Name"] == record["Last_Name"], key


def test_batches_of_500_across_mutations_end_with_the_emulators_rows(fresh_zoho: Any) -> None:
    zoho = fresh_zoho(size={TABLE: 1800})
    connector = ZohoCrmLakeflowConnect(connection_options(zoho))
    assert connector.read_table_metadata(TABLE, {})["ingestion_type"] == "cdc_with_deletes"
    pipeline = Pipeline(connector)

    # Two batches in, the org changes under the reader.
    pipeline.one_batch()
    pipeline.one_batch()
    delivered = sorted(pipeline.target.live())
    pending = sorted(int(i) for i in zoho.record_ids(TABLE) if int(i) not in set(delivered))
    assert len(delivered) == 2 * BATCH
    for key in delivered[:3] + pending[:3]:
        zoho.update_record(TABLE, str(key), {"Last_Name": f"Renamed {key}"})
    zoho.delete_record(TABLE, str(delivered[3]))
    zoho.delete_record(TABLE, str(pending[3]), permanent=True)
    zoho.update_record(TABLE, str(delivered[4]), {"Last_Name": "Soon gone"})
    zoho.delete_record(TABLE, str(delivered[4]))
    # Enough new records in a burst that many share one Modified_Time across batch edges.
    for n in range(700):
        zoho.create_record(TABLE, {"Last_Name": f"Burst {n}"})

    pipeline.upserts()
    pipeline.deletes()
    assert_matches_emulator(pipeline.target, zoho)

    # A second round of changes, read from the stored offsets.
    zoho.update_record(TABLE, str(delivered[10]), {"Last_Name": "Second round"})
    zoho.delete_record(TABLE, str(pending[10]))
    created = zoho.create_record(TABLE, {"Last_Name": "Latecomer"})
    pipeline.upserts()
    pipeline.deletes()
    assert_matches_emulator(pipeline.target, zoho)
    assert int(created) in pipeline.target.live()

    assert pipeline.batch_sizes.count(BATCH) >= 4, pipeline.batch_sizes
    assert max(pipeline.batch_sizes) == BATCH
