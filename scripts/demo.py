"""`make demo`: the whole product end to end, offline, against the emulator's demo org.

1. Starts the Zoho CRM emulator (demo profile) in this process on 127.0.0.1.
2. Runs `meltano run tap-zoho-crm target-jsonl` against it (Meltano installs the plugins into the
   project's `.meltano/` on first use) and prints where the output is, with a record count per
   stream next to the emulator's own count.
3. Changes a few records in the emulator and runs again: Meltano resumes from the state it stored,
   so only the changes come through.
4. Shows a few rows of a Spark DataFrame read through the Lakeflow bridge (when it is installed).

The emulator's credentials reach the tap as TAP_ZOHO_CRM_* environment variables, so nothing is
written to meltano.yml or .env. The runs use their own state id (suffix `demo`), leaving the state
of your own `meltano run tap-zoho-crm target-jsonl` alone.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tap_zoho_crm.testing.emulator import ZohoEmulator  # noqa: E402 - needs the path above

MELTANO = Path(sys.executable).with_name("meltano")
OUTPUT = PROJECT_ROOT / "output" / "demo"
DEMO_SEED = 7
RUN_TIMEOUT_S = 900
SETTINGS_STREAMS = ("Users", "Roles", "Profiles", "Org")


class DemoError(RuntimeError):
    """A demo step failed; the message says which and where its log is."""


def parse_args() -> argparse.Namespace:
    """The demo takes no required input; the seed only changes which fake records appear."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="emulator data seed")
    parser.add_argument(
        "--skip-spark", action="store_true", help="do not show the Spark DataFrame at the end"
    )
    return parser.parse_args()


def tap_env(zoho: ZohoEmulator) -> dict[str, str]:
    """The emulator's credentials and URL, as the environment variables Meltano maps to settings."""
    return {f"TAP_ZOHO_CRM_{key.upper()}": str(value) for key, value in zoho.tap_config().items()}


def meltano_run(zoho: ZohoEmulator, destination: Path, *, full_refresh: bool) -> float:
    """`meltano run tap-zoho-crm target-jsonl` into `destination`; its log goes next to the data."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    log_path = destination.with_suffix(".log")
    args = [str(MELTANO), "run", "--state-id-suffix", "demo"]
    if full_refresh:
        args.append("--full-refresh")
    args += ["tap-zoho-crm", "target-jsonl"]
    env = {
        **os.environ,
        **tap_env(zoho),
        "TARGET_JSONL_DESTINATION_PATH": str(destination),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    print(f"$ meltano {' '.join(args[1:])}   (log: {_relative(log_path)})", flush=True)
    started = time.monotonic()
    with log_path.open("w") as log:
        completed = subprocess.run(
            args,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise DemoError(
            f"`meltano run` failed (exit {completed.returncode}); end of {log_path}:\n{tail}"
        )
    return seconds


def count_records(folder: Path) -> Counter[str]:
    """Records per stream in target-jsonl's files (`<stream>-<YYYYmmddTHHMMSS>.jsonl`)."""
    counts: Counter[str] = Counter()
    for path in folder.glob("*.jsonl"):
        head, sep, tail = path.stem.rpartition("-")
        stream = head if sep and len(tail) == 15 and tail[8] == "T" else path.stem
        with path.open(encoding="utf-8") as lines:
            counts[stream] += sum(1 for line in lines if line.strip())
    return counts


def print_counts(counts: Counter[str], title: str, zoho: ZohoEmulator | None = None) -> None:
    """A per-stream table; with `zoho`, every module is listed next to the emulator's count."""
    modules = set(zoho.module_names()) if zoho is not None else set()
    names = sorted(set(counts) | modules) or ["(none)"]
    width = max(len(n) for n in names)
    print(f"\n{title}")
    print(f"  {'stream':<{width}}  {'records':>8}" + ("  in emulator" if zoho else ""))
    for name in names:
        truth = f"  {zoho.count(name):>11}" if zoho is not None and name in modules else ""
        print(f"  {name:<{width}}  {counts.get(name, 0):>8}{truth}")
    print(f"  {'total':<{width}}  {sum(counts.values()):>8}")


def change_a_few_records(zoho: ZohoEmulator) -> dict[str, int]:
    """Update two Leads and two Contacts and create one Deal, like a day of CRM work."""
    changed: dict[str, int] = {}
    for module in ("Leads", "Contacts"):
        for record_id in sorted(zoho.record_ids(module))[:2]:
            zoho.update_record(module, record_id)
        changed[module] = 2
    zoho.create_record("Deals")
    changed["Deals"] = 1
    return changed


def show_spark_rows(tap_config: dict[str, Any]) -> None:
    """Bridge hook: `lakeflow_bridge.demo.show(tap_config)` prints a few rows of a DataFrame."""
    try:
        bridge_demo = importlib.import_module("lakeflow_bridge.demo")
    except ModuleNotFoundError as exc:
        if exc.name != "lakeflow_bridge.demo":
            raise
        print("\nSpark step skipped: lakeflow_bridge.demo is not available in this checkout.")
        return
    print("\nA Spark DataFrame read through the Lakeflow bridge:", flush=True)
    # Local mode needs no network interface but loopback.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    bridge_demo.show(tap_config)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main() -> int:
    """Run the demo; the emulator lives exactly as long as this function."""
    args = parse_args()
    os.environ.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    with ZohoEmulator(profile="demo", seed=args.seed) as zoho:
        print(f"Zoho CRM emulator (demo org, seed {args.seed}) at {zoho.base_url}\n")

        full = OUTPUT / "full"
        seconds = meltano_run(zoho, full, full_refresh=True)
        print_counts(
            count_records(full), f"Full sync in {seconds:.1f} s -> {_relative(full)}/", zoho
        )

        changed = change_a_few_records(zoho)
        print(f"\nChanged in the emulator: {changed}")
        incremental = OUTPUT / "incremental"
        seconds = meltano_run(zoho, incremental, full_refresh=False)
        counts = count_records(incremental)
        print_counts(
            Counter({s: n for s, n in counts.items() if s not in SETTINGS_STREAMS}),
            f"Incremental sync from Meltano's state in {seconds:.1f} s -> "
            f"{_relative(incremental)}/ (full-table settings streams not listed)",
        )

        if not args.skip_spark:
            show_spark_rows(zoho.tap_config())
    print("\nDone. Inspect the output with e.g.: head -n 2 output/demo/full/Leads-*.jsonl")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (DemoError, subprocess.TimeoutExpired) as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
