"""Parallel reads at Zoho-like latency: today's sequential reads against the defaults.

Both runs of a dataset happen here, one after the other, against the same emulated org at 150 ms
per call and a concurrency limit of 10 (a Standard org): first the baseline, the old behaviour
set through settings (``windowed_reads: false``, ``max_concurrency: 5``, the old default, and
``streams_in_flight: 1``), then the defaults. The floor is calls x latency / limit: the wall
time if every slot were busy all the time.

The tap runs as users run it, the real CLI in a process of its own with its stdout in a file,
and the emulator stays in this process: Zoho's CPU is not the tap's, and an emulator sharing the
tap's interpreter lock would bill the tap for serving 600 pages. Discovery is done before the
clock starts (both runs sync the same catalog file), and so is an untimed warm-up run that fills
the emulator's record caches, so both timed runs are served alike. "tap cpu" is the tap
process's CPU time (``os.wait4``): a wall time near it means the run was bound by the tap's CPU,
not by calls. "emu cpu" is this process's CPU time meanwhile, the emulator serving: its threads
share one interpreter lock, so a wall time near it means the run was bound by the emulator.
Calls, the most calls in flight and 429s for concurrency are the emulator's own counts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.benchmarks.child_process import run_child
from tests.tap.tap_helpers import write_json

LATENCY_S = 0.15
LIMIT = 10
BASELINE = {"windowed_reads": False, "max_concurrency": 5, "streams_in_flight": 1}
WALL_OVER_FLOOR_MAX = 1.5
CALLS_OVER_BASELINE_MAX = 1.1
DEMO_SEED = 7
RECORD_PREFIX = b'{"type":"RECORD"'


@dataclass
class Run:
    label: str
    calls: int
    wall_s: float
    tap_cpu_s: float
    emulator_cpu_s: float
    peak: int
    refused: int
    records: int

    @property
    def floor_s(self) -> float:
        return self.calls * LATENCY_S / LIMIT

    def row(self) -> str:
        return (
            f"{self.label:<34} {self.calls:>6} {self.wall_s:>8.1f} {self.floor_s:>8.1f} "
            f"{self.wall_s / self.floor_s:>6.2f} {self.tap_cpu_s:>8.1f} "
            f"{self.emulator_cpu_s:>8.1f} {self.peak:>5} "
            f"{self.refused:>5} {self.records:>8}"
        )


HEADER = (
    f"{'run':<34} {'calls':>6} {'wall s':>8} {'floor s':>8} {'ratio':>6} {'tap cpu':>8} "
    f"{'emu cpu':>8} {'peak':>5} {'429c':>5} {'records':>8}"
)


def _crm_calls(zoho: ZohoEmulator) -> int:
    return sum(n for route, n in zoho.stats.calls.items() if " /crm/" in route)


def _sync(zoho: ZohoEmulator, label: str, config: dict[str, Any], workdir: Path) -> Run:
    """One run of the real CLI over the catalog in ``workdir``; its stdout kept in a file."""
    config_path = write_json(workdir / "config.json", config)
    catalog_path = str(workdir / "catalog.json")
    zoho.stats.reset()
    zoho.limits.reset_peak()
    emulator_cpu = time.process_time()
    child = run_child(
        ["-m", "tap_zoho_crm", "--config", config_path, "--catalog", catalog_path],
        workdir,
        keep_stdout=True,
        extra_env={"TAP_ZOHO_CRM_CACHE_DIR": str(workdir / "tokens")},
    )
    emulator_cpu = time.process_time() - emulator_cpu
    assert child.stdout is not None
    with child.stdout.open("rb") as lines:
        records = sum(1 for line in lines if line.startswith(RECORD_PREFIX))
    return Run(
        label=label,
        calls=_crm_calls(zoho),
        wall_s=child.wall_s,
        tap_cpu_s=child.cpu_s,
        emulator_cpu_s=emulator_cpu,
        peak=zoho.limits.peak_in_flight,
        refused=zoho.limits.refused,
        records=records,
    )


def _compare(zoho: ZohoEmulator, name: str, workdir: Path) -> tuple[Run, Run]:
    license_details = dict(zoho.org.org_info["license_details"])
    license_details.update(paid=True, paid_type="standard")
    zoho.org.org_info["license_details"] = license_details
    zoho.token_mint_limit = None  # one token per process started here
    # Get Records reads (an initial load of a large module would go through Bulk Read).
    config = {**zoho.tap_config(), "bulk_read_min_records": 0}
    catalog = TapZohoCrm(config=config, parse_env_config=False, setup_mapper=False).catalog_dict
    (workdir / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    # Both timed runs are served warm: an untimed run at zero latency first has the emulator
    # generate and render every record once (its caches, docs/EMULATOR.md), so the baseline
    # does not pay for what the second run then gets for free.
    _sync(zoho, f"{name}: warm-up", {**config, **BASELINE}, workdir)
    zoho.faults.latency_s = LATENCY_S
    zoho.faults.concurrency_limit = LIMIT
    baseline = _sync(zoho, f"{name}: sequential walks, 5", {**config, **BASELINE}, workdir)
    parallel = _sync(zoho, f"{name}: windows, the org's limit", config, workdir)
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
def test_demo_org_full_sync_at_150ms(tmp_path: Path) -> None:
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        baseline, parallel = _compare(zoho, "demo org", tmp_path)
    _check(baseline, parallel)


@pytest.mark.benchmark
def test_120k_record_module_at_150ms(tmp_path: Path) -> None:
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 120_000}) as zoho:
        baseline, parallel = _compare(zoho, "120,000 Leads", tmp_path)
    _check(baseline, parallel)
