"""Zoho's paging rules, shared by every list endpoint that pages.

``page`` reaches only the first 2,000 records. ``page_token`` is a server-side position in the
result list *as it is ordered at the time of each call*, bound to the user and to every other
parameter (and the If-Modified-Since header); it expires 24 hours after the pagination started
and cannot reach past record 100,000. This is the least forgiving documented reading: a record
modified mid-pagination moves, and later pages shift under the token.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, invalid_data
from .http import Request

DISCRETE_LIMIT = 2000
TOKEN_LIMIT = 100_000
TOKEN_TTL = 86_400
MAX_TOKENS = 200_000


@dataclass
class _Token:
    user_id: str
    binding: tuple[Any, ...]
    position: int
    started: int


class PageTokens:
    def __init__(self) -> None:
        self._tokens: OrderedDict[str, _Token] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, user_id: str, binding: tuple[Any, ...], position: int, started: int) -> str:
        token = secrets.token_hex(24)
        with self._lock:
            self._tokens[token] = _Token(user_id, binding, position, started)
            while len(self._tokens) > MAX_TOKENS:
                self._tokens.popitem(last=False)
        return token

    def resolve(self, token: str, user_id: str, binding: tuple[Any, ...], now: int) -> _Token:
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found.user_id != user_id:
            raise invalid_data("invalid page token", param_name="page_token")
        if now - found.started > TOKEN_TTL:
            raise ApiError(
                400,
                "EXPIRED_VALUE",
                "the page token has expired",
                {"param_name": "page_token"},
            )
        if found.binding != binding:
            raise ApiError(
                400,
                "TOKEN_BOUND_DATA_MISMATCH",
                "the page token is bound to other parameters",
                {"param_name": "page_token"},
            )
        return found


def int_param(req: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_data(f"invalid value for {name}", param_name=name) from None
    if value < low or (high is not None and value > high):
        details: dict[str, Any] = {"param_name": name, "minimum": low}
        if high is not None:
            details["maximum"] = high
        raise ApiError(400, "INVALID_DATA", f"the {name} value is out of range", details)
    return value


def binding_of(req: Request, since: int | None) -> tuple[Any, ...]:
    """Everything a page token is bound to: path, every other parameter, If-Modified-Since."""
    params = tuple(
        sorted((k, tuple(v)) for k, v in req.query.items() if k not in ("page_token", "page"))
    )
    return (req.path, params, since)


@dataclass
class Window:
    position: int
    limit: int
    page: int
    token_mode: bool
    started: int
    per_page: int


def window(
    req: Request,
    tokens: PageTokens,
    now: int,
    since: int | None,
    *,
    with_tokens: bool = True,
    reach: int = TOKEN_LIMIT,
) -> Window:
    """Where this call's page starts, checking the discrete and token limits.

    ``reach``: how far page tokens go (Zoho's 100,000; lower it to test the cap on small data).
    """
    per_page = int_param(req, "per_page", 200, 1, 200)
    token = req.arg("page_token") if with_tokens else None
    if token is not None and req.has("page"):
        raise ApiError(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            "page and page_token cannot be given together",
            {"ambiguity_due_to": ["page", "page_token"]},
        )
    if token:
        found = tokens.resolve(token, req.user_id, binding_of(req, since), now)
        if found.position >= reach:
            raise ApiError(
                400,
                "PAGINATION_LIMIT_EXCEEDED",
                f"you can fetch only {reach} records with page tokens",
                {"limit": reach},
            )
        limit = min(per_page, reach - found.position)
        return Window(found.position, limit, 1, True, found.started, per_page)
    page = int_param(req, "page", 1, 1, None)
    if page * per_page > DISCRETE_LIMIT:
        raise ApiError(
            400,
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            f"you can fetch only the first {DISCRETE_LIMIT} records with the page parameter; "
            "use page_token to go further",
            {"limit": DISCRETE_LIMIT, "param_name": "page"},
        )
    return Window((page - 1) * per_page, per_page, page, False, now, per_page)


def page_info(
    req: Request,
    tokens: PageTokens,
    win: Window,
    *,
    count: int,
    total: int,
    since: int | None,
    fmt_dt: Any,
    with_tokens: bool = True,
) -> dict[str, Any]:
    """The ``info`` block; issues the next (and previous) page token when there is one."""
    more = win.position + count < total
    info: dict[str, Any] = {
        "per_page": win.per_page,
        "count": count,
        "page": win.page,
        "more_records": more,
    }
    if not with_tokens:
        return info
    binding = binding_of(req, since)
    next_token = None
    if more:
        next_token = tokens.issue(req.user_id, binding, win.position + count, win.started)
    previous = None
    if win.token_mode and win.position > 0:
        previous = tokens.issue(
            req.user_id, binding, max(0, win.position - win.per_page), win.started
        )
    info["next_page_token"] = next_token
    info["previous_page_token"] = previous
    info["page_token_expiry"] = (
        fmt_dt(win.started + TOKEN_TTL) if (next_token or win.token_mode) else None
    )
    return info
