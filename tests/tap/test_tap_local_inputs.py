"""Local mistakes are blamed on the local file or variable, never on Zoho, and no secret shows.

The real CLI at LOGLEVEL=DEBUG: one ERROR line naming the file (or variable) and the problem,
exit 1, no traceback. Also: a host that accepts no connection fails within 15 s naming the host
and the data-centre setting, and a stream that fails makes the run exit non-zero.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tap_helpers import cli, discover, select_only, write_json
from test_tap_cli import DEBUG, assert_no_secrets, assert_one_clear_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


@pytest.fixture(scope="module")
def org() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=21) as zoho:
        yield zoho


@pytest.fixture(scope="module")
def catalog_file(org: ZohoEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    catalog = select_only(discover(org.tap_config()), {"Installations", "Leads"})
    return write_json(tmp_path_factory.mktemp("cat") / "catalog.json", catalog)


def _text(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_malformed_config_file(org, tmp_path: Path):
    config = _text(tmp_path / "c.json", '{"client_id": "x",')
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, f"config file {config}: not valid JSON")


def test_missing_config_file(org, tmp_path: Path):
    config = str(tmp_path / "none.json")
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, f"config file {config}: no such file")


def test_malformed_catalog_file(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config())
    catalog = _text(tmp_path / "cat.json", '{"streams": [')
    result = cli(["--config", config, "--catalog", catalog], env=DEBUG)
    assert_one_clear_error(result, org, f"catalog file {catalog}: not valid JSON")
    catalog = write_json(tmp_path / "cat2.json", {"streams": {"Leads": {}}})
    result = cli(["--config", config, "--catalog", catalog], env=DEBUG)
    assert_one_clear_error(result, org, f"catalog file {catalog}: must be a JSON object with")


@pytest.mark.parametrize(
    ("state", "phrase"),
    [
        ("{bad", "not valid JSON"),
        ('{"bookmarks": null}', "'bookmarks' must be an object of streams (got null)"),
        ('{"bookmarks": {"Leads": "2024"}}', "the bookmark of stream 'Leads' must be an object"),
        ("[]", "must be a JSON object (got a list)"),
    ],
)
def test_malformed_state_file(org, catalog_file: str, tmp_path: Path, state: str, phrase: str):
    config = write_json(tmp_path / "c.json", org.tap_config())
    path = _text(tmp_path / "state.json", state)
    result = cli(["--config", config, "--catalog", catalog_file, "--state", path], env=DEBUG)
    assert_one_clear_error(result, org, f"state file {path}: {phrase}")


def test_env_variable_of_the_wrong_type(org):
    env = {
        **DEBUG,
        "TAP_ZOHO_CRM_CLIENT_ID": org.client_id,
        "TAP_ZOHO_CRM_CLIENT_SECRET": org.client_secret,
        "TAP_ZOHO_CRM_REFRESH_TOKEN": org.refresh_token,
        "TAP_ZOHO_CRM_BASE_URL": org.base_url,
        "TAP_ZOHO_CRM_MAX_CONCURRENCY": "abc",
    }
    result = cli(["--config", "ENV", "--discover"], env=env)
    assert_one_clear_error(
        result, org, "environment variable TAP_ZOHO_CRM_MAX_CONCURRENCY: 'abc' is not an integer"
    )


@pytest.mark.parametrize("shape", ["list", "object", "number"])
def test_a_secret_of_the_wrong_type_is_not_printed(org, tmp_path: Path, shape: str):
    secret = org.client_secret
    value = {"list": [secret], "object": {"v": secret}, "number": 98765432123}[shape]
    config = write_json(tmp_path / "c.json", org.tap_config(client_secret=value))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "client_secret" in result.stderr
    assert "is not of type 'string'" in result.stderr
    assert "98765432123" not in output
    assert_no_secrets(output, org)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_host_that_accepts_no_connection_fails_within_15_s(org, tmp_path: Path):
    base = f"http://127.0.0.1:{_closed_port()}"
    config = write_json(tmp_path / "c.json", org.tap_config(base_url=base))
    started = time.monotonic()
    result = cli(["--config", config, "--discover"], env=DEBUG)
    elapsed = time.monotonic() - started
    assert_one_clear_error(result, org, "cannot connect to 127.0.0.1")
    assert f"base_url ({base})" in result.stderr
    # 15 s of trying on top of what starting the CLI takes on this machine, measured alike.
    started = time.monotonic()
    assert cli(["--about"]).returncode == 0
    startup = time.monotonic() - started
    assert elapsed - startup < 15, (elapsed, startup)


def test_a_failed_stream_makes_the_cli_exit_non_zero(org, catalog_file: str, tmp_path: Path):
    org.faults.update({"bad_answer_kind": "error_body_200", "bad_answer_path": "/crm/v8/Leads"})
    try:
        config = write_json(tmp_path / "c.json", org.tap_config(max_retries=2))
        result = cli(["--config", config, "--catalog", catalog_file], env=DEBUG)
    finally:
        org.faults.bad_answer_kind = None
    assert_one_clear_error(result, org, "stream Leads failed: Zoho API error 200 INTERNAL_ERROR")
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    installations = [m for m in records if m.get("stream") == "Installations"]
    assert len([m for m in installations if m["type"] == "RECORD"]) == org.count("Installations")


def test_a_future_start_date_warns(org, catalog_file: str, tmp_path: Path):
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = write_json(tmp_path / "c.json", org.tap_config(start_date=future))
    result = cli(["--config", config, "--catalog", catalog_file], env=DEBUG)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if "is in the future" in line]
    assert any("Leads: start_date" in line for line in warnings), warnings
