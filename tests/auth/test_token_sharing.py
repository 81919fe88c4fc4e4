"""One access token for many processes: the cache file, its lock, and Zoho's mint throttle.

Every emulator here keeps Zoho's limit on (10 mints per refresh token in 10 minutes), and mints
are counted from its call log: each ``POST /oauth/v2/token`` either minted or was refused.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tap_zoho_crm.client.auth import TOKEN_CACHE, throttle_wait
from tap_zoho_crm.client.errors import ZohoTokenThrottledError
from tap_zoho_crm.client.token_cache import CACHE_DIR_ENV, FileTokenCache, token_cache_dir
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

TOKEN = "POST /oauth/v2/token"
ACCESS_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
TAP = [sys.executable, "-m", "tap_zoho_crm"]
#: ``token_throttle_max_wait``'s default (README): a throttle outlasting it fails at once.
DEFAULT_THROTTLE_BOUND_S = 120


@pytest.fixture
def org() -> ZohoEmulator:
    with ZohoEmulator(profile="minimal", seed=31, token_mint_limit=10) as zoho:
        TOKEN_CACHE.clear()
        yield zoho
        TOKEN_CACHE.clear()


def write_config(path: Path, config: dict) -> str:
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def run_tap(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TAP, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOGLEVEL": "DEBUG", **env},
        check=False,
    )


def assert_no_secrets(output: str, zoho: ZohoEmulator) -> None:
    assert zoho.client_secret not in output
    assert zoho.refresh_token not in output
    for token in zoho.issued_access_tokens():
        assert token not in output
    assert not ACCESS_TOKEN.search(output)


def cache_files(directory: str) -> list[Path]:
    return sorted((Path(directory) / "tokens").glob("*.json"))


def test_twenty_processes_mint_one_token(org: ZohoEmulator, tmp_path: Path) -> None:
    """10 x (discover, sync) as Meltano runs them: 20 processes, one mint, nothing leaked."""
    config = write_config(tmp_path / "config.json", org.tap_config(include_modules=["Leads"]))
    outputs = []
    started = time.monotonic()
    for run in range(10):
        discovered = run_tap(["--config", config, "--discover"])
        assert discovered.returncode == 0, discovered.stderr[-2000:]
        catalog = tmp_path / f"catalog{run}.json"
        catalog.write_text(discovered.stdout, encoding="utf-8")
        synced = run_tap(["--config", config, "--catalog", str(catalog)])
        assert synced.returncode == 0, synced.stderr[-2000:]
        records = [json.loads(line) for line in synced.stdout.splitlines() if '"RECORD"' in line]
        leads = {str(r["record"]["id"]) for r in records if r["stream"] == "Leads"}
        assert leads == org.record_ids("Leads")
        outputs += [discovered.stdout, discovered.stderr, synced.stdout, synced.stderr]
    elapsed = time.monotonic() - started
    assert org.stats.calls[TOKEN] <= 1  # every call is a mint or a refusal: one mint, no refusal
    assert len(org.issued_access_tokens()) == 1
    assert_no_secrets("\n".join(outputs), org)
    print(f"20 tap processes in {elapsed:.1f} s")


def test_processes_starting_together_mint_once(org: ZohoEmulator, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.json", org.tap_config(include_modules=["Leads"]))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run_tap(["--config", config, "--discover"]), range(4)))
    assert [r.returncode for r in results] == [0, 0, 0, 0], results[0].stderr[-2000:]
    assert org.stats.calls[TOKEN] == 1


def test_cache_file_is_private_and_holds_no_credentials(
    org: ZohoEmulator, private_token_cache: str
) -> None:
    TapZohoCrm(config=org.tap_config(include_modules=["Leads"]), parse_env_config=False)
    files = cache_files(private_token_cache)
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    text = files[0].read_text(encoding="utf-8")
    assert org.refresh_token not in text
    assert org.client_secret not in text
    assert org.client_id not in text
    assert org.refresh_token not in files[0].name
    assert json.loads(text)["token"]["value"] in org.issued_access_tokens()
    assert not list(files[0].parent.glob(".tmp-*"))  # written through a renamed temp file


def test_cache_dir_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv(CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert token_cache_dir() == tmp_path / "xdg" / "tap-zoho-crm" / "tokens"


def test_a_token_near_expiry_in_the_file_is_not_used(
    org: ZohoEmulator, private_token_cache: str
) -> None:
    """The expiry margin (5 minutes, docs/design.md) holds for the file too: a token that
    expires within it is not used, though Zoho would still take it."""
    config = org.tap_config(include_modules=["Leads"])
    TapZohoCrm(config=config, parse_env_config=False)
    TOKEN_CACHE.clear()  # a second process finds the fresh token in the file
    TapZohoCrm(config=config, parse_env_config=False)
    assert org.stats.calls[TOKEN] == 1
    # The file's token now expires in a minute (Zoho still takes it for that minute).
    files = cache_files(private_token_cache)
    assert len(files) == 1
    entry = json.loads(files[0].read_text(encoding="utf-8"))
    entry["token"]["expires_at"] = time.time() + 60
    files[0].write_text(json.dumps(entry), encoding="utf-8")
    TOKEN_CACHE.clear()  # a third process: the file's token is within the margin
    TapZohoCrm(config=config, parse_env_config=False)
    assert org.stats.calls[TOKEN] == 2


def test_token_cache_setting_off_writes_nothing(org: ZohoEmulator, private_token_cache: str):
    config = org.tap_config(include_modules=["Leads"], token_cache=False)
    TapZohoCrm(config=config, parse_env_config=False)
    TOKEN_CACHE.clear()
    TapZohoCrm(config=config, parse_env_config=False)
    assert cache_files(private_token_cache) == []
    assert org.stats.calls[TOKEN] == 2


def test_unwritable_cache_is_skipped_with_one_debug_line(
    org: ZohoEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory should be", encoding="utf-8")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocked))
    with caplog.at_level(logging.DEBUG, logger="tap_zoho_crm.client.token_cache"):
        tap = TapZohoCrm(config=org.tap_config(include_modules=["Leads"]), parse_env_config=False)
    assert "Leads" in tap.streams
    lines = [r for r in caplog.records if r.name == "tap_zoho_crm.client.token_cache"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.DEBUG
    assert "token cache not used" in lines[0].getMessage()
    assert org.stats.calls[TOKEN] == 1


def test_throttle_wait_is_known_only_from_this_machines_mints() -> None:
    now = 10_000.0
    assert throttle_wait([now - 100] * 9, now) is None  # fewer than 10: mints elsewhere
    mints = [now - 500 + i for i in range(10)]
    assert throttle_wait(mints, now) == pytest.approx(100)
    assert throttle_wait([now - 700, *mints[1:]], now) is None  # the oldest left the window
    assert throttle_wait([now - 599.5] * 10, now) == pytest.approx(0.5)


def test_throttled_beyond_the_bound_fails_at_once_saying_when(tmp_path: Path) -> None:
    with ZohoEmulator(profile="minimal", seed=32, token_mint_limit=10) as zoho:
        config = zoho.tap_config(include_modules=["Leads"], token_cache=False)
        for _ in range(10):  # ten separate processes without the cache
            TOKEN_CACHE.clear()
            TapZohoCrm(config=config, parse_env_config=False)
        TOKEN_CACHE.clear()
        started = time.monotonic()
        result = run_tap(["--config", write_config(tmp_path / "c.json", config), "--discover"])
        elapsed = time.monotonic() - started
        assert result.returncode == 1
        errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
        assert len(errors) == 1, result.stderr[-2000:]
        assert "too many requests" in errors[0]
        assert re.search(r"retry after \d\d:\d\d:\d\d UTC", errors[0])
        assert "token_throttle_max_wait" in errors[0]
        assert "Traceback" not in result.stderr
        assert elapsed < DEFAULT_THROTTLE_BOUND_S  # did not wait out the bound: failed at once
        assert zoho.stats.calls[TOKEN] == 11  # ten mints and one refusal, not retried
        assert_no_secrets(result.stdout + result.stderr, zoho)


def test_a_known_short_throttle_is_waited_out(private_token_cache: str) -> None:
    """This machine made the ten mints, so it knows when Zoho lets it mint again, and waits."""
    with ZohoEmulator(profile="minimal", seed=33, token_mint_limit=10) as zoho:
        config = zoho.tap_config(include_modules=["Leads"])
        for _ in range(10):
            TOKEN_CACHE.clear()
            TapZohoCrm(config=config, parse_env_config=False)
            for path in cache_files(private_token_cache):  # forget the token, keep the history
                entry = json.loads(path.read_text(encoding="utf-8"))
                entry["token"] = None
                path.write_text(json.dumps(entry), encoding="utf-8")
        # Let the ten mints have happened 597 s ago on both sides: the block lifts in 3 s.
        zoho.clock.advance(597)
        for path in cache_files(private_token_cache):
            entry = json.loads(path.read_text(encoding="utf-8"))
            entry["mints"] = [t - 597 for t in entry["mints"]]
            path.write_text(json.dumps(entry), encoding="utf-8")
        TOKEN_CACHE.clear()
        started = time.monotonic()
        tap = TapZohoCrm(config={**config, "token_throttle_max_wait": 600}, parse_env_config=False)
        waited = time.monotonic() - started
        assert "Leads" in tap.streams
        assert 2 <= waited < 600  # the 3 s left, not the whole bound
        assert zoho.stats.calls[TOKEN] == 12  # ten mints, one refusal, one mint after the wait


def test_throttled_message_is_a_clear_error_in_process() -> None:
    with ZohoEmulator(profile="minimal", seed=34, token_mint_limit=0) as zoho:
        with pytest.raises(ZohoTokenThrottledError, match=r"retry after .* UTC"):
            TapZohoCrm(config=zoho.tap_config(include_modules=["Leads"]), parse_env_config=False)
        assert zoho.stats.calls[TOKEN] == 1


def test_a_lock_held_too_long_is_given_up_then_taken_again(tmp_path: Path) -> None:
    """Another process holding the cache lock past the bound does not block this one forever."""
    cache = FileTokenCache(tmp_path, lock_wait=0.3)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(tmp_path / "key.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with cache.locked("key") as usable:
            assert usable is False
    finally:
        holder.kill()
        holder.wait()
    with cache.locked("key") as usable:
        assert usable is True
