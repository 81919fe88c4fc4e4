"""The tap's CPU per record against the floor: a plain ``requests`` + ``json.loads`` loop.

One emulated 120,000-record Leads module at zero latency. The tap (the real CLI, output to
/dev/null) and the raw loop (``raw_loop.py``: same fields, same page size, same keyset walk)
each run in their own process, side by side in one run and five times each in alternation;
each process's CPU seconds (user + system) come from ``os.wait4``, so the emulator, which runs
in this process, is not counted, and its peak RSS from its own ``VmHWM`` (``peak_rss.py``). On
a shared machine other processes inflate CPU time by tens of percent, so the ratio uses the
least disturbed (lowest) run of each; the pairwise ratios are printed too.

The 2x bound is on the record path, so the tap reads as one keyset walk (``windowed_reads``
off), the shape of the raw loop. The default windowed read is run and printed beside it: its
worker threads contend for the GIL, which costs CPU that buys wall time at real latencies
(``test_parallel_reads_bench.py``), not per-record work.

Peak RSS must stay flat: a run over the last quarter of the records (``start_date``) is
compared with the full run, both as one walk. Everything a figure depends on is printed
(``make bench``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tap_zoho_crm.paging import chunk_fields
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.benchmarks.child_process import run_child
from tests.support.zoho_truth import modified_times
from tests.tap.tap_helpers import discover, select_only, write_json

N = 120_000
MODULE = "Leads"
ROUNDS = 5
#: The tap may cost at most this many times the raw loop's CPU (issue 13).
MAX_RATIO = 2.0
#: Peak RSS of the full read may exceed that of a quarter read by at most this much.
RSS_SLACK_MB = 8.0

RAW_LOOP = Path(__file__).with_name("raw_loop.py")
_RECORD_COUNT = re.compile(r'"metric": ?"record_count", ?"value": ?(\d+)')


@dataclass
class Run:
    """One child process: what it read and what it cost."""

    label: str
    records: int
    calls: int
    cpu_s: float
    peak_rss_mb: float

    @property
    def per_cpu_second(self) -> float:
        return self.records / self.cpu_s


def _measure(
    args: list[str], workdir: Path, *, keep_stdout: bool, extra_env: dict[str, str] | None = None
) -> tuple[str, str, float, float]:
    """Run a child to completion; its stdout and stderr, CPU seconds and peak RSS (MB)."""
    child = run_child(args, workdir, keep_stdout=keep_stdout, extra_env=extra_env)
    text_out = child.stdout.read_text(errors="replace") if child.stdout else ""
    return text_out, child.stderr, child.cpu_s, child.peak_rss_mb


def _calls(zoho: ZohoEmulator) -> int:
    return zoho.stats.calls["GET /crm/v8/{module}"]


def _tap(zoho: ZohoEmulator, config: str, catalog: str, label: str, workdir: Path) -> Run:
    zoho.stats.reset()
    _, err, cpu, rss = _measure(
        ["-m", "tap_zoho_crm", "--config", config, "--catalog", catalog],
        workdir,
        keep_stdout=False,
    )
    # The SDK logs the count since its previous log line: the total is the sum.
    counts = [int(value) for value in _RECORD_COUNT.findall(err)]
    assert counts, err[-3000:]
    return Run(label, sum(counts), _calls(zoho), cpu, rss)


def _raw(zoho: ZohoEmulator, fields: list[str], workdir: Path) -> Run:
    zoho.stats.reset()
    out, _, cpu, rss = _measure(
        [
            str(RAW_LOOP),
            zoho.base_url,
            MODULE,
            ",".join(fields),
        ],
        workdir,
        keep_stdout=True,
        extra_env={"ZOHO_ACCESS_TOKEN": zoho.access_token()},
    )
    return Run("raw loop", int(json.loads(out)["records"]), _calls(zoho), cpu, rss)


@pytest.mark.benchmark
def test_tap_costs_at_most_twice_the_raw_loop_with_flat_memory(tmp_path: Path) -> None:
    with ZohoEmulator(profile="minimal", seed=5, size={MODULE: N}) as zoho:
        zoho.token_mint_limit = None  # one token per process started here
        config = {**zoho.tap_config(), "bulk_read_min_records": 0}  # the Get Records path
        catalog = select_only(discover(config), {MODULE})
        entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == MODULE)
        fields = chunk_fields(list(entry["schema"]["properties"]))
        assert len(fields) == 1, "one field chunk: the raw loop reads the same pages"
        config_path = write_json(tmp_path / "config.json", config)
        catalog_path = write_json(tmp_path / "catalog.json", catalog)
        times = sorted(modified_times(zoho, MODULE).values())
        quarter = times[len(times) * 3 // 4].isoformat()
        one_walk = {**config, "windowed_reads": False}
        one_walk_path = write_json(tmp_path / "one_walk.json", one_walk)
        quarter_path = write_json(tmp_path / "quarter.json", {**one_walk, "start_date": quarter})

        runs: list[tuple[Run, Run]] = []
        windowed: list[Run] = []
        for round_no in range(1, ROUNDS + 1):
            raw = _raw(zoho, fields[0], tmp_path)
            tap = _tap(zoho, one_walk_path, catalog_path, f"tap (round {round_no})", tmp_path)
            runs.append((raw, tap))
            label = f"tap, windows ({round_no})"
            windowed.append(_tap(zoho, config_path, catalog_path, label, tmp_path))
        small = _tap(zoho, quarter_path, catalog_path, "tap, last quarter", tmp_path)

    raw_best = min((raw for raw, _ in runs), key=lambda r: r.cpu_s)
    tap_best = min((tap for _, tap in runs), key=lambda r: r.cpu_s)
    windowed_best = min(windowed, key=lambda r: r.cpu_s)
    ratio = tap_best.cpu_s / raw_best.cpu_s
    full_rss = max(tap.peak_rss_mb for _, tap in runs)
    print(f"\n{N:,} {MODULE} records at zero latency, each run in its own process:")
    print(
        f"{'run':<24}{'records':>10}{'GET calls':>11}{'CPU s':>9}{'rec/CPU-s':>12}"
        f"{'peak RSS MB':>13}"
    )
    for run in [r for pair in runs for r in pair] + windowed + [small]:
        print(
            f"{run.label:<24}{run.records:>10,}{run.calls:>11,}{run.cpu_s:>9.2f}"
            f"{run.per_cpu_second:>12,.0f}{run.peak_rss_mb:>13.1f}"
        )
    pairwise = ", ".join(f"{tap.cpu_s / raw.cpu_s:.2f}x" for raw, tap in runs)
    print(f"tap / raw loop CPU, pairwise: {pairwise}")
    print(
        f"tap / raw loop CPU (best of {ROUNDS} each): {ratio:.2f}x "
        f"({tap_best.per_cpu_second:,.0f} vs {raw_best.per_cpu_second:,.0f} records/CPU-s)"
    )
    print(
        f"tap with its default windows / raw loop CPU (best of {ROUNDS} each): "
        f"{windowed_best.cpu_s / raw_best.cpu_s:.2f}x (concurrency costs CPU; "
        "the wall time it buys is test_parallel_reads_bench's)"
    )
    print(
        f"peak RSS: {full_rss:.1f} MB for {tap_best.records:,} records, "
        f"{small.peak_rss_mb:.1f} MB for {small.records:,}; with windows "
        f"{max(run.peak_rss_mb for run in windowed):.1f} MB (pages queued: 2 per worker)"
    )
    for raw, tap in runs:
        assert raw.records == N
        assert tap.records == N
    assert all(run.records == N for run in windowed)
    assert 0 < small.records < N // 2
    assert ratio <= MAX_RATIO
    assert full_rss <= small.peak_rss_mb + RSS_SLACK_MB
