"""Helpers for the emulator's own tests: a thin real-HTTP client and the error-envelope check."""

from __future__ import annotations

from typing import Any

import requests

from tap_zoho_crm.testing.emulator import ZohoEmulator

TIMEOUT = 10


class Api:
    """A thin HTTP client bound to one emulator and one access token (real HTTP, no mocks)."""

    def __init__(self, zoho: ZohoEmulator, token: str | None = None) -> None:
        self.zoho = zoho
        self.session = requests.Session()
        self.token = token or zoho.access_token()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.token}", **(extra or {})}

    def get(
        self, path: str, params: dict[str, Any] | None = None, **headers: str
    ) -> requests.Response:
        return self.session.get(
            self.zoho.base_url + path,
            params=params,
            headers=self.headers({k.replace("_", "-"): v for k, v in headers.items()}),
            timeout=TIMEOUT,
        )

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(
            self.zoho.base_url + path, json=json, headers=self.headers(), timeout=TIMEOUT, **kwargs
        )


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Zoho's exact error envelope: four keys, status "error"."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "details", "message", "status"}, body
    assert body["code"] == code, body
    assert body["status"] == "error"
    assert isinstance(body["details"], dict)
    assert isinstance(body["message"], str)
    assert body["message"]
    return body
