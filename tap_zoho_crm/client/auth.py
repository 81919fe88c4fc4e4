"""Zoho OAuth: the refresh-token grant, token caching, and Zoho's 200-with-error answers.

One `ZohoAuthenticator` per Tap instance (never a process singleton: two taps in one process
may use different credentials). Zoho lets one refresh token mint only about 10 access tokens
per 10 minutes, while the Lakeflow bridge builds a new Tap for every ``read_table`` call, so
still-valid access tokens are kept in a process-wide cache keyed by a hash of the
credentials. Different credentials never share an entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import backoff
import requests
from singer_sdk.authenticators import OAuthAuthenticator

from tap_zoho_crm.client.errors import (
    ZohoAuthError,
    ZohoResponseError,
    ZohoTokenThrottledError,
    is_token_throttling,
    oauth_error_message,
)

#: Sends the token request: (url, form fields) -> response. Provided by the HTTP client so
#: that one object owns the session, timeouts and connection retries.
TokenTransport = Callable[[str, Mapping[str, str]], requests.Response]

#: Refresh this long before expiry (capped at a quarter of the lifetime for short tokens).
EXPIRY_MARGIN_SECONDS = 300.0
DEFAULT_TOKEN_LIFETIME = 3600
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a secret
HEADER_PREFIX = "Zoho-oauthtoken "


@dataclass(frozen=True)
class AccessToken:
    """A minted access token and where it may be used."""

    value: str
    api_domain: str | None
    expires_at: float
    lifetime: float

    def __repr__(self) -> str:
        """Keep the token itself out of reprs, logs and tracebacks."""
        return f"AccessToken(api_domain={self.api_domain!r}, expires_at={self.expires_at:.0f})"

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether the token is still good for a request, with the safety margin."""
        margin = min(EXPIRY_MARGIN_SECONDS, self.lifetime / 4)
        return (now if now is not None else time.time()) < self.expires_at - margin


class _TokenCache:
    """Process-wide store of valid access tokens, one per credential set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}
        self._mint_locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> AccessToken | None:
        with self._lock:
            token = self._tokens.get(key)
        return token if token is not None and token.is_fresh() else None

    def put(self, key: str, token: AccessToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def discard(self, key: str, value: str) -> None:
        """Forget the entry only if it still holds the rejected token."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.value == value:
                del self._tokens[key]

    def mint_lock(self, key: str) -> threading.Lock:
        """The lock that serialises minting for one credential set across Tap instances."""
        with self._lock:
            return self._mint_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKEN_CACHE = _TokenCache()


def credentials_key(
    accounts_url: str, client_id: str, client_secret: str, refresh_token: str
) -> str:
    """A hash naming one credential set; the secrets themselves are never kept as keys."""
    material = "\x00".join((accounts_url, client_id, client_secret, refresh_token))
    return hashlib.sha256(material.encode()).hexdigest()


class _ThrottledError(Exception):
    """Internal: the token endpoint asked us to slow down."""


def _token_lifetime(body: Mapping[str, Any]) -> float:
    """Seconds a token lives. Very old answers had ``expires_in_sec`` with ``expires_in`` in ms."""
    if "expires_in_sec" in body:
        return float(body["expires_in_sec"])
    raw = body.get("expires_in")
    return float(raw) if raw not in (None, "") else float(DEFAULT_TOKEN_LIFETIME)


class ZohoAuthenticator(OAuthAuthenticator):
    """Refresh-token grant against Zoho Accounts, sending ``Authorization: Zoho-oauthtoken``."""

    def __init__(
        self,
        *,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        transport: TokenTransport,
        throttle_max_wait: float,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(
            auth_endpoint=f"{accounts_url}{TOKEN_PATH}",
            client_id=client_id,
            client_secret=client_secret,
            default_expiration=DEFAULT_TOKEN_LIFETIME,
        )
        self._zoho_refresh_token = refresh_token
        self._transport = transport
        self._throttle_max_wait = throttle_max_wait
        self._key = credentials_key(accounts_url, client_id, client_secret, refresh_token)
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.logger = logger or logging.getLogger(__name__)

    def __repr__(self) -> str:
        """Name the endpoint only; never the credentials."""
        return f"ZohoAuthenticator(auth_endpoint={self.auth_endpoint!r})"

    @property
    def oauth_request_body(self) -> dict[str, str]:
        """The refresh-token grant, sent as a form body (never in the query string)."""
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
            "refresh_token": self._zoho_refresh_token,
        }

    @property
    def api_domain(self) -> str | None:
        """The API domain Zoho named in the token response (minting a token if needed)."""
        return self._current().api_domain

    def is_token_valid(self) -> bool:
        """Whether the held token is fresh, with the expiry safety margin."""
        return self._token is not None and self._token.is_fresh()

    def update_access_token(self) -> None:
        """Get a token: from this instance, from the process cache, or by minting one."""
        self._current()

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the Zoho authorization header on one request (thread-safe, no shared dict)."""
        request.headers["Authorization"] = HEADER_PREFIX + self._current().value
        return request

    def invalidate(self, authorization_header: str | None) -> None:
        """Forget a token the API refused (401 INVALID_TOKEN), so the next request mints.

        Only the refused token is dropped: another thread may already have replaced it.
        """
        if not authorization_header or not authorization_header.startswith(HEADER_PREFIX):
            return
        value = authorization_header[len(HEADER_PREFIX) :]
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
        TOKEN_CACHE.discard(self._key, value)

    def _current(self) -> AccessToken:
        with self._lock:
            if self._token is not None and self._token.is_fresh():
                return self._token
            with TOKEN_CACHE.mint_lock(self._key):
                token = TOKEN_CACHE.get(self._key)
                if token is None:
                    token = self._mint()
                    TOKEN_CACHE.put(self._key, token)
            self._adopt(token)
            return token

    def _adopt(self, token: AccessToken) -> None:
        """Keep the SDK's public token attributes coherent with the held token."""
        self._token = token
        self.access_token = token.value
        self.expires_in = int(token.lifetime)
        self.last_refreshed = dt.datetime.fromtimestamp(token.expires_at - token.lifetime, dt.UTC)

    def _mint(self) -> AccessToken:
        try:
            return backoff.on_exception(
                backoff.expo,
                _ThrottledError,
                max_time=self._throttle_max_wait,
                factor=5,
                max_value=60,
                jitter=backoff.full_jitter,
                on_backoff=self._log_throttled,
                logger=None,
            )(self._mint_once)()
        except _ThrottledError:
            raise ZohoTokenThrottledError(
                "Zoho Accounts is throttling token requests for this refresh token (at most "
                "10 access tokens per 10 minutes); wait about 10 minutes and run again"
            ) from None

    def _log_throttled(self, details: Mapping[str, Any]) -> None:
        self.logger.warning(
            "Zoho Accounts is throttling token requests; retrying in %.1f s", details["wait"]
        )

    def _mint_once(self) -> AccessToken:
        requested_at = time.time()
        response = self._transport(self.auth_endpoint, self.oauth_request_body)
        try:
            body = response.json()
        except ValueError:
            raise ZohoResponseError(
                f"the token endpoint {self.auth_endpoint} did not answer JSON "
                f"(HTTP {response.status_code}); check base_url",
                status=response.status_code,
            ) from None
        if not isinstance(body, dict):
            raise ZohoResponseError(
                f"the token endpoint {self.auth_endpoint} answered unexpected JSON; check base_url"
            )
        if body.get("access_token"):
            lifetime = _token_lifetime(body)
            self.logger.info("Obtained a Zoho access token (valid %.0f s)", lifetime)
            api_domain = body.get("api_domain")
            return AccessToken(
                value=str(body["access_token"]),
                api_domain=str(api_domain).rstrip("/") if api_domain else None,
                expires_at=requested_at + lifetime,
                lifetime=lifetime,
            )
        if response.status_code == 429 or is_token_throttling(body):
            raise _ThrottledError
        if body.get("error"):
            raise ZohoAuthError(oauth_error_message(str(body["error"])))
        raise ZohoAuthError(
            f"the token endpoint {self.auth_endpoint} answered HTTP {response.status_code} "
            "without an access token; check base_url"
        )
