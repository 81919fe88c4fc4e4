"""What Zoho charges for a call, and how many credits this run may still spend.

Zoho counts API credits per org over a rolling 24 hours (the documented cost table: the shared
API spec, section 11). The cost of a call is known from the request alone, so the tap keeps its
own tally instead of trusting ``X-API-CREDITS-REMAINING``, which Zoho sends only once half of
the day's credits are used. `call_credits` is the one place that table lives: the client charges
every answered call with it, and a run report or a plan can price calls with it too.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: Credits of one call that Zoho answered (anything that is not one of the below).
BASE_CALL_CREDITS = 1
#: Get Records with a custom view (``cvid``).
CUSTOM_VIEW_CREDITS = 3
#: Creating a Bulk Read job.
BULK_READ_CREDITS = 50
#: COQL by LIMIT: up to 200 rows 1 credit, up to 1,000 rows 2, up to 2,000 rows 3.
COQL_CREDITS_BY_LIMIT: tuple[tuple[int, int], ...] = ((200, 1), (1000, 2), (2000, 3))
#: The LIMIT Zoho applies to a COQL query that names none.
COQL_DEFAULT_LIMIT = 200

#: Answers Zoho gives before it serves (and charges) a call: refused token, rate limit,
#: server error. What it answers after serving, 4xx included, is charged.
UNCHARGED_STATUSES = frozenset({401, 429})

#: Share of the org's remaining daily credits a run may spend when ``max_credits_per_run`` is
#: not set: half, so that two runs a day, or another integration, still find credits.
DEFAULT_RUN_SHARE = 0.5

_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)
_RECORDS_LIST = re.compile(r"^/crm/v\d+/[A-Za-z0-9_]+$")


def call_credits(
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    body: Mapping[str, Any] | None = None,
) -> int:
    """Credits one answered call costs, by Zoho's documented table.

    ``path`` is the URL path (``/crm/v8/Deals``) or a full URL. Calls to Zoho Accounts (the
    token endpoint) cost nothing.
    """
    path = urlsplit(path).path or path
    if not path.startswith("/crm/"):
        return 0
    method = method.upper()
    if method == "POST" and path.rstrip("/").endswith("/coql"):
        return coql_credits(str((body or {}).get("select_query", "")))
    if method == "POST" and "/bulk/" in path and path.rstrip("/").endswith("/read"):
        return BULK_READ_CREDITS
    if method == "GET" and params and params.get("cvid") and _RECORDS_LIST.match(path):
        return CUSTOM_VIEW_CREDITS
    return BASE_CALL_CREDITS


def coql_credits(query: str) -> int:
    """Credits of one COQL query, by its LIMIT (``limit n`` or ``limit offset, n``)."""
    found = _LIMIT.search(query)
    limit = int(found.group(2) or found.group(1)) if found else COQL_DEFAULT_LIMIT
    for most, credits in COQL_CREDITS_BY_LIMIT:
        if limit <= most:
            return credits
    return COQL_CREDITS_BY_LIMIT[-1][1]


def per_parent_pass_credits(parents: int, page_size: int = 200) -> int:
    """Credits of reading one related list of ``parents`` records (lists of up to 200 rows).

    The parent walk (one Get Records call per page, one even when there are none) plus one
    related-list call per parent. Longer lists cost a call per 200 rows more, which a count
    cannot show; passes over them run over their estimate and stop at the next batch.
    """
    parents = max(0, parents)
    return max(1, math.ceil(parents / max(1, page_size))) + parents


class CreditMeter:
    """The credits this run spent, and how many it may still spend.

    The run's budget is ``max_credits_per_run`` when set. Otherwise it is a share of the credits
    Zoho says the org has left, fixed the first time Zoho says so; until then (less than half of
    the day's credits are used) the run has no budget of its own.
    """

    def __init__(self, max_per_run: int | None, share: float = DEFAULT_RUN_SHARE) -> None:
        self.max_per_run = max_per_run
        self.share = share
        self._spent = 0
        self._share_budget: int | None = None
        self._lock = threading.Lock()

    @property
    def spent(self) -> int:
        """Credits charged to this run so far."""
        return self._spent

    def charge(self, credits: int) -> None:
        """Count one answered call."""
        with self._lock:
            self._spent += credits

    def saw_remaining(self, remaining: int) -> None:
        """Zoho reported the org's remaining credits (``X-API-CREDITS-REMAINING``)."""
        with self._lock:
            if self._share_budget is None:
                self._share_budget = self._spent + math.floor(max(0, remaining) * self.share)

    def left(self) -> int | None:
        """Credits this run may still spend; None when it has no budget (see the class doc)."""
        with self._lock:
            budget = self.max_per_run if self.max_per_run is not None else self._share_budget
            return None if budget is None else max(0, budget - self._spent)
