"""Expected API costs from the emulator's call log and the documented formulas.

The tap's walk is never re-run here. What Zoho was asked and what it answered (the emulator's
`Stats.log`) is checked against docs/cost.md and the API spec (section 5: at most 200 records a
page, at most 50 ``fields``), with the records' ``Modified_Time`` taken from the emulator's store:

* a module walk costs between ⌈N / 200⌉ and ⌈N / (200 - r)⌉ + 2 calls, r being the most
  records sharing one second (docs/cost.md);
* page by page: every answer but the last is a full page, and a call re-reads nothing but the
  records of the newest second already read (If-Modified-Since is inclusive), so the walk costs
  exactly one call per 200 rows answered.

A walk starts with a call whose If-Modified-Since is absent or earlier than the call before it
(within one walk the header only moves forward).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.faults import LoggedCall

PAGE = 200
RECORDS_ROUTE = "GET /crm/v8/{module}"


def crm_calls(zoho: ZohoEmulator) -> int:
    """CRM calls in the emulator's count (token calls are OAuth, not API credits)."""
    return sum(count for route, count in zoho.stats.calls.items() if "/oauth/" not in route)


def stored_instant(zoho: ZohoEmulator, module: str, record_id: str) -> dt.datetime:
    """A stored record's Modified_Time as an aware instant."""
    return dt.datetime.fromisoformat(zoho.get_record(module, record_id)["Modified_Time"])


def _since(call: LoggedCall) -> dt.datetime | None:
    return dt.datetime.fromisoformat(call.since) if call.since else None


@dataclass(frozen=True)
class Walk:
    """The sorted Get Records calls of one walk of a module, as the emulator logged them."""

    calls: list[LoggedCall]
    #: Per answer, the records no earlier answer of the walk listed (what the tap handed on).
    new: list[list[str]]

    @property
    def records(self) -> set[str]:
        return {record for page in self.new for record in page}

    @property
    def rows_answered(self) -> int:
        return sum(len(call.ids) for call in self.calls)


def module_calls(log: Iterable[LoggedCall], module: str) -> list[LoggedCall]:
    """The Get Records calls of one module in a call log."""
    return [c for c in log if c.route == RECORDS_ROUTE and c.module == module]


def walks_of(log: Iterable[LoggedCall], module: str) -> list[Walk]:
    """The module's walks: its sorted Get Records calls (not the ``ids=`` calls of further
    field chunks), cut where If-Modified-Since starts over."""
    groups: list[list[LoggedCall]] = []
    previous: dt.datetime | None = None
    for call in module_calls(log, module):
        if "ids" in call.query:
            continue
        since = _since(call)
        if not groups or since is None or (previous is not None and since < previous):
            groups.append([])
        groups[-1].append(call)
        previous = since
    walks = []
    for calls in groups:
        seen: set[str] = set()
        new = []
        for call in calls:
            new.append([record for record in call.ids if record not in seen])
            seen.update(call.ids)
        walks.append(Walk(calls, new))
    return walks


def documented_walk_bounds(zoho: ZohoEmulator, module: str, ids: Iterable[str]) -> range:
    """docs/cost.md: ⌈N / 200⌉ to ⌈N / (200 - r)⌉ + 2 calls for N records, r a second's most."""
    per_second = Counter(stored_instant(zoho, module, record_id) for record_id in ids)
    count = sum(per_second.values())
    most = max(per_second.values(), default=0)
    assert most < PAGE, "the formula holds below a page of records per second"
    return range(max(1, math.ceil(count / PAGE)), math.ceil(count / (PAGE - most)) + 3)


def check_walk(zoho: ZohoEmulator, module: str, walk: Walk, ids: set[str], inclusive: bool) -> None:
    """One walk against the documents (see the module docstring)."""
    assert ids <= walk.records, f"{module}: the walk never got {sorted(ids - walk.records)[:5]}"
    assert all(c.status in {200, 204, 304} for c in walk.calls), module
    calls = len(walk.calls)
    assert calls in documented_walk_bounds(zoho, module, ids), (module, calls)
    if not inclusive:
        return
    newest: dt.datetime | None = None
    for index, call in enumerate(walk.calls):
        if index < calls - 1:
            assert len(call.ids) == PAGE, f"{module}: answer {index} is not a full page"
        again = [record for record in call.ids if record not in walk.new[index]]
        assert all(stored_instant(zoho, module, r) == newest for r in again), (module, index)
        if call.ids:
            newest = max(stored_instant(zoho, module, r) for r in call.ids)
    assert calls == max(1, math.ceil(walk.rows_answered / PAGE)), (module, calls)


def checked_walk_calls(
    zoho: ZohoEmulator,
    module: str,
    ids: Iterable[str],
    *,
    walks: int = 1,
    inclusive: bool = True,
    log: Iterable[LoggedCall] | None = None,
) -> int:
    """The calls of the module's `walks` walks, each over `ids`, checked against the documents.

    `inclusive`: If-Modified-Since read as ``>=`` (the emulator's default). Under ``>`` the
    tap spends a probe call once per run (paging.py), so only the bounds are checked. `log`:
    a snapshot of the emulator's call log (default: the log as it is now).
    """
    wanted = set(ids)
    found = walks_of(zoho.stats.log if log is None else log, module)
    assert len(found) == walks, (module, [len(w.calls) for w in found])
    for walk in found:
        check_walk(zoho, module, walk, wanted, inclusive)
    return sum(len(walk.calls) for walk in found)


def chunk_calls(log: Iterable[LoggedCall], module: str) -> list[LoggedCall]:
    """The ``ids=`` calls of a module: the further field chunks of each page."""
    return [c for c in module_calls(log, module) if "ids" in c.query]


def listed(call: LoggedCall, name: str) -> list[str]:
    """The comma-separated values of a query parameter (``fields``, ``ids``)."""
    return [item for value in call.query.get(name, []) for item in value.split(",") if item]
