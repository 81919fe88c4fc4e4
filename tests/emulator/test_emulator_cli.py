"""`python -m tap_zoho_crm.testing.emulator` serves like Zoho: token, modules, Leads."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import requests
from emu_helpers import TIMEOUT, Api

from tap_zoho_crm.testing.emulator import ZohoEmulator


def test_cli_serves_token_modules_and_leads() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_zoho_crm.testing.emulator", "--profile", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        found = re.match(
            r"^Zoho CRM emulator \(profile demo\) at (http://127\.0\.0\.1:\d+)$", first.strip()
        )
        assert found, first
        base = found.group(1)
        creds = dict(part.split("=", 1) for part in second.split())
        token = requests.post(
            f"{base}/oauth/v2/token",
            params={"grant_type": "refresh_token", **creds},
            timeout=TIMEOUT,
        ).json()
        assert token["api_domain"] == base
        headers = {"Authorization": f"Zoho-oauthtoken {token['access_token']}"}
        modules = requests.get(
            f"{token['api_domain']}/crm/v8/settings/modules", headers=headers, timeout=TIMEOUT
        )
        assert modules.status_code == 200
        assert "Leads" in {m["api_name"] for m in modules.json()["modules"]}
        leads = requests.get(
            f"{base}/crm/v8/Leads",
            params={"fields": "Last_Name,Modified_Time"},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert leads.status_code == 200
        body = leads.json()
        assert len(body["data"]) == 200
        assert body["info"]["more_records"] is True
        assert set(body["data"][0]) >= {"id", "Last_Name", "Modified_Time"}
        missing = requests.get(f"{base}/crm/v8/Leads", headers=headers, timeout=TIMEOUT)
        assert missing.status_code == 400
        assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0


def test_cli_rejects_bad_input_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tap_zoho_crm.testing.emulator", "--size", "Nope=5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:")
    assert "Traceback" not in result.stderr


def test_stopped_emulator_stops_answering_kept_alive_connections() -> None:
    zoho = ZohoEmulator(profile="minimal").start()
    api = Api(zoho)
    assert api.get("/crm/v8/org").status_code == 200
    base = zoho.base_url
    zoho.stop()
    with pytest.raises(requests.ConnectionError):
        api.session.get(base + "/crm/v8/org", headers=api.headers(), timeout=TIMEOUT)
