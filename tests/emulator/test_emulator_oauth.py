"""Zoho Accounts token endpoint, consent flow, and access-token checks on CRM calls."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from emu_helpers import TIMEOUT, Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def token(zoho: ZohoEmulator, *, form: bool = True, **overrides: str) -> requests.Response:
    params = {
        "grant_type": "refresh_token",
        "client_id": zoho.client_id,
        "client_secret": zoho.client_secret,
        "refresh_token": zoho.refresh_token,
        **overrides,
    }
    url = zoho.base_url + "/oauth/v2/token"
    if form:
        return requests.post(url, data=params, timeout=TIMEOUT)
    return requests.post(url, params=params, timeout=TIMEOUT)


def test_refresh_grant_in_form_body_and_query_string(fresh: ZohoEmulator) -> None:
    for form in (True, False):
        response = token(fresh, form=form)
        assert response.status_code == 200
        body = response.json()
        assert body["api_domain"] == fresh.base_url
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        assert "refresh_token" not in body
        prefix, first, second = body["access_token"].split(".")
        assert prefix == "1000"
        assert len(first) == len(second) == 32
        listed = Api(fresh, body["access_token"]).get("/crm/v8/settings/modules")
        assert listed.status_code == 200


def test_token_errors_answer_200_with_error_key(fresh: ZohoEmulator) -> None:
    cases = {
        "invalid_code": {"refresh_token": "1000.nope.nope"},
        "invalid_client": {"client_id": "1000.UNKNOWN"},
        "invalid_client_secret": {"client_secret": "wrong"},
    }
    for error, overrides in cases.items():
        response = token(fresh, **overrides)
        assert response.status_code == 200
        assert response.json() == {"error": error}


def test_empty_body_is_an_error_not_a_crash(fresh: ZohoEmulator) -> None:
    response = requests.post(fresh.base_url + "/oauth/v2/token", data=b"{}", timeout=TIMEOUT)
    assert response.status_code == 200
    assert "error" in response.json()
    assert "access_token" not in response.json()


def test_revoked_refresh_token_gives_invalid_code(fresh: ZohoEmulator) -> None:
    fresh.revoke_refresh_token()
    assert token(fresh).json() == {"error": "invalid_code"}


def test_throttled_after_ten_mints_in_ten_minutes(fresh: ZohoEmulator) -> None:
    for _ in range(10):
        assert "access_token" in token(fresh).json()
    throttled = token(fresh)
    assert throttled.status_code == 400
    body = throttled.json()
    assert body["error"] == "Access Denied"
    assert "too many requests" in body["error_description"]
    assert body["status"] == "failure"
    assert "access_token" not in body
    fresh.clock.advance(601)
    assert "access_token" in token(fresh).json()


def test_mint_limit_is_configurable() -> None:
    with ZohoEmulator(profile="minimal", token_mint_limit=None) as zoho:
        for _ in range(15):
            assert "access_token" in token(zoho).json()
    with ZohoEmulator(profile="minimal", token_mint_limit=2) as zoho:
        assert "access_token" in token(zoho).json()
        assert "access_token" in token(zoho).json()
        assert token(zoho).status_code == 400


def test_token_ttl_configurable_and_expiry_gives_invalid_token() -> None:
    with ZohoEmulator(profile="minimal", token_ttl=60) as zoho:
        body = token(zoho).json()
        assert body["expires_in"] == 60
        api = Api(zoho, body["access_token"])
        assert api.get("/crm/v8/org").status_code == 200
        zoho.clock.advance(61)
        assert_error(api.get("/crm/v8/org"), 401, "INVALID_TOKEN")


def test_crm_auth_header_rules(fresh: ZohoEmulator) -> None:
    url = fresh.base_url + "/crm/v8/Leads"
    params = {"fields": "Last_Name"}
    missing = requests.get(url, params=params, timeout=TIMEOUT)
    body = assert_error(missing, 401, "AUTHENTICATION_FAILURE")
    assert body["message"] == "Authentication failed"
    garbage = requests.get(
        url, params=params, headers={"Authorization": "Zoho-oauthtoken 1000.x.y"}, timeout=TIMEOUT
    )
    assert assert_error(garbage, 401, "INVALID_TOKEN")["message"] == "invalid oauth token"
    access = fresh.access_token()
    for scheme in ("Zoho-oauthtoken", "Bearer"):
        ok = requests.get(
            url, params=params, headers={"Authorization": f"{scheme} {access}"}, timeout=TIMEOUT
        )
        assert ok.status_code == 200, scheme


def test_authorization_code_grant_through_consent_page(fresh: ZohoEmulator) -> None:
    redirect = "http://127.0.0.1:9/callback"
    auth = {
        "response_type": "code",
        "client_id": fresh.client_id,
        "scope": "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL",
        "redirect_uri": redirect,
        "access_type": "offline",
        "state": "xyz",
    }
    page = requests.get(fresh.base_url + "/oauth/v2/auth", params=auth, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "<form" in page.text
    assert "approve" in page.text
    accepted = requests.post(
        fresh.base_url + "/oauth/v2/auth",
        data={**auth, "approve": "true"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert accepted.status_code == 302
    location = urlsplit(accepted.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    assert query["accounts-server"] == [fresh.base_url]
    grant = {
        "grant_type": "authorization_code",
        "client_id": fresh.client_id,
        "client_secret": fresh.client_secret,
        "redirect_uri": redirect,
        "code": query["code"][0],
    }
    exchanged = requests.post(fresh.base_url + "/oauth/v2/token", data=grant, timeout=TIMEOUT)
    body = exchanged.json()
    assert exchanged.status_code == 200
    assert body["refresh_token"].startswith("1000.")
    assert body["api_domain"] == fresh.base_url
    granted = Api(fresh, body["access_token"])
    assert body["scope"] == auth["scope"]
    assert granted.get("/crm/v8/Leads", {"fields": "Last_Name"}).status_code == 200
    assert granted.get("/crm/v8/settings/modules").status_code == 200
    body401 = assert_error(granted.get("/crm/v8/org"), 401, "OAUTH_SCOPE_MISMATCH")
    assert body401["message"] == "invalid oauth scope to access this URL"
    refreshed = token(fresh, refresh_token=body["refresh_token"]).json()
    assert "access_token" in refreshed
    reused = requests.post(fresh.base_url + "/oauth/v2/token", data=grant, timeout=TIMEOUT)
    assert reused.json() == {"error": "invalid_code"}


def test_consent_rejected_and_auto_consent(fresh: ZohoEmulator) -> None:
    auth = {
        "response_type": "code",
        "client_id": fresh.client_id,
        "redirect_uri": "http://127.0.0.1:9/cb",
        "state": "s1",
    }
    rejected = requests.post(
        fresh.base_url + "/oauth/v2/auth",
        data={**auth, "approve": "false"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert rejected.status_code == 302
    assert parse_qs(urlsplit(rejected.headers["Location"]).query)["error"] == ["access_denied"]
    fresh.auto_consent = True
    direct = requests.get(
        fresh.base_url + "/oauth/v2/auth", params=auth, allow_redirects=False, timeout=TIMEOUT
    )
    assert direct.status_code == 302
    assert "code" in parse_qs(urlsplit(direct.headers["Location"]).query)
    bad_client = requests.get(
        fresh.base_url + "/oauth/v2/auth",
        params={**auth, "client_id": "1000.NOPE"},
        timeout=TIMEOUT,
    )
    assert bad_client.status_code == 400


def test_scope_per_module(fresh: ZohoEmulator) -> None:
    refresh = fresh.issue_refresh_token(scope="ZohoCRM.modules.leads.READ,ZohoCRM.settings.ALL")
    api = Api(fresh, fresh.oauth.mint(refresh, count=False))
    assert api.get("/crm/v8/Leads", {"fields": "Last_Name"}).status_code == 200
    assert api.get("/crm/v8/settings/fields", {"module": "Contacts"}).status_code == 200
    assert_error(api.get("/crm/v8/Contacts", {"fields": "Last_Name"}), 401, "OAUTH_SCOPE_MISMATCH")
    assert_error(api.get("/crm/v8/users"), 401, "OAUTH_SCOPE_MISMATCH")
