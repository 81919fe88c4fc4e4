"""How the next run will read a stream, and what that costs: the estimate behind ``plan``.

Each stream kind implements `ZohoStream.read_plan` beside its read code, from the same state
the read decides on (bookmark, junction pass due or not), and sizes it with `CheapCounts`:
``actions/count`` (1 credit), one sample page of Get Records (1 credit; it also shows how many
rich-text values the list call cuts and will be re-read one by one), and for a large
incremental read, a COQL bisection on ``Modified_Time`` (1 credit per probe, about 10 probes).
Counts are cached per module, so junctions sharing a parent count it once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.paging import (
    COQL_REACH,
    IDS_PER_CALL,
    MAX_PER_PAGE,
    REPLICATION_KEY,
    if_modified_since,
    list_params,
    maybe_truncated,
)
from tap_zoho_crm.records import format_utc

if TYPE_CHECKING:
    from tap_zoho_crm.client.http import ZohoClient

#: The widest COQL page (3 credits): counts up to this many rows in one call.
COQL_WIDE_LIMIT = 2000
#: A bisection stops once the count is known this closely (relative).
BISECTION_PRECISION = 0.02


@dataclass(frozen=True)
class ReadPlan:
    """One stream's next read: how, and its estimated calls, credits and records."""

    stream: str
    mode: str
    calls: int
    credits: int
    #: Of ``calls``, those made in concurrent fan-outs (``max_concurrency`` at a time).
    concurrent_calls: int = 0
    records: int | None = None
    note: str = ""
    #: The way of reading the planner chose (reading/planner.py `Way`), for module streams.
    strategy: str | None = None
    #: Windows the keyset walk is expected to split into (1: one walk).
    windows: int = 1

    def seconds(self, per_call: float, concurrency: int) -> float:
        """Wall time at ``per_call`` seconds per call."""
        serial = self.calls - self.concurrent_calls
        return (serial + self.concurrent_calls / max(1, concurrency)) * per_call

    def as_dict(self) -> dict[str, Any]:
        """For ``plan --json``."""
        return {
            "stream": self.stream,
            "mode": self.mode,
            "calls": self.calls,
            "credits": self.credits,
            "concurrent_calls": self.concurrent_calls,
            "records": self.records,
            "note": self.note,
            "strategy": self.strategy,
            "windows": self.windows,
        }


@dataclass(frozen=True)
class Sample:
    """The first page a read would get: its rows, and whether more follow."""

    rows: list[dict[str, Any]]
    more: bool


def pages(records: int, page_size: int) -> int:
    """List calls of a walk over ``records``.

    A walk knows it is done only from an answer without ``more_records``: one call when there
    are none, and one more after a last page that was exactly full.
    """
    return records // page_size + 1


def id_calls(records: int, page_size: int) -> int:
    """``ids=`` calls (100 ids each) for ``records`` read in pages of ``page_size``."""
    full, rest = divmod(records, page_size)
    return full * math.ceil(page_size / IDS_PER_CALL) + math.ceil(rest / IDS_PER_CALL)


def describe_since(since: dt.datetime | None) -> str:
    """``since 2026-01-01T00:00:00+00:00`` or ``from the beginning``."""
    return f"since {format_utc(since)}" if since is not None else "from the beginning"


class CheapCounts:
    """Record counts for estimates, from the cheapest calls there are (cached per question)."""

    def __init__(self, client: ZohoClient, page_size: int = MAX_PER_PAGE) -> None:
        self.client = client
        self.page_size = page_size
        self._totals: dict[str, int] = {}
        self._samples: dict[tuple[str, dt.datetime | None, tuple[str, ...]], Sample] = {}
        self._changed: dict[tuple[str, dt.datetime], int] = {}

    def total(self, module: str) -> int:
        """Every record of ``module`` (``actions/count``, 1 credit)."""
        if module not in self._totals:
            response = self.client.get(f"{module}/actions/count", params=list_params(module))
            count = response.body.get("count") if not response.is_empty else 0
            self._totals[module] = int(count) if isinstance(count, int | str) else 0
        return self._totals[module]

    def sample(self, module: str, since: dt.datetime | None, fields: Sequence[str] = ()) -> Sample:
        """The first page a read since ``since`` gets (fields ``id``, ``Modified_Time``...)."""
        names = tuple(dict.fromkeys(["id", REPLICATION_KEY, *fields]))
        key = (module, since, names)
        if key not in self._samples:
            params = {
                "fields": ",".join(names),
                "per_page": self.page_size,
                "sort_by": REPLICATION_KEY,
                "sort_order": "asc",
                **list_params(module),
            }
            response = self.client.get(module, params=params, headers=if_modified_since(since))
            rows = [] if response.is_empty else response.items("data")
            self._samples[key] = Sample(rows, bool(response.info.get("more_records")))
        return self._samples[key]

    def since(self, module: str, since: dt.datetime | None) -> int:
        """Records modified at or after ``since`` (all records when None)."""
        if since is None:
            return self.total(module)
        first = self.sample(module, since)
        if not first.more:
            return len(first.rows)
        key = (module, since)
        if key not in self._changed:
            self._changed[key] = self._bisect(module, since, len(first.rows))
        return self._changed[key]

    def _bisect(self, module: str, since: dt.datetime, at_least: int) -> int:
        """Count the records modified since ``since`` by COQL: one 2,000-row page, then probes.

        Past 2,000 rows, probes ``limit 1 offset k`` (1 credit each) bisect the count to 2 %.
        Falls back to the module's total (an upper bound) without COQL (scope, edition).
        """
        total = self.total(module)
        low, high = at_least, max(at_least, total)
        where = f"Modified_Time >= '{format_utc(since)}'"
        try:
            # Up to 2,000 rows, one 3-credit call counts them exactly.
            query = f"select id from {module} where {where} limit {COQL_WIDE_LIMIT}"  # noqa: S608
            response = self.client.post_json("coql", {"select_query": query})
            rows = [] if response.is_empty else response.items("data")
            if not response.info.get("more_records"):
                return max(at_least, len(rows))
            low = max(low, len(rows))
            while high - low > max(1, int(low * BISECTION_PRECISION)) and low < COQL_REACH:
                middle = min((low + high) // 2, COQL_REACH - 1)
                # A module API name, an instant and an integer: nothing user-supplied.
                query = f"select id from {module} where {where} limit 1 offset {middle}"  # noqa: S608
                response = self.client.post_json("coql", {"select_query": query})
                if not response.is_empty and response.items("data"):
                    low = middle + 1
                else:
                    high = middle
        except ZohoAPIError:
            return total
        return (low + high) // 2


def truncated_share(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> float:
    """The share of rows with a rich-text value the list call may have cut."""
    if not rows or not fields:
        return 0.0
    cut = sum(1 for row in rows if any(maybe_truncated(row.get(name)) for name in fields))
    return cut / len(rows)
