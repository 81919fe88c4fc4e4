"""Exception types for Zoho's error dialect, and the one-line messages users see.

Zoho answers errors as ``{"code", "details", "message", "status": "error"}`` (CRM) or as an
HTTP 200 carrying ``{"error": ...}`` (Accounts). Everything here turns those into typed
exceptions whose ``str()`` is safe to print: no tokens, no secrets, no response bodies.
"""

from __future__ import annotations

import enum
from typing import Any

#: CRM error codes that mean "this module (or endpoint) is not available to this user or
#: edition": the stream is skipped with one warning instead of ending the run.
MODULE_UNAVAILABLE_CODES = frozenset(
    {
        "INVALID_MODULE",
        "NO_PERMISSION",
        "NOT_SUPPORTED",
        "FEATURE_NOT_ENABLED",
        "FEATURE_NOT_SUPPORTED",
        "API_NOT_SUPPORTED",
        "OAUTH_SCOPE_MISMATCH",
        "AUTHORIZATION_FAILED",
    }
)

#: CRM error codes that a page_token / page walk can hit; they are answered by re-anchoring
#: a fresh query on the last Modified_Time seen (see paging.py).
PAGINATION_RESET_CODES = frozenset(
    {
        "PAGINATION_LIMIT_EXCEEDED",
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "EXPIRED_VALUE",
        "TOKEN_BOUND_DATA_MISMATCH",
    }
)

#: The status codes retried with backoff (besides connection resets and timeouts).
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Zoho error codes that mean "try again" whatever the HTTP status carrying them (Zoho has
#: answered ``INTERNAL_ERROR`` inside an HTTP 200): retried like a 5xx.
TRANSIENT_CODES = frozenset({"INTERNAL_ERROR", "INTERNAL_SERVER_ERROR", "SERVER_ERROR"})

#: The codes the client gives success answers that are not well-formed (no Zoho code exists
#: for them). All are transient: a proxy page, a cut connection, a half-written body.
NOT_JSON = "NOT_JSON"
NO_ITEMS = "NO_ITEMS"


class TapZohoCrmError(Exception):
    """Base of every error the tap raises on purpose.

    The CLI prints ``str(error)`` as one line and exits 1, so messages must be complete,
    actionable and free of secrets.
    """

    #: The stream being read when the error happened (set by the stream), for the CLI line.
    stream: str | None = None


class ZohoConfigError(TapZohoCrmError):
    """The configuration cannot work (bad URL, date, module name, missing credential)."""


class ZohoAuthError(TapZohoCrmError):
    """Zoho Accounts refused to mint an access token, or the API refused every token."""


class ZohoTokenThrottledError(ZohoAuthError):
    """Zoho Accounts throttled token minting for longer than the configured bound."""


class ZohoCreditsExhaustedError(TapZohoCrmError):
    """The org's rolling 24-hour API credit budget is spent; retrying would only spin."""


class ZohoResponseError(TapZohoCrmError):
    """The server answered something that is not Zoho's JSON (wrong URL, proxy, truncation)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ZohoConnectionError(ZohoResponseError):
    """No answer from a host after retrying (unresolvable, refused, timed out, reset).

    It ends the whole run, not one stream: every other stream would wait on the same host.
    """


class ZohoBadRecordError(TapZohoCrmError):
    """A record Zoho answered cannot be keyed (no usable id or Modified_Time)."""


class ZohoBudgetStalledError(TapZohoCrmError):
    """A pass that run after run finds no credit left for it under ``max_credits_per_run``."""


class ZohoAPIError(TapZohoCrmError):
    """A CRM error answer, carrying Zoho's code so callers can decide what it means."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        path: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.zoho_message = message
        self.details = details or {}
        self.path = path
        super().__init__(f"Zoho API error {status} {code} on {path or 'request'}: {message}")


class ZohoModuleUnavailableError(ZohoAPIError):
    """The module or endpoint is not readable here (edition, permission, scope)."""


class ZohoPaginationError(ZohoAPIError):
    """A page walk cannot continue (page cap, page_token cap, expiry or binding)."""


class ZohoRetriableError(ZohoAPIError):
    """A transient answer (429 concurrency, 5xx); retried with backoff by the client."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after = retry_after


class ZohoRetriesExhaustedError(ZohoAPIError):
    """A transient answer that outlasted every retry: Zoho, or the way to it, may be down."""


class ZohoInvalidTokenError(ZohoAPIError):
    """401 INVALID_TOKEN: the access token expired or was revoked; refresh once and retry."""


class ErrorKind(enum.Enum):
    """What the client should do with an error answer."""

    RETRY = "retry"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - an action name, not a secret
    MODULE_UNAVAILABLE = "module_unavailable"
    PAGINATION_RESET = "pagination_reset"
    CREDITS_EXHAUSTED = "credits_exhausted"
    FATAL = "fatal"


def mentions_daily_limit(message: str) -> bool:
    """Whether a 429 message talks about the 24-hour credit window.

    Zoho uses one code (TOO_MANY_REQUESTS) for both the concurrency limit and the daily
    credit budget; only the message text differs, and one documented text mentions both.
    """
    text = message.lower()
    return "24 hour" in text or "24-hour" in text or "daily" in text or "credit" in text


def mentions_concurrency(message: str) -> bool:
    """Whether a 429 message talks about the concurrency limit."""
    return "concurren" in message.lower()


def classify(
    status: int, code: str, *, message: str = "", credits_remaining: int | None
) -> ErrorKind:
    """Decide what an error answer means, from its status, code and message.

    Pure, so that the policy is in one place and unit-testable.
    """
    if status == 429:
        if credits_remaining == 0:
            return ErrorKind.CREDITS_EXHAUSTED
        if mentions_daily_limit(message) and not mentions_concurrency(message):
            return ErrorKind.CREDITS_EXHAUSTED
        return ErrorKind.RETRY
    if status in RETRIABLE_STATUSES or code in TRANSIENT_CODES:
        return ErrorKind.RETRY
    if status == 401 and code == "INVALID_TOKEN":
        return ErrorKind.REFRESH_TOKEN
    if code in MODULE_UNAVAILABLE_CODES:
        return ErrorKind.MODULE_UNAVAILABLE
    if code in PAGINATION_RESET_CODES:
        return ErrorKind.PAGINATION_RESET
    return ErrorKind.FATAL


#: Zoho Accounts ``error`` values and what the user should do about each.
_OAUTH_MESSAGES = {
    "invalid_code": (
        "Zoho refresh token rejected (invalid_code): it is wrong, revoked, or belongs to "
        "another data centre; re-authorize and update refresh_token"
    ),
    "invalid_client": (
        "Zoho client id/secret not valid for this data centre (invalid_client): check "
        "client_id and that base_url is the accounts URL of your data centre"
    ),
    "invalid_client_secret": (
        "Zoho client secret rejected (invalid_client_secret): check client_secret"
    ),
    "invalid_redirect_uri": (
        "Zoho rejected the client's redirect URI (invalid_redirect_uri): check the client "
        "registration in the Zoho API console"
    ),
    "unauthorized_client": (
        "Zoho client is not allowed to use refresh tokens (unauthorized_client): check the "
        "client type in the Zoho API console"
    ),
}


def oauth_error_message(error: str) -> str:
    """The user-facing message for a Zoho Accounts ``error`` value."""
    if error in _OAUTH_MESSAGES:
        return _OAUTH_MESSAGES[error]
    return f"Zoho Accounts refused to mint an access token ({error}); check the credentials"


def is_token_throttling(body: dict[str, Any]) -> bool:
    """Whether a token-endpoint answer is Zoho's throttling ("too many requests").

    The ``error`` text is localised (``Access Denied``, ``拒绝访问``), so look for the
    description, and treat any non-``invalid_*`` error without an access token as throttling.
    """
    description = str(body.get("error_description", "")).lower()
    if "too many requests" in description:
        return True
    error = str(body.get("error", ""))
    return bool(error) and not error.startswith(("invalid_", "unauthorized_", "unsupported_"))
