"""The real `tap-zoho-crm` command: bad input gives one clear line, exit 1, and no secret.

Every run is at LOGLEVEL=DEBUG (urllib3 and requests log too), the level most likely to leak.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from tap_helpers import cli, discover, select_only, write_json

from tap_zoho_crm.testing.emulator import ZohoEmulator

ACCESS_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
DEBUG = {"LOGLEVEL": "DEBUG"}


@pytest.fixture
def org() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=21) as zoho:
        yield zoho


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that answers in one call and keeps the test output clean."""

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve on a free loopback port for the duration of a fixture; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def html_server() -> Iterator[str]:
    """A web server that is not Zoho (a captive portal, a wrong api_url): 200 with HTML."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.reply(200, "text/html", b"<html><body>Welcome to nginx!</body></html>")

    yield from serve(Handler)


def assert_one_clear_error(result, zoho: ZohoEmulator, phrase: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in output
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, errors
    assert phrase in errors[0], errors[0]
    assert_no_secrets(output, zoho)


def assert_no_secrets(output: str, zoho: ZohoEmulator) -> None:
    assert zoho.client_secret not in output
    assert zoho.refresh_token not in output
    assert not ACCESS_TOKEN.search(output)


def test_wrong_client_secret(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(client_secret="0" * 42))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "client secret rejected (invalid_client_secret)")


def test_revoked_refresh_token(org, tmp_path: Path):
    org.revoke_refresh_token()
    config = write_json(tmp_path / "c.json", org.tap_config())
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "refresh token rejected (invalid_code): ")
    assert "re-authorize" in result.stderr


def test_revoked_refresh_token_during_a_sync_with_a_catalog(org, tmp_path: Path):
    catalog = write_json(tmp_path / "cat.json", select_only(discover(org.tap_config()), {"Leads"}))
    org.revoke_refresh_token()
    config = write_json(tmp_path / "c.json", org.tap_config())
    result = cli(["--config", config, "--catalog", catalog], env=DEBUG)
    assert_one_clear_error(result, org, "stream Leads: Zoho refresh token rejected (invalid_code)")


def test_wrong_data_centre(org, tmp_path: Path):
    with ZohoEmulator(profile="minimal", seed=99) as other_dc:
        config = write_json(tmp_path / "c.json", org.tap_config(base_url=other_dc.base_url))
        result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "not valid for this data centre (invalid_client)")


def test_unknown_module_in_the_include_list(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(include_modules=["Leads", "Dealz"]))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "unknown module(s) in 'include_modules': Dealz")
    assert "did you mean Deals?" in result.stderr


def test_a_refused_stream_skips_by_default_and_fails_when_asked(org, tmp_path: Path):
    catalog = write_json(
        tmp_path / "catalog.json", select_only(discover(org.tap_config()), {"Org", "Roles"})
    )
    narrower = org.issue_refresh_token(scope="ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
    skipping = org.tap_config(refresh_token=narrower)
    config = write_json(tmp_path / "skip.json", skipping)
    result = cli(["--config", config, "--catalog", catalog], env=DEBUG)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Skipping stream Org" in result.stderr
    assert '"type":"RECORD","stream":"Roles"' in result.stdout
    strict = write_json(tmp_path / "fail.json", dict(skipping, skip_unavailable_streams=False))
    result = cli(["--config", strict, "--catalog", catalog], env=DEBUG)
    assert_one_clear_error(result, org, "OAUTH_SCOPE_MISMATCH")
    for secret in (org.client_secret, org.refresh_token, narrower):
        assert secret not in result.stdout + result.stderr


def test_malformed_start_date(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(start_date="2024-13-45"))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "'start_date' is not an ISO 8601 date or datetime")


def test_malformed_alias_start_date(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(initial_load_start_date="soon"))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "'start_date' is not an ISO 8601 date or datetime")


def test_plain_http_to_a_remote_host(org, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(api_url="http://www.zohoapis.com"))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "'api_url' must use https")


def test_a_response_that_is_not_zoho(org, html_server, tmp_path: Path):
    config = write_json(tmp_path / "c.json", org.tap_config(api_url=html_server, max_retries=2))
    result = cli(["--config", config, "--discover"], env=DEBUG)
    assert_one_clear_error(result, org, "is not Zoho's JSON; check api_url")


def test_missing_secret_is_a_config_error(org, tmp_path: Path):
    config = {k: v for k, v in org.tap_config().items() if k != "client_secret"}
    result = cli(["--config", write_json(tmp_path / "c.json", config), "--discover"], env=DEBUG)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "client_secret" in result.stderr
    assert_no_secrets(result.stdout + result.stderr, org)


def test_a_full_sync_at_debug_level_leaks_no_secret(org, tmp_path: Path):
    config = write_json(
        tmp_path / "c.json",
        {
            # the seed doc's option names
            "client_id": org.client_id,
            "client_value_tmp": org.client_secret,
            "refresh_value_tmp": org.refresh_token,
            "base_url": org.base_url,
            "initial_load_start_date": "2000-01-01T00:00:00Z",
        },
    )
    discovered = cli(["--config", config, "--discover"], env=DEBUG)
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    catalog = json.loads(discovered.stdout)
    # The printed catalog keeps what a sync needs to rebuild streams without metadata calls.
    leads = next(s for s in catalog["streams"] if s["tap_stream_id"] == "Leads")
    root = next(m["metadata"] for m in leads["metadata"] if not m["breadcrumb"])
    assert root["zoho-module"] == "Leads"
    assert root["zoho-stream-kind"] == "module"
    assert leads["schema"]["properties"]["Owner"]["x-zoho-data-type"] == "ownerlookup"
    org.stats.reset()
    result = cli(
        ["--config", config, "--catalog", write_json(tmp_path / "cat.json", catalog)], env=DEBUG
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert_no_secrets(discovered.stdout + discovered.stderr + result.stdout + result.stderr, org)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    leads_ids = {
        m["record"]["id"] for m in records if m["type"] == "RECORD" and m["stream"] == "Leads"
    }
    assert leads_ids == {int(i) for i in org.record_ids("Leads")}
    # A sync given --catalog reads no metadata.
    assert org.stats.calls["GET /crm/v8/settings/fields"] == 0
    assert org.stats.calls["GET /crm/v8/settings/modules"] == 0


def test_about_lists_every_setting():
    result = cli(["--about", "--format=json"])
    assert result.returncode == 0
    settings = json.loads(result.stdout)["settings"]["properties"]
    for name in (
        "client_id",
        "client_secret",
        "refresh_token",
        "client_value_tmp",
        "refresh_value_tmp",
        "base_url",
        "api_url",
        "start_date",
        "initial_load_start_date",
        "include_modules",
        "exclude_modules",
        "page_size",
        "max_concurrency",
        "request_timeout",
        "user_agent",
    ):
        assert settings[name].get("description"), name
    assert settings["client_secret"]["secret"] is True
    assert settings["refresh_token"]["secret"] is True


@pytest.fixture
def corrupting_proxy(org) -> Iterator[str]:
    """Zoho behind a proxy that breaks one value: the first Lead's Modified_Time."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream = requests.get(org.base_url + self.path, headers=headers, timeout=30)
            body = upstream.content
            if self.path.startswith("/crm/v8/Leads?") and upstream.status_code == 200:
                payload = upstream.json()
                payload["data"][0]["Modified_Time"] = "yesterday at noon"
                body = json.dumps(payload).encode()
            content_type = upstream.headers.get("Content-Type", "text/plain")
            self.reply(upstream.status_code, content_type, body)

    yield from serve(Handler)


def test_a_malformed_value_in_a_response_is_one_line(org, corrupting_proxy, tmp_path: Path):
    config = org.tap_config()
    catalog = write_json(tmp_path / "cat.json", select_only(discover(config), {"Leads"}))
    config["api_url"] = corrupting_proxy
    result = cli(
        ["--config", write_json(tmp_path / "c.json", config), "--catalog", catalog], env=DEBUG
    )
    # One line naming the stream, the record, the field and the value at fault (issue 16).
    assert_one_clear_error(result, org, "stream Leads failed: record ")
    assert "has an invalid Modified_Time 'yesterday at noon' (field Modified_Time)" in result.stderr
