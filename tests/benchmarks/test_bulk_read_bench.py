"""Initial load of the 120,000-record module: Bulk Read against Get Records, side by side.

One emulated org (120,000 Leads, a Standard edition: 10 calls in flight), 150 ms per call, every
Leads field selected. The load runs three times, one after the other: through Get Records one
call at a time (``windowed_reads: false``, 5 in flight, one stream at a time: the walk the issue
measured at 606 calls and 407 s; the targets are against it), through Get Records with the
tap's defaults (windowed keyset walks at the org's limit; printed beside), and through Bulk
Read (the defaults). Credits are the emulator's own count; wall time is the whole sync
(discovery done before the clock starts), each from a cold emulator (its cache of rendered list
answers emptied first). The emulator builds each job's CSV in this process,
on the poll that completes it, so its CPU is in the Bulk Read wall time, as Zoho's preparation
time would be.

Every field includes ``Data_Processing_Basis_Details``, a consent lookup to a record of its own
for each lead that has one (40 % here): Bulk Read exports its name through the dot path
``Data_Processing_Basis_Details.Name`` instead of reading those records by id
(docs/bulk-read.md, Cost).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import pytest
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.messages import Message

from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

LATENCY_S = 0.15
LIMIT = 10
SIZE = 120_000
CREDITS_SHARE_MAX = 0.1
WALL_SHARE_MAX = 0.25
PER_RECORD_LOOKUP = "Data_Processing_Basis_Details"
#: The one-call-at-a-time walk (the old defaults; see test_parallel_reads_bench.py).
SEQUENTIAL = {"windowed_reads": False, "max_concurrency": 5, "streams_in_flight": 1}


class CountingWriter(SingerWriter):
    """Serialises every message like the tap's stdout writer, and counts the records."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[int] = set()

    def write_message(self, message: Message) -> None:
        self.serialize_message(message)
        payload = message.to_dict()
        if payload["type"] == "RECORD":
            self.ids.add(payload["record"]["id"])


@dataclass
class Run:
    label: str
    credits: int
    calls: int
    wall_s: float
    ids: set[int]

    def row(self) -> str:
        return (
            f"{self.label:<44} {self.credits:>8} {self.calls:>6} {self.wall_s:>8.1f} "
            f"{len(self.ids):>8}"
        )


def _sync(zoho: ZohoEmulator, label: str, config: dict[str, Any], catalog: dict[str, Any]) -> Run:
    # Every run starts from a cold emulator: the list answers it keeps rendered (for Get
    # Records only) would otherwise serve the second walk from the first one's work.
    zoho.org.rendered.clear()
    zoho.stats.reset()
    writer = CountingWriter()
    tap = TapZohoCrm(
        config=config, catalog=copy.deepcopy(catalog), parse_env_config=False, message_writer=writer
    )
    started = time.monotonic()
    tap.sync_all()
    wall = time.monotonic() - started
    calls = sum(n for route, n in zoho.stats.calls.items() if " /crm/" in route)
    return Run(label, zoho.stats.credits, calls, wall, writer.ids)


@pytest.mark.benchmark
def test_bulk_read_initial_load_of_120k_leads_at_150ms() -> None:
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": SIZE}) as zoho:
        license_details = dict(zoho.org.org_info["license_details"])
        license_details.update(paid=True, paid_type="standard")
        zoho.org.org_info["license_details"] = license_details
        config = zoho.tap_config()
        catalog = TapZohoCrm(config=config, parse_env_config=False, setup_mapper=False).catalog_dict
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if not item["breadcrumb"]:
                    item["metadata"]["selected"] = entry["tap_stream_id"] == "Leads"
        selected = {
            item["breadcrumb"][-1]
            for entry in catalog["streams"]
            if entry["tap_stream_id"] == "Leads"
            for item in entry["metadata"]
            if item["breadcrumb"] and item["metadata"].get("selected", True)
        }
        assert PER_RECORD_LOOKUP in selected
        zoho.faults.latency_s = LATENCY_S
        zoho.faults.concurrency_limit = LIMIT
        truth = {int(i) for i in zoho.record_ids("Leads")}
        walk_config = {**config, "bulk_read_min_records": 0}
        runs = [
            _sync(zoho, "Get Records, one walk", {**walk_config, **SEQUENTIAL}, catalog),
            _sync(zoho, "Get Records (windows)", walk_config, catalog),
            _sync(zoho, "Bulk Read", config, catalog),
        ]
    walk, windows, bulk = runs
    print(
        f"\n{SIZE:,} Leads, every field, {LATENCY_S * 1000:.0f} ms per call, "
        f"at most {LIMIT} in flight"
    )
    print(f"{'run':<44} {'credits':>8} {'calls':>6} {'wall s':>8} {'records':>8}")
    for run in runs:
        print(run.row())
    print(
        f"Bulk Read: {bulk.credits / walk.credits:.3f}x the credits (target <= "
        f"{CREDITS_SHARE_MAX}), {bulk.wall_s / walk.wall_s:.3f}x the wall time of the walk "
        f"(target <= {WALL_SHARE_MAX}), {bulk.wall_s / windows.wall_s:.3f}x that of the windows"
    )
    for run in runs:
        assert run.ids == truth
    assert bulk.credits <= CREDITS_SHARE_MAX * walk.credits
    assert bulk.wall_s <= WALL_SHARE_MAX * walk.wall_s
    assert bulk.wall_s < windows.wall_s
