"""``tap-zoho-crm auth`` against the emulator's Zoho Accounts: both modes, and each refusal.

The emulator serves the consent page and the token endpoint as Zoho documents them; Self Client
codes come from ``zoho.self_client_code`` (the API console's "Generate Code").
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tap_zoho_crm.auth.cli import main
from tap_zoho_crm.auth.grant import TAP_SCOPES
from tap_zoho_crm.testing.emulator import ZohoEmulator

ACCESS_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
SCOPES = ",".join(TAP_SCOPES)


@pytest.fixture
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=51, token_mint_limit=10) as org:
        yield org


def secret_env(zoho: ZohoEmulator) -> dict[str, str]:
    return {**os.environ, "ZOHO_CLIENT_SECRET": zoho.client_secret, "LOGLEVEL": "DEBUG"}


def assert_no_secrets(text: str, zoho: ZohoEmulator) -> None:
    assert zoho.client_secret not in text
    for token in [*zoho.oauth.refresh_tokens, *zoho.issued_access_tokens()]:
        assert token not in text
    assert not ACCESS_TOKEN.search(text)


def sync_leads(config_arg: str, env: dict[str, str], tmp_path: Path) -> set[str]:
    """Discover and sync with a config, as a user would; the Leads ids it emitted."""
    tap = [sys.executable, "-m", "tap_zoho_crm", "--config", config_arg]
    discovered = subprocess.run(
        [*tap, "--discover"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    catalog["streams"] = [s for s in catalog["streams"] if s["tap_stream_id"] == "Leads"]
    (tmp_path / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    synced = subprocess.run(
        [*tap, "--catalog", str(tmp_path / "catalog.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert synced.returncode == 0, synced.stderr[-2000:]
    records = [json.loads(line) for line in synced.stdout.splitlines() if '"RECORD"' in line]
    return {str(r["record"]["id"]) for r in records if r["stream"] == "Leads"}


@pytest.mark.parametrize("entry", ["module", "tap-word-after-options"])
def test_self_client_mode_end_to_end(zoho: ZohoEmulator, tmp_path: Path, entry: str) -> None:
    """Through ``python -m tap_zoho_crm.auth``, and as ``meltano invoke tap-zoho-crm auth``
    calls the tap: its ``--config`` (still without a refresh token) before the word."""
    code = zoho.self_client_code(SCOPES)
    config_path = tmp_path / "zoho.json"
    command = [sys.executable, "-m", "tap_zoho_crm.auth"]
    if entry == "tap-word-after-options":
        partial = tmp_path / "partial.json"
        partial.write_text(json.dumps({"client_id": zoho.client_id}), encoding="utf-8")
        command = [sys.executable, "-m", "tap_zoho_crm", "--config", str(partial), "auth"]
    result = subprocess.run(
        [
            *command,
            *("--client-id", zoho.client_id, "--accounts-url", zoho.base_url),
            *("--write-config", str(config_path)),
        ],
        input=code + "\n",
        capture_output=True,
        text=True,
        env=secret_env(zoho),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    config = json.loads(config_path.read_text(encoding="utf-8"))
    assert config["refresh_token"] in zoho.oauth.refresh_tokens
    assert config["base_url"] == zoho.base_url
    out = result.stdout
    assert "Verified" in out
    assert f"{zoho.org.org_info['company_name']!r} (id {zoho.org_id()})" in out
    assert f"tap-zoho-crm --config {config_path}" in out
    assert "meltano config set tap-zoho-crm client_id" in out
    assert 'dbutils.secrets.get("zoho_crm", "refresh_token")' in out
    assert config["refresh_token"][-4:] in out  # masked: the end only
    assert_no_secrets(out + result.stderr, zoho)
    env = {**os.environ, "LOGLEVEL": "DEBUG"}
    assert sync_leads(str(config_path), env, tmp_path) == zoho.record_ids("Leads")


def test_server_mode_end_to_end_through_the_consent_page(
    zoho: ZohoEmulator, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tap_zoho_crm", "auth", "--mode", "server", "--port", "0"),
            *("--no-open", "--client-id", zoho.client_id, "--accounts-url", zoho.base_url),
            *("--write-env", str(env_file), "--timeout", "60"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=secret_env(zoho),
    )
    assert process.stdout is not None
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith(zoho.base_url + "/oauth/v2/auth?"):
            consent = line.strip()
            break
    params = {k: v[0] for k, v in parse_qs(urlsplit(consent).query).items()}
    assert params["access_type"] == "offline"
    assert params["prompt"] == "consent"
    assert set(params["scope"].split(",")) == set(TAP_SCOPES)
    page = requests.get(consent, timeout=10)
    assert "<form" in page.text
    accepted = requests.post(  # the page's Accept button; Zoho redirects to the listener
        zoho.base_url + "/oauth/v2/auth", data={**params, "approve": "true"}, timeout=10
    )
    assert accepted.status_code == 200
    assert "return to the terminal" in accepted.text
    rest, errors = process.communicate(timeout=60)
    out = "".join(printed) + rest
    assert process.returncode == 0, errors
    assert "Verified" in out
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(
        line.split("=", 1) for line in env_file.read_text(encoding="utf-8").splitlines() if line
    )
    values = {key: value.strip("'") for key, value in values.items()}
    assert values["TAP_ZOHO_CRM_REFRESH_TOKEN"] in zoho.oauth.refresh_tokens
    assert values["TAP_ZOHO_CRM_CLIENT_ID"] == zoho.client_id
    assert "TAP_ZOHO_CRM_REFRESH_TOKEN" in out
    assert_no_secrets(out + errors, zoho)
    env = {**os.environ, "LOGLEVEL": "DEBUG", **values}
    assert sync_leads("ENV", env, tmp_path) == zoho.record_ids("Leads")


def run_auth(
    capsys: pytest.CaptureFixture[str], zoho: ZohoEmulator, *args: str, accounts: str = ""
) -> str:
    """Run the helper in-process; the one stderr line it ended with."""
    code = main(
        [
            *("--client-id", zoho.client_id, "--accounts-url", accounts or zoho.base_url),
            *args,
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert_no_secrets(captured.out + captured.err, zoho)
    return lines[0]


@pytest.fixture
def with_secret(zoho: ZohoEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", zoho.client_secret)


@pytest.mark.usefixtures("with_secret")
def test_each_refusal_is_one_clear_line(
    zoho: ZohoEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = ["--write-config", str(tmp_path / "never.json")]
    mistyped = run_auth(capsys, zoho, "--code", "1000.notacode", *out)
    assert "invalid_code" in mistyped
    assert "generate a new code" in mistyped

    expired = zoho.self_client_code(SCOPES, ttl=180)
    zoho.clock.advance(181)
    line = run_auth(capsys, zoho, "--code", expired, *out)
    assert "invalid_code" in line
    assert "expired" in line

    used = zoho.self_client_code(SCOPES)
    assert (
        main(
            [
                "--client-id",
                zoho.client_id,
                "--accounts-url",
                zoho.base_url,
                "--code",
                used,
                "--write-config",
                str(tmp_path / "first.json"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert "already used" in run_auth(capsys, zoho, "--code", used, *out)

    code = zoho.self_client_code(SCOPES)
    zoho_client = zoho.client_id
    wrong_client = main(
        [
            "--client-id",
            zoho_client[:-4] + "XXXX",
            "--accounts-url",
            zoho.base_url,
            "--code",
            code,
            *out,
        ]
    )
    captured = capsys.readouterr()
    assert wrong_client == 1
    assert "invalid_client" in captured.err
    assert "--client-id" in captured.err
    assert len(captured.err.strip().splitlines()) == 1

    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "0" * 40)
    assert "invalid_client_secret" in run_auth(capsys, zoho, "--code", code, *out)
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", zoho.client_secret)

    with ZohoEmulator(profile="minimal", seed=52) as other_centre:  # the client is not known there
        line = run_auth(capsys, zoho, "--code", code, *out, accounts=other_centre.base_url)
        assert "invalid_client" in line
        assert "--region" in line

    line = run_auth(capsys, zoho, "--region", "eu", "--code", code, *out)
    assert "'region' eu" in line  # conflicts with --accounts-url
    assert not (tmp_path / "never.json").exists()


@pytest.mark.usefixtures("with_secret")
def test_consent_rejected_is_one_line(zoho: ZohoEmulator, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tap_zoho_crm.auth", "--mode", "server", "--port", "0"),
            *("--no-open", "--client-id", zoho.client_id, "--accounts-url", zoho.base_url),
            *("--write-config", str(tmp_path / "c.json"), "--timeout", "60"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=secret_env(zoho),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(zoho.base_url + "/oauth/v2/auth?"):
            params = {k: v[0] for k, v in parse_qs(urlsplit(line.strip()).query).items()}
            break
    requests.post(zoho.base_url + "/oauth/v2/auth", data={**params, "approve": "false"}, timeout=10)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 1
    assert errors.strip().splitlines() == [errors.strip()]
    assert "access_denied" in errors
    assert not (tmp_path / "c.json").exists()
