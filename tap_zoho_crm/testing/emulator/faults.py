"""Limits and faults (all off by default) and the counters tests and benchmarks read."""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

CREDIT_WINDOW = 86_400
#: Longest a held call waits for its test to release it (`Faults.hold`).
HOLD_TIMEOUT_S = 30.0


#: Switches that take one of a few named readings (anything else would silently act as one).
READINGS: dict[str, tuple[str, ...]] = {
    "bulk_multi_value_encoding": ("semicolon", "comma", "json"),
    "bulk_boolean_encoding": ("true/false", "TRUE/FALSE", "1/0"),
}


class Faults:
    """Mutable at any time, e.g. ``zoho.faults.error_rate = 0.2``."""

    def __init__(self) -> None:
        self.latency_s: float = 0.0
        self.concurrency_limit: int | None = None
        self.sub_concurrency_limit: int | None = None
        self.daily_credits: int | None = None
        self.error_rate: float = 0.0
        self.reset_rate: float = 0.0
        self.bulk_failure: bool = False
        #: The next this many Bulk Read downloads answer 429 (as past the documented 10 per
        #: minute), whatever the count; Zoho does not say whether such a 429 carries a
        #: ``Retry-After``: None sends none, a number sends it (section 15, point 3).
        self.bulk_download_429_times: int = 0
        self.bulk_download_retry_after: int | None = None
        #: Section 15, point 12: what an expired Bulk Read job answers is not documented. Off,
        #: the job is gone (its status and result answer 404 ``RESOURCE_NOT_FOUND``, as for an
        #: unknown job); on, its status still says COMPLETED and only the download is 404.
        self.bulk_expired_status_kept: bool = False
        #: Zoho does not list the modules Bulk Read refuses, nor whether its export holds
        #: converted leads. Modules named here are refused at job creation (400
        #: ``INVALID_MODULE``, as for an unknown module); on, the export leaves converted leads
        #: out (off, it holds them, like Get Records with ``converted=both``).
        self.bulk_refused_modules: set[str] = set()
        #: Nor does Zoho say in which order a result's rows come. Off, by ascending id; on, in
        #: an order of the job's own (a shuffle seeded by its id).
        self.bulk_rows_unordered: bool = False
        self.bulk_excludes_converted: bool = False
        #: Section 10 allows ``Lookup.Field`` dot paths in a job's ``fields`` but does not say
        #: how their CSV column is named, nor what an empty lookup's cell holds. The header:
        #: ``requested`` (default) names it as asked (``Account_Name.Account_Name``);
        #: ``module`` by the target module (``Accounts.Account_Name``); ``label`` by the field
        #: labels (``Account Name.Account Name``). The cell of a row whose lookup is empty:
        #: ``bulk_dot_path_empty`` (default empty, like any empty value).
        self.bulk_dot_path_header: str = "requested"
        self.bulk_dot_path_empty: str = ""
        #: Zoho's module metadata carries ``display_field`` (the field a lookup's ``name``
        #: shows; the SDKs' Module has it), undocumented in the notes: on, it is left out.
        self.no_display_field: bool = False
        #: A completed job's result names the records a job holds at most (``per_page``, the
        #: documented sample's 200,000); on, it leaves ``per_page`` out.
        self.bulk_result_without_per_page: bool = False
        #: Section 15, point 12: how a Bulk Read CSV writes a multi-select picklist's values is
        #: not documented: ``semicolon`` (default, ``A;B``), ``comma`` (``A,B``) or ``json``
        #: (a JSON array text, ``["A","B"]``). Tags and territories stay ``;``-joined.
        self.bulk_multi_value_encoding: str = "semicolon"
        #: Nor how it writes booleans: ``true/false`` (default), ``TRUE/FALSE`` or ``1/0``.
        self.bulk_boolean_encoding: str = "true/false"
        #: Nor how many Bulk Read jobs an org may have in progress (created, not COMPLETED or
        #: FAILURE, not expired): None, no limit; a number, a create past it is refused with
        #: ``bulk_jobs_limit_status`` and ``bulk_jobs_limit_code`` (400 ``LIMIT_EXCEEDED`` by
        #: default; 429 ``TOO_MANY_REQUESTS`` is the other plausible reading).
        self.bulk_jobs_limit: int | None = None
        self.bulk_jobs_limit_status: int = 400
        self.bulk_jobs_limit_code: str = "LIMIT_EXCEEDED"
        #: Section 15, point 1: Zoho may compare If-Modified-Since with ``>`` instead of
        #: ``>=``. Off (inclusive) by default; on, a record modified exactly at the header's
        #: instant is not returned, the other documented reading.
        self.if_modified_since_exclusive: bool = False
        #: Section 15, point 10: whether ``/{module}/deleted`` hands out page tokens is not
        #: documented. Off, it does (like Get Records); on, it does not, so ``page`` stops the
        #: list at 2,000 entries with ``DISCRETE_PAGINATION_LIMIT_EXCEEDED``.
        self.deleted_without_page_token: bool = False
        #: Section 15, point 10: the order of the deleted-records list is not documented either.
        #: Off, newest deletion first (by deletion sequence); on, oldest ``deleted_time`` first.
        self.deleted_oldest_first: bool = False
        #: Section 5: a single-record GET of an unknown (or deleted) id answers 204 or 400
        #: ``INVALID_DATA``. Off, 204; on, 400.
        self.unknown_id_answers_400: bool = False
        #: Zoho does not say how records sharing a ``Modified_Time`` are ordered. Off, always in
        #: one order (by creation); on, the records of each tie come in a new random order on
        #: every call, which page tokens (positions) then cut differently each time.
        self.unstable_tie_order: bool = False
        #: Whether adding or removing a campaign member or a deal contact role, or changing a
        #: member status or a role, stamps ``Modified_Time`` on the parent (the Campaign, the
        #: Deal) and on the member (the Lead, the Contact). Zoho does not say (docs/junctions.md);
        #: off, neither record changes, the least forgiving reading. ``$member_info`` always
        #: carries the relation's own times.
        self.relation_change_touches_parent: bool = False
        self.relation_change_touches_member: bool = False
        #: How many records page tokens reach (Zoho: 100,000). Not a fault: a limit that tests
        #: lower to meet ``PAGINATION_LIMIT_EXCEEDED`` without generating 100,000 records.
        self.page_token_reach: int = 100_000
        #: Section 13: the doc says both that ``next_page_token`` comes on the first page and to
        #: "use the token from the page=10 response for 2001+". Off, Get Records hands out a
        #: token whenever more records exist; on, only from the page that ends at record 2,000
        #: (before that, ``more_records`` alone, so clients follow with ``page`` + 1).
        self.records_token_from_page_10: bool = False
        #: Section 9 / 15.11: a COQL query matching nothing answers 204 or ``data: []``
        #: (unclear). Off, 204; on, 200 with ``{"data": [], "info": {"count": 0, ...}}``.
        self.coql_empty_as_data: bool = False
        #: In-process tests only: calls admitted past the concurrency limits wait here (at most
        #: `HOLD_TIMEOUT_S`) until the test sets it, so overlap is arranged, not hoped for.
        self.hold: threading.Event | None = None
        #: In-process tests only: called with the route (``"GET /crm/v8/{module}"``), the path
        #: and the query of every CRM call admitted past the limits, before it is served, so a
        #: test can change the org at an exact point of a run (e.g. when the first related-list
        #: call comes) rather than at a moment it hopes for. Not an API behaviour.
        self.before_call: Callable[[str, str, dict[str, list[str]]], None] | None = None
        #: Related lists hidden from the API user, as ``"Module/List"`` (e.g.
        #: ``"Deals/Contact_Roles"``): Zoho answers 400 ``INVALID_DATA`` for a list the layout
        #: hides or the profile cannot see, as for a list name that does not exist (section 7).
        self.hidden_related_lists: set[str] = set()
        #: Modules the API user's profile may no longer read (an admin changed it during a
        #: run): every CRM call under ``/crm/v8/{module}`` answers 403 ``NO_PERMISSION``
        #: (section 3), once ``denied_after`` such calls went out well (to meet it mid-walk).
        self.denied_modules: set[str] = set()
        self.denied_after: int = 0
        #: Modules without a deleted-records list, with the error ``/{module}/deleted`` answers
        #: (``INVALID_URL_PATTERN`` 404, ``INVALID_MODULE`` 400 or ``NOT_SUPPORTED`` 403). Zoho
        #: does not say which modules lack the list (spec section 6) nor how it answers.
        self.no_deleted_list: dict[str, str] = {}
        #: Not documented API behaviour, seen from Zoho or a proxy before it (badanswers.py):
        #: a CRM success answer replaced by one bad-answer kind (``error_body_200``,
        #: ``data_entry_error``, ``html_200``, ``malformed_json``, ``truncated_json``,
        #: ``empty_200``, ``no_data``) with probability ``bad_answer_rate`` (1.0: every time),
        #: only on the path ``bad_answer_path`` (e.g. ``/crm/v8/Leads``; all when None), only
        #: after ``bad_answer_after`` such answers went out well (to meet it mid-walk), and at
        #: most ``bad_answer_times`` times (no limit when None).
        self.bad_answer_kind: str | None = None
        self.bad_answer_rate: float = 1.0
        self.bad_answer_path: str | None = None
        self.bad_answer_after: int = 0
        self.bad_answer_times: int | None = None
        #: Record id -> bad-record kind (``missing_modified_time``, ``null_modified_time``,
        #: ``invalid_modified_time``, ``non_numeric_id``), applied to every record list (``data``
        #: of records, related lists, COQL, deleted lists, whose ``deleted_time`` it spoils; and
        #: ``users``), wherever the record appears; with ``bad_records_param`` (e.g. ``ids``),
        #: only in answers to requests carrying that query parameter (Zoho's answers to two
        #: calls need not agree).
        self.bad_records: dict[str, str] = {}
        self.bad_records_param: str | None = None
        #: How many faults were injected, by kind (``error_rate``, ``reset_rate``, bad answers).
        self.injected: Counter[str] = Counter()
        self._fault_seed = 0
        self._rng = random.Random(0)
        self._lock = threading.Lock()

    @property
    def fault_seed(self) -> int:
        return self._fault_seed

    @fault_seed.setter
    def fault_seed(self, value: int) -> None:
        with self._lock:
            self._fault_seed = value
            self._rng = random.Random(value)

    def roll(self) -> float:
        with self._lock:
            return self._rng.random()

    def count(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self.injected[kind] += 1

    def check_denied(self, path: str) -> None:
        """Refuse a call on ``path`` whose profile lost the module (`denied_modules`)."""
        parts = path.split("?", 1)[0].split("/")
        if len(parts) < 4 or parts[1:3] != ["crm", "v8"] or parts[3] not in self.denied_modules:
            return
        with self._lock:
            if self.denied_after > 0:
                self.denied_after -= 1
                return
            self.injected["denied_modules"] += 1
        raise ApiError(403, "NO_PERMISSION", "permission denied", {"permissions": ["Crm_View"]})

    def bad_answer_due(self, path: str) -> str | None:
        """The bad-answer kind to give a success answer on ``path`` now, if any."""
        kind = self.bad_answer_kind
        if kind is None or (self.bad_answer_path and self.bad_answer_path != path):
            return None
        with self._lock:
            if self.bad_answer_after > 0:
                self.bad_answer_after -= 1
                return None
            if self.bad_answer_times is not None and self.bad_answer_times <= 0:
                return None
            if self.bad_answer_rate < 1.0 and self._rng.random() >= self.bad_answer_rate:
                return None
            if self.bad_answer_times is not None:
                self.bad_answer_times -= 1
            self.injected[kind] += 1
        return kind

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.as_dict():
                raise ValueError(f"unknown fault {key!r}")
            allowed = READINGS.get(key)
            if allowed is not None and value not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_s": self.latency_s,
            "concurrency_limit": self.concurrency_limit,
            "sub_concurrency_limit": self.sub_concurrency_limit,
            "daily_credits": self.daily_credits,
            "error_rate": self.error_rate,
            "reset_rate": self.reset_rate,
            "bulk_failure": self.bulk_failure,
            "bulk_download_429_times": self.bulk_download_429_times,
            "bulk_download_retry_after": self.bulk_download_retry_after,
            "bulk_expired_status_kept": self.bulk_expired_status_kept,
            "bulk_refused_modules": sorted(self.bulk_refused_modules),
            "bulk_rows_unordered": self.bulk_rows_unordered,
            "bulk_excludes_converted": self.bulk_excludes_converted,
            "bulk_dot_path_header": self.bulk_dot_path_header,
            "bulk_dot_path_empty": self.bulk_dot_path_empty,
            "no_display_field": self.no_display_field,
            "bulk_result_without_per_page": self.bulk_result_without_per_page,
            "bulk_multi_value_encoding": self.bulk_multi_value_encoding,
            "bulk_boolean_encoding": self.bulk_boolean_encoding,
            "bulk_jobs_limit": self.bulk_jobs_limit,
            "bulk_jobs_limit_status": self.bulk_jobs_limit_status,
            "bulk_jobs_limit_code": self.bulk_jobs_limit_code,
            "if_modified_since_exclusive": self.if_modified_since_exclusive,
            "deleted_without_page_token": self.deleted_without_page_token,
            "deleted_oldest_first": self.deleted_oldest_first,
            "unknown_id_answers_400": self.unknown_id_answers_400,
            "page_token_reach": self.page_token_reach,
            "records_token_from_page_10": self.records_token_from_page_10,
            "coql_empty_as_data": self.coql_empty_as_data,
            "unstable_tie_order": self.unstable_tie_order,
            "relation_change_touches_parent": self.relation_change_touches_parent,
            "relation_change_touches_member": self.relation_change_touches_member,
            "bad_answer_kind": self.bad_answer_kind,
            "bad_answer_rate": self.bad_answer_rate,
            "bad_answer_path": self.bad_answer_path,
            "bad_answer_after": self.bad_answer_after,
            "bad_answer_times": self.bad_answer_times,
            "bad_records_param": self.bad_records_param,
            "bad_records": dict(self.bad_records),
            "hidden_related_lists": sorted(self.hidden_related_lists),
            "denied_modules": sorted(self.denied_modules),
            "denied_after": self.denied_after,
            "no_deleted_list": dict(self.no_deleted_list),
            "fault_seed": self.fault_seed,
        }


@dataclass(frozen=True)
class LoggedCall:
    """One CRM call as the emulator served it.

    Tests derive expected costs from what Zoho was asked and answered, instead of re-running
    the tap's own logic.
    """

    route: str
    module: str | None
    query: dict[str, list[str]]
    status: int
    #: Record ids a Get Records answer listed, in order (empty for other routes and for 204/304).
    ids: tuple[str, ...] = ()
    #: The If-Modified-Since header as sent, if any.
    since: str | None = None


#: Most calls `Stats.log` keeps (the oldest go first): enough for any one test run, and a
#: long-running emulator stays small (a page of ids is kept per Get Records call).
CALL_LOG_SIZE = 5_000


class Stats:
    """Per-endpoint call counts (every request received, errors included) and credits charged."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.calls_by_module: Counter[tuple[str, str | None]] = Counter()
        self.credits = 0
        self.server_ms: deque[float] = deque(maxlen=10_000)
        #: Every CRM call, in the order of its answer (429s, errors and resets included).
        self.log: deque[LoggedCall] = deque(maxlen=CALL_LOG_SIZE)
        self._lock = threading.Lock()

    def record(self, route: str, module: str | None) -> None:
        with self._lock:
            self.calls[route] += 1
            self.calls_by_module[(route, module)] += 1

    def charge(self, credits: int) -> None:
        with self._lock:
            self.credits += credits

    def logged(self, call: LoggedCall) -> None:
        with self._lock:
            self.log.append(call)

    def calls_to(self, route: str, module: str | None) -> list[LoggedCall]:
        """The logged calls of one route and module, oldest first."""
        with self._lock:
            return [c for c in self.log if c.route == route and c.module == module]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.calls_by_module.clear()
            self.credits = 0
            self.server_ms.clear()
            self.log.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "calls_by_module": [
                    {"route": route, "module": module, "count": n}
                    for (route, module), n in self.calls_by_module.items()
                ],
                "credits": self.credits,
            }


class Limits:
    """Concurrency slots and the rolling 24-hour credit ledger."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self.in_flight = 0
        self.sub_in_flight = 0
        #: Most CRM calls served at once since the last `reset_peak` (observed, not sampled).
        self.peak_in_flight = 0
        #: Calls refused with 429 for concurrency since the last `reset_peak`.
        self.refused = 0
        self._ledger: deque[tuple[float, int]] = deque()
        self._spent = 0

    def enter(self, sub: bool) -> bool:
        with self._lock:
            limit = self.faults.concurrency_limit
            sub_limit = self.faults.sub_concurrency_limit
            if (limit is not None and self.in_flight >= limit) or (
                sub and sub_limit is not None and self.sub_in_flight >= sub_limit
            ):
                self.refused += 1
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if sub:
                self.sub_in_flight += 1
            return True

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight
            self.refused = 0

    def leave(self, sub: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            if sub:
                self.sub_in_flight -= 1

    def charge(self, cost: int, now: float) -> tuple[bool, int | None]:
        """Spend credits; returns (allowed, remaining-to-report or None below half use)."""
        with self._lock:
            while self._ledger and now - self._ledger[0][0] >= CREDIT_WINDOW:
                self._spent -= self._ledger.popleft()[1]
            budget = self.faults.daily_credits
            if budget is None:
                self._ledger.append((now, cost))
                self._spent += cost
                return True, None
            if self._spent + cost > budget:
                return False, max(0, budget - self._spent)
            self._ledger.append((now, cost))
            self._spent += cost
            remaining = budget - self._spent
            return True, remaining if self._spent * 2 >= budget else None
