"""Zoho OAuth: the refresh-token grant, token caching, and Zoho's 200-with-error answers.

One `ZohoAuthenticator` per Tap instance (never a process singleton: two taps in one process
may use different credentials). Zoho lets one refresh token mint only 10 access tokens per 10
minutes, so a still-valid token is looked for, in order, in this instance, in a process-wide
cache (the Lakeflow bridge builds a Tap per read, and Spark workers receive the driver's token
through `adopt_token`), and in the cross-process cache file (token_cache.py); only then is one
minted. Every cache is keyed by a hash of the credentials; different credentials never share.

Throttling is waited out only when the wait is known to fit ``token_throttle_max_wait``
(`throttle_wait`); otherwise the run stops at once with a line saying when to retry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import requests
from singer_sdk.authenticators import OAuthAuthenticator

from tap_zoho_crm.client.errors import (
    ZohoAuthError,
    ZohoResponseError,
    ZohoTokenThrottledError,
    is_token_throttling,
    oauth_error_message,
)
from tap_zoho_crm.client.token_cache import (
    MINT_WINDOW_SECONDS,
    AccessToken,
    FileTokenCache,
)

if TYPE_CHECKING:
    from tap_zoho_crm.config import ZohoSettings

#: Sends the token request: (url, form fields) -> response. Provided by the HTTP client so
#: that one object owns the session, timeouts and connection retries.
TokenTransport = Callable[[str, Mapping[str, str]], requests.Response]

DEFAULT_TOKEN_LIFETIME = 3600
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a secret
HEADER_PREFIX = "Zoho-oauthtoken "
#: Access tokens one refresh token may mint per `MINT_WINDOW_SECONDS` (Zoho Accounts' limit).
MINT_LIMIT = 10
#: Bound on token requests while waiting out throttling (each wait is bounded in time too).
MAX_THROTTLED_ATTEMPTS = 20
#: Refused token values remembered per credential set: a handful suffice, as each refusal is
#: followed by a mint.
REFUSED_KEPT = 16


class _TokenCache:
    """Process-wide store of valid access tokens, one per credential set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}
        self._mints: dict[str, list[float]] = {}
        self._mint_locks: dict[str, threading.Lock] = {}
        self._refused: dict[str, deque[str]] = {}

    def get(self, key: str) -> AccessToken | None:
        with self._lock:
            token = self._tokens.get(key)
        return token if token is not None and self.usable(key, token) else None

    def put(self, key: str, token: AccessToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def refuse(self, key: str, value: str) -> None:
        """Zoho refused this token: forget it here, and never hand it out again.

        Remembering the value closes a race: another thread may have read the token from the
        cache file just before this one cleared it there, and would put it back.
        """
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.value == value:
                del self._tokens[key]
            refused = self._refused.setdefault(key, deque(maxlen=REFUSED_KEPT))
            if value not in refused:
                refused.append(value)

    def usable(self, key: str, token: AccessToken) -> bool:
        """Fresh by this machine's clock, and not refused by Zoho in this process."""
        if not token.is_fresh():
            return False
        with self._lock:
            return token.value not in self._refused.get(key, ())

    def mint_lock(self, key: str) -> threading.Lock:
        """The lock that serialises minting for one credential set across Tap instances."""
        with self._lock:
            return self._mint_locks.setdefault(key, threading.Lock())

    def record_mint(self, key: str, when: float) -> None:
        with self._lock:
            recent = [t for t in self._mints.get(key, []) if when - t < MINT_WINDOW_SECONDS]
            self._mints[key] = [*recent, when]

    def mints(self, key: str) -> list[float]:
        with self._lock:
            return list(self._mints.get(key, []))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._mints.clear()
            self._refused.clear()


TOKEN_CACHE = _TokenCache()


def credentials_key(
    accounts_url: str, client_id: str, client_secret: str, refresh_token: str
) -> str:
    """A hash naming one credential set; the secrets themselves are never kept as keys."""
    material = "\x00".join((accounts_url, client_id, client_secret, refresh_token))
    return hashlib.sha256(material.encode()).hexdigest()


def settings_key(settings: ZohoSettings) -> str:
    """The credential key of a tap's settings."""
    return credentials_key(
        settings.accounts_url, settings.client_id, settings.client_secret, settings.refresh_token
    )


def carried_token(settings: ZohoSettings) -> AccessToken | None:
    """This process's fresh token for these settings, to hand to another process (no mint)."""
    return TOKEN_CACHE.get(settings_key(settings))


def adopt_token(settings: ZohoSettings, token: AccessToken | None) -> None:
    """Take a token minted elsewhere (a Spark driver) for these settings, if still fresh.

    A fresher token already held here is kept.
    """
    if token is None or not token.is_fresh():
        return
    key = settings_key(settings)
    held = TOKEN_CACHE.get(key)
    if held is None or held.expires_at < token.expires_at:
        TOKEN_CACHE.put(key, token)


def throttle_wait(
    mints: list[float], now: float, *, limit: int = MINT_LIMIT, window: float = MINT_WINDOW_SECONDS
) -> float | None:
    """Seconds until Zoho surely lets this refresh token mint again, if the known mints say.

    Zoho blocks minting once ``limit`` tokens were minted in the last ``window`` seconds, and
    lifts the block when the oldest of them leaves the window. Known only when this machine
    itself made ``limit`` mints in the window; otherwise (mints elsewhere) None.
    """
    recent = sorted(t for t in mints if now - t < window)
    if len(recent) < limit:
        return None
    return max(0.0, recent[-limit] + window - now)


def throttled_message(wait: float, now: float) -> str:
    """The one line for throttling: why, and when a new run will be let through."""
    at = dt.datetime.fromtimestamp(now + wait, dt.UTC).strftime("%H:%M:%S")
    minutes = max(1, round(wait / 60))
    return (
        'Zoho Accounts refused to mint an access token ("too many requests"): a refresh '
        f"token may mint at most {MINT_LIMIT} access tokens per 10 minutes; retry after "
        f"{at} UTC (in about {minutes} min), or set token_throttle_max_wait to at least "
        f"{wait:.0f} seconds to wait it out"
    )


def _backoff_step(attempt: int) -> float:
    """A full-jitter exponential wait: 5 s, 10 s, 20 s ... capped at 60 s."""
    return random.uniform(0, min(60.0, 5.0 * 2**attempt))  # noqa: S311 - not cryptographic


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
        file_cache: FileTokenCache | None = None,
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
        self._file_cache = file_cache
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
        TOKEN_CACHE.refuse(self._key, value)
        if self._file_cache is not None:
            with self._file_cache.locked(self._key) as usable:
                entry = self._file_cache.load(self._key) if usable else None
                if entry is not None and (entry.token or {}).get("value") == value:
                    entry.token = None
                    self._file_cache.store(self._key, entry, time.time())

    def _current(self) -> AccessToken:
        with self._lock:
            held = self._token
            if held is not None and TOKEN_CACHE.usable(self._key, held):
                return held
            with TOKEN_CACHE.mint_lock(self._key):
                token = TOKEN_CACHE.get(self._key)
                if token is None:
                    token = self._from_file_or_mint()
                    TOKEN_CACHE.put(self._key, token)
            self._adopt(token)
            return token

    def _from_file_or_mint(self) -> AccessToken:
        """The cache file's token if fresh, else mint under the file lock and write it there.

        The lock is held while minting, so processes that start together wait for the first
        one's token instead of each minting.
        """
        if self._file_cache is None:
            return self._mint([])
        with self._file_cache.locked(self._key) as usable:
            if not usable:
                return self._mint([])
            entry = self._file_cache.load(self._key)
            cached = AccessToken.from_dict(entry.token) if entry.token else None
            if cached is not None and TOKEN_CACHE.usable(self._key, cached):
                self.logger.debug("Using the cached Zoho access token (token cache file)")
                return cached
            token = self._mint(entry.mints)
            entry.mints = sorted({*entry.mints, *TOKEN_CACHE.mints(self._key)})
            entry.token = asdict(token)
            self._file_cache.store(self._key, entry, time.time())
            return token

    def _adopt(self, token: AccessToken) -> None:
        """Keep the SDK's public token attributes coherent with the held token."""
        self._token = token
        self.access_token = token.value
        self.expires_in = int(token.lifetime)
        self.last_refreshed = dt.datetime.fromtimestamp(token.expires_at - token.lifetime, dt.UTC)

    def _mint(self, known_mints: list[float]) -> AccessToken:
        """Mint a token; wait out throttling only when the wait fits the configured bound."""
        deadline = time.monotonic() + self._throttle_max_wait
        for attempt in range(MAX_THROTTLED_ATTEMPTS):
            try:
                token = self._mint_once()
            except _ThrottledError:
                now = time.time()
                known = throttle_wait([*known_mints, *TOKEN_CACHE.mints(self._key)], now)
                left = deadline - time.monotonic()
                # Mints made elsewhere: Zoho may need its whole window, which must fit the
                # bound at first; later attempts go on while any of the bound is left.
                if known is not None:
                    too_long = known > left
                else:
                    too_long = left <= 0 or (
                        attempt == 0 and self._throttle_max_wait < MINT_WINDOW_SECONDS
                    )
                if too_long:
                    shown = known if known is not None else MINT_WINDOW_SECONDS
                    raise ZohoTokenThrottledError(throttled_message(shown, now)) from None
                # A known wait is slept at once; an unknown one in growing random steps.
                step = known + 1 if known is not None else _backoff_step(attempt)
                step = min(step, left)
                self.logger.warning(
                    "Zoho Accounts is throttling token requests; retrying in %.1f s", step
                )
                time.sleep(step)
                continue
            TOKEN_CACHE.record_mint(self._key, token.expires_at - token.lifetime)
            return token
        raise ZohoTokenThrottledError(throttled_message(MINT_WINDOW_SECONDS, time.time()))

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
