"""Grant codes as Zoho Accounts documents them: Self Client codes, offline access, single use."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tap_zoho_crm.testing.emulator import ZohoEmulator

TIMEOUT = 10


@pytest.fixture
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=61) as org:
        org.auto_consent = True
        yield org


def exchange(zoho: ZohoEmulator, code: str, **extra: str) -> dict:
    form = {
        "grant_type": "authorization_code",
        "client_id": zoho.client_id,
        "client_secret": zoho.client_secret,
        "code": code,
        **extra,
    }
    return requests.post(zoho.base_url + "/oauth/v2/token", data=form, timeout=TIMEOUT).json()


def consent_code(zoho: ZohoEmulator, **params: str) -> str:
    query = {"response_type": "code", "client_id": zoho.client_id, **params}
    query["redirect_uri"] = "http://127.0.0.1:9/cb"
    answer = requests.get(
        zoho.base_url + "/oauth/v2/auth", params=query, allow_redirects=False, timeout=TIMEOUT
    )
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def test_self_client_code_is_single_use_and_expires(zoho: ZohoEmulator) -> None:
    code = zoho.self_client_code("ZohoCRM.org.READ", ttl=180)
    first = exchange(zoho, code)
    assert first["refresh_token"] in zoho.oauth.refresh_tokens
    assert exchange(zoho, code) == {"error": "invalid_code"}
    late = zoho.self_client_code(ttl=180)
    zoho.clock.advance(181)
    assert exchange(zoho, late) == {"error": "invalid_code"}
    over_admin = requests.post(
        zoho.base_url + "/__emulator/oauth/self-client-code", json={}, timeout=TIMEOUT
    ).json()
    assert "refresh_token" in exchange(zoho, over_admin["code"])


def test_refresh_token_only_offline_and_again_only_with_prompt_consent(zoho: ZohoEmulator):
    redirect = {"redirect_uri": "http://127.0.0.1:9/cb"}
    online = exchange(zoho, consent_code(zoho), **redirect)
    assert "access_token" in online
    assert "refresh_token" not in online
    first = exchange(zoho, consent_code(zoho, access_type="offline"), **redirect)
    assert "refresh_token" in first
    again = exchange(zoho, consent_code(zoho, access_type="offline"), **redirect)
    assert "refresh_token" not in again
    forced = consent_code(zoho, access_type="offline", prompt="consent")
    assert "refresh_token" in exchange(zoho, forced, **redirect)
