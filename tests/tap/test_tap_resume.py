"""Interrupted syncs resume from their last STATE and lose nothing (nor re-read everything)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tap_helpers import REPO, discover, run_sync, select_only, write_json

from tap_zoho_crm.client.errors import ZohoCreditsExhaustedError
from tap_zoho_crm.testing.emulator import ZohoEmulator

SIZE = 6000


@pytest.fixture
def big_leads():
    with ZohoEmulator(profile="minimal", seed=11, size={"Leads": SIZE}) as zoho:
        yield zoho


def _truth(zoho: ZohoEmulator) -> set[int]:
    return {int(i) for i in zoho.record_ids("Leads")}


def test_cli_killed_mid_stream_resumes_from_its_last_state(big_leads, tmp_path: Path):
    zoho = big_leads
    zoho.faults.latency_s = 0.02  # slow enough to be killed mid-stream
    config = write_json(tmp_path / "config.json", zoho.tap_config())
    catalog = write_json(
        tmp_path / "catalog.json", select_only(discover(zoho.tap_config()), {"Leads"})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ZOHO_CRM_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_zoho_crm", "--config", config, "--catalog", catalog],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )
    before_state: list[int] = []
    pending: list[int] = []
    last_state = None
    assert proc.stdout is not None
    for line in proc.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            pending.append(message["record"]["id"])
        elif message["type"] == "STATE" and (
            message["value"].get("bookmarks", {}).get("Leads", {}).get("replication_key_value")
        ):
            last_state = message["value"]
            before_state.extend(pending)
            pending = []
        if last_state is not None and len(pending) >= 500:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    assert last_state is not None
    assert 0 < len(before_state) < SIZE

    zoho.faults.latency_s = 0
    state = write_json(tmp_path / "state.json", last_state)
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_zoho_crm",
            "--config",
            config,
            "--catalog",
            catalog,
            "--state",
            state,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = [
        json.loads(line)["record"]["id"]
        for line in resumed.stdout.splitlines()
        if line.startswith('{"type":"RECORD"') or '"type": "RECORD"' in line
    ]
    assert set(before_state) | set(after) == _truth(zoho)
    # Nothing emitted before the STATE is read again: the tie ids make the resume exact.
    assert not set(before_state) & set(after)
    assert len(after) == len(set(after))


@pytest.mark.parametrize("exclusive", [False, True], ids=["ims-inclusive", "ims-exclusive"])
def test_in_process_sync_stopped_after_n_records_resumes_exactly(big_leads, exclusive):
    zoho = big_leads
    zoho.faults.if_modified_since_exclusive = exclusive
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Leads"})
    seen: list[dict] = []

    class StopSyncError(Exception):
        pass

    def stop_after(message: dict) -> None:
        seen.append(message)
        if sum(m["type"] == "RECORD" for m in seen) == 2345:
            raise StopSyncError

    with pytest.raises(StopSyncError):
        run_sync(config, catalog=catalog, on_message=stop_after)
    states = [i for i, m in enumerate(seen) if m["type"] == "STATE"]
    last = states[-1]
    before = [m["record"]["id"] for m in seen[:last] if m["type"] == "RECORD"]
    assert len(before) >= 2000  # STATE at least every 1,000 records

    resumed = run_sync(config, catalog=catalog, state=seen[last]["value"])
    after = resumed.ids("Leads")
    assert set(before) | set(after) == _truth(zoho)
    assert not set(before) & set(after)


def test_credit_exhaustion_stops_with_state_and_resumes(big_leads):
    zoho = big_leads
    # One walk, whose cost is counted below (a windowed read's stop: test_tap_windows.py).
    # bulk_read_min_records 0: no count for the Bulk Read decision, so 12 credits are 12 pages.
    config = zoho.tap_config(
        max_retries=3, windowed_reads=False, max_concurrency=5, bulk_read_min_records=0
    )
    catalog = select_only(discover(config), {"Leads"})
    # Discovery already spent credits in the rolling window: allow 12 more Get Records calls.
    zoho.faults.daily_credits = zoho.stats.credits + 12
    zoho.stats.reset()
    seen: list[dict] = []
    with pytest.raises(ZohoCreditsExhaustedError):
        run_sync(config, catalog=catalog, on_message=seen.append)
    records = [m["record"]["id"] for m in seen if m["type"] == "RECORD"]
    # Each re-anchored page repeats (and skips) at least the previous page's last record.
    assert 12 * 190 <= len(records) <= 12 * 200
    # Stopped, not spun: Zoho's X-API-CREDITS-REMAINING: 0 stops the tap before a 13th call
    # (at most one refused call if the header were missing).
    assert zoho.stats.calls["GET /crm/v8/{module}"] in {12, 13}
    state = [m for m in seen if m["type"] == "STATE"][-1]["value"]
    assert state["bookmarks"]["Leads"]["replication_key_value"]

    zoho.faults.daily_credits = None
    resumed = run_sync(config, catalog=catalog, state=state)
    after = resumed.ids("Leads")
    assert set(records) | set(after) == _truth(zoho)
    assert not set(records) & set(after)
