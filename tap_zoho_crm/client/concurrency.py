"""How many calls the tap keeps in flight: the org's edition limit, Zoho's sub-pool, and 429s.

Zoho counts simultaneous calls per org and OAuth app: Free 5, Standard/Starter 10,
Professional 15, Enterprise 20, Ultimate 25 (api spec section 11). Heavy calls (COQL, Get
Records with ``cvid``, and by one reading Get Records with ``sort_by``: section 15, point 2)
also share a sub-pool of 10 in every edition. Going over either answers 429, and every such
answer is a wasted round trip and a backoff, so the tap stays under both:

* `ConcurrencyLimiter` admits a call when both its pools have room, and can be lowered while
  calls are in flight (a 429 for concurrency lowers it for the rest of the run).
* `limit_for_org` turns the org record (``GET /crm/v8/org``) into the edition's limit less
  `headroom`, so that another integration or a person exporting a report still gets through.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Concurrent calls per edition (Zoho's API limits page; Airbyte uses the same table).
EDITION_LIMITS: Mapping[str, int] = {
    "free": 5,
    "standard": 10,
    "starter": 10,
    "professional": 15,
    "enterprise": 20,
    "zohoone": 20,
    "ultimate": 25,
    "crmplus": 25,
}

#: The smallest edition's limit: used until (and unless) the org says better.
FALLBACK_EDITION_LIMIT = EDITION_LIMITS["free"]

#: Zoho's sub-concurrency pool for heavy calls (all editions).
SUB_POOL_LIMIT = 10


def headroom(limit: int) -> int:
    """Slots left free for other integrations on the same app: a tenth, at least one.

    Free 5 -> 4, Standard 10 -> 9, Professional 15 -> 13, Enterprise 20 -> 18, Ultimate 25 -> 22.
    A tenth keeps the tap within a few percent of the throughput it pays for, and a 429 for
    concurrency lowers the limit further anyway (`ConcurrencyLimiter.refused`).
    """
    return max(1, math.ceil(limit / 10))


def usable(limit: int) -> int:
    """A Zoho limit less `headroom`, never below one."""
    return max(1, limit - headroom(limit))


def edition_of(org: Mapping[str, Any]) -> str | None:
    """The edition an org record names: the paid one, else the trial's, normalised."""
    details = org.get("license_details")
    if not isinstance(details, Mapping):
        return None
    raw = details.get("paid_type") if details.get("paid") else None
    raw = raw or details.get("trial_type") or details.get("paid_type")
    if not raw:
        return "free" if details.get("paid") is False else None
    return "".join(ch for ch in str(raw).lower() if ch.isalpha())


def limit_for_org(org: Mapping[str, Any]) -> tuple[int, str | None]:
    """(Zoho's concurrency limit for the org's edition, the edition), Free's when unknown."""
    edition = edition_of(org)
    if edition is None:
        return FALLBACK_EDITION_LIMIT, None
    for name, limit in EDITION_LIMITS.items():
        if name in edition:
            return limit, edition
    return FALLBACK_EDITION_LIMIT, edition


def is_sub_pool_call(method: str, url: str) -> bool:
    """Whether Zoho counts a call in its heavy sub-pool: COQL, and sorted or cvid Get Records.

    Whether ``sort_by`` alone makes a call heavy is uncertain (spec section 15, point 2); it is
    counted here, which costs nothing when the sub-pool is larger than the tap's limit.
    """
    parts = urlsplit(url)
    if method.upper() == "POST":
        return parts.path.rstrip("/").endswith("/coql")
    params = parse_qs(parts.query)
    return "sort_by" in params or "cvid" in params


@dataclass(frozen=True)
class Admission:
    """One call's place when it was let in: how many calls (and heavy calls) were in flight."""

    heavy: bool
    rank: int
    heavy_rank: int


class ConcurrencyLimiter:
    """A semaphore for two pools whose sizes can change while calls are in flight.

    ``threading.Semaphore`` cannot shrink, and a 429 for concurrency must shrink the limit
    for the rest of the run, so this is a condition variable over two counters.
    """

    def __init__(
        self,
        limit: int,
        *,
        sub_pool: int = usable(SUB_POOL_LIMIT),
        logger: logging.Logger | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._limit = max(1, limit)
        self._sub_pool = max(1, sub_pool)
        self._in_flight = 0
        self._heavy_in_flight = 0
        self._logger = logger or logging.getLogger(__name__)
        #: Most calls in flight at once so far (for logs and tests).
        self.peak = 0
        #: 429s for concurrency seen so far (each one a wasted round trip and a backoff).
        self.refusals = 0

    @property
    def limit(self) -> int:
        """Most calls in flight at once, heavy or not."""
        return self._limit

    @property
    def heavy_limit(self) -> int:
        """Most heavy calls in flight at once."""
        return min(self._limit, self._sub_pool)

    def set_limit(self, limit: int) -> None:
        """Set the limit (the org's edition was learned); waiting calls see it at once."""
        with self._cond:
            self._limit = max(1, limit)
            self._cond.notify_all()

    @contextmanager
    def slot(self, *, heavy: bool = False) -> Iterator[Admission]:
        """Hold one slot (and one of the sub-pool for a heavy call) for the with-block."""
        with self._cond:
            while self._in_flight >= self._limit or (
                heavy and self._heavy_in_flight >= self.heavy_limit
            ):
                self._cond.wait()
            self._in_flight += 1
            self._heavy_in_flight += heavy
            self.peak = max(self.peak, self._in_flight)
            admission = Admission(heavy, self._in_flight, self._heavy_in_flight)
        try:
            yield admission
        finally:
            with self._cond:
                self._in_flight -= 1
                self._heavy_in_flight -= heavy
                self._cond.notify_all()

    def refused(self, admission: Admission) -> None:
        """Zoho answered 429 for concurrency to a call admitted as ``admission``: lower the limit.

        A call let in as the k-th in flight was one too many, so at most k - 1 fit beside
        whatever else uses the app. Taking the minimum over refusals means a burst of 429s
        from one wave lowers the limit once, to what the first refused call showed. A heavy
        call cannot tell which pool refused it, so both are lowered.
        """
        with self._cond:
            self.refusals += 1
            before = (self._limit, self.heavy_limit)
            self._limit = max(1, min(self._limit, admission.rank - 1))
            if admission.heavy:
                self._sub_pool = max(1, min(self._sub_pool, admission.heavy_rank - 1))
            after = (self._limit, self.heavy_limit)
        if after != before:
            self._logger.warning(
                "Zoho refused a call for its concurrency limit; from now on at most %d calls "
                "in flight, %d of them COQL or sorted reads (were %d and %d)",
                *after,
                *before,
            )
