"""Settings the README promises, each checked against the emulator.

* ``full_rich_text=false``: no single-record re-reads; rich text is what Zoho's list gives
  (cut at 500 characters, as Zoho documents).
* ``request_timeout``: a server slower than the timeout ends the run with one line, within a
  time bounded by the retry settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tap_helpers import cli, discover, run_sync, select_only, write_json

from tap_zoho_crm.testing.emulator import ZohoEmulator

SINGLE_ROUTE = "GET /crm/v8/{module}/{id}"
LIST_CUT = 500  # Zoho cuts rich text to 500 characters in list answers (spec section 4.2)


@pytest.fixture
def org() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="demo", seed=7) as zoho:
        yield zoho


def test_full_rich_text_false_keeps_the_list_values_and_makes_no_re_reads(org):
    module, field = "Solutions", "Answer"
    long = {
        int(r["id"]): r[field]
        for r in org.iter_records(module)
        if r.get(field) and len(r[field]) > LIST_CUT
    }
    assert long, "the demo org has rich text longer than Zoho's list cut"
    config = org.tap_config(full_rich_text=False)
    catalog = select_only(discover(config), {module})
    org.stats.reset()
    result = run_sync(config, catalog=catalog)
    assert org.stats.calls_by_module[(SINGLE_ROUTE, module)] == 0
    emitted = {r["id"]: r[field] for r in result.records[module]}
    for record_id, full in long.items():
        assert emitted[record_id] == full[:LIST_CUT], record_id
    with_re_reads = run_sync(org.tap_config(), catalog=catalog)
    assert {r["id"]: r[field] for r in with_re_reads.records[module]}.items() >= long.items()


def test_request_timeout_ends_a_run_against_a_slow_server_with_one_line(org, tmp_path: Path):
    org.faults.latency_s = 3.0
    config = org.tap_config(
        request_timeout=1, max_retries=2, max_retry_seconds=5, include_modules=["Roles"]
    )
    started = time.monotonic()
    result = cli(["--config", write_json(tmp_path / "config.json", config), "--discover"])
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "ERROR" in line or "error" in line]
    assert lines, result.stderr
    assert "could not get an answer" in lines[-1]
    assert "ReadTimeout" in lines[-1] or "Timeout" in lines[-1]
    # Two attempts of at most 1 s each plus backoff bounded by max_retry_seconds, plus startup.
    assert elapsed < 60, elapsed
