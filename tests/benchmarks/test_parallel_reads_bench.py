"""Parallel reads at Zoho-like latency: today's sequential reads against the defaults.

Both runs of a dataset happen here, one after the other, against the same emulated org at 150 ms
per call and a concurrency limit of 10 (a Standard org): first the baseline, the old behaviour
set through settings (``windowed_reads: false``, ``max_concurrency: 5``, the old default, and
``streams_in_flight: 1``), then the defaults. The floor is calls x latency / limit: the wall
time if every slot were busy all the time. Discovery is done before the clock starts (both runs
sync the same catalog). Records are serialised as the tap's stdout writer does, and dropped.

Consumer CPU is the CPU time of the thread that runs the SDK's record path (conformance, the
message writer, STATE): it cannot overlap with itself, so it is a floor of its own, printed
beside. "all cpu" is the CPU time of the whole process: the emulator runs in it too, and
shares its interpreter lock, so a wall time near it means the run was bound by CPU, not calls.
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
BASELINE = {"windowed_reads": False, "max_concurrency": 5, "streams_in_flight": 1}
WALL_OVER_FLOOR_MAX = 1.5
CALLS_OVER_BASELINE_MAX = 1.1
DEMO_SEED = 7


class CountingWriter(SingerWriter):
    """Serialises every message like the tap's stdout writer, and counts the records."""

    def __init__(self) -> None:
        super().__init__()
        self.records = 0

    def write_message(self, message: Message) -> None:
        self.serialize_message(message)
        if message.to_dict()["type"] == "RECORD":
            self.records += 1


@dataclass
class Run:
    label: str
    calls: int
    wall_s: float
    consumer_cpu_s: float
    process_cpu_s: float
    peak: int
    refused: int
    records: int

    @property
    def floor_s(self) -> float:
        return self.calls * LATENCY_S / LIMIT

    def row(self) -> str:
        return (
            f"{self.label:<34} {self.calls:>6} {self.wall_s:>8.1f} {self.floor_s:>8.1f} "
            f"{self.wall_s / self.floor_s:>6.2f} {self.consumer_cpu_s:>8.1f} "
            f"{self.process_cpu_s:>8.1f} {self.peak:>5} "
            f"{self.refused:>5} {self.records:>8}"
        )


HEADER = (
    f"{'run':<34} {'calls':>6} {'wall s':>8} {'floor s':>8} {'ratio':>6} {'cpu s':>8} "
    f"{'all cpu':>8} "
    f"{'peak':>5} {'429c':>5} {'records':>8}"
)


def _crm_calls(zoho: ZohoEmulator) -> int:
    return sum(n for route, n in zoho.stats.calls.items() if " /crm/" in route)


def _sync(zoho: ZohoEmulator, label: str, config: dict[str, Any], catalog: dict[str, Any]) -> Run:
    zoho.stats.reset()
    zoho.limits.reset_peak()
    writer = CountingWriter()
    tap = TapZohoCrm(
        config=config,
        catalog=copy.deepcopy(catalog),
        parse_env_config=False,
        message_writer=writer,
    )
    started, cpu, all_cpu = time.monotonic(), time.thread_time(), time.process_time()
    tap.sync_all()
    wall, cpu = time.monotonic() - started, time.thread_time() - cpu
    all_cpu = time.process_time() - all_cpu
    return Run(
        label=label,
        calls=_crm_calls(zoho),
        wall_s=wall,
        consumer_cpu_s=cpu,
        process_cpu_s=all_cpu,
        peak=zoho.limits.peak_in_flight,
        refused=tap.client.limiter.refusals,
        records=writer.records,
    )


def _compare(zoho: ZohoEmulator, name: str) -> tuple[Run, Run]:
    license_details = dict(zoho.org.org_info["license_details"])
    license_details.update(paid=True, paid_type="standard")
    zoho.org.org_info["license_details"] = license_details
    # Get Records reads (an initial load of a large module would go through Bulk Read).
    config = {**zoho.tap_config(), "bulk_read_min_records": 0}
    catalog = TapZohoCrm(config=config, parse_env_config=False, setup_mapper=False).catalog_dict
    zoho.faults.latency_s = LATENCY_S
    zoho.faults.concurrency_limit = LIMIT
    baseline = _sync(zoho, f"{name}: sequential walks, 5", {**config, **BASELINE}, catalog)
    parallel = _sync(zoho, f"{name}: windows, the org's limit", config, catalog)
    print(f"\n{LATENCY_S * 1000:.0f} ms per call, at most {LIMIT} in flight")
    print(HEADER)
    print(baseline.row())
    print(parallel.row())
    print(
        f"{name}: wall {baseline.wall_s / parallel.wall_s:.2f}x faster; calls "
        f"{parallel.calls / baseline.calls:.3f}x the baseline's; wall "
        f"{parallel.wall_s / parallel.floor_s:.2f}x the floor (target <= {WALL_OVER_FLOOR_MAX})"
    )
    return baseline, parallel


def _check(baseline: Run, parallel: Run) -> None:
    assert parallel.records >= baseline.records
    assert parallel.refused == 0
    assert parallel.peak <= LIMIT
    assert parallel.calls <= CALLS_OVER_BASELINE_MAX * baseline.calls
    assert parallel.wall_s <= WALL_OVER_FLOOR_MAX * parallel.floor_s


@pytest.mark.benchmark
def test_demo_org_full_sync_at_150ms():
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        baseline, parallel = _compare(zoho, "demo org")
    _check(baseline, parallel)


@pytest.mark.benchmark
def test_120k_record_module_at_150ms():
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 120_000}) as zoho:
        baseline, parallel = _compare(zoho, "120,000 Leads")
    _check(baseline, parallel)
