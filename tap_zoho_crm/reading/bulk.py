"""Initial loads through Bulk Read: a module's records exported as CSV, 50 credits per job.

A first sync (no bookmark) of a module with more than ``bulk_read_min_records`` records reads
it through Bulk Read (spec section 10) instead of Get Records (1 credit per 200 records):

* **Jobs.** Each job exports up to 200,000 records; the next chunk is a new job whose criteria
  start after the highest id of the previous one (id keyset: a record deleted or added
  meanwhile cannot shift a later chunk, as ``page`` offsets would). That needs the rows in
  ascending id order (the emulator's, and Zoho's as far as is known; not documented): a
  result of several jobs in another order falls back. The next job is created as soon as the
  previous result is downloaded, so Zoho prepares it while this one is emitted. Polls back off
  from 0.5 s to 30 s, for at most `JOB_WAIT_MAX_S`.
* **Downloads** keep to Zoho's 10 per minute (`DownloadPacer`); a 429 is retried by the client
  (``Retry-After`` honoured, bounded). The ZIP is streamed to a temporary file and its CSV read
  row by row, twice: once to choose the records that carry the lookup objects and tag names
  the CSV gives only as ids and names (`ReferenceBook`; read by ``ids=``, one credit per 100
  records chosen, on workers ahead of emission: `_Learner`), once to emit. Memory stays flat
  whatever the size of the module (the book holds one job's distinct lookup ids and tags).
* **Lookup names.** A lookup (or consent lookup) is also exported as the dot path
  ``Lookup.Display_Field`` (section 10), so its ``name`` needs no read by id: a lookup to a
  different record on every row (a lead's consent) would otherwise cost a credit per 100 rows.
  The display field is the target module's ``display_field`` (``settings/modules/{module}``,
  1 credit per target module and run: `DisplayFields`); unknown, or a result without the
  column, and the lookup's names are read by id as above. Owners, users, layouts and tags
  have few distinct values: read by id.
* **Handover.** The export instant is the first job's ``created_time`` (Zoho's clock). Rows
  modified at or after it are left out, and once the jobs are done the stream's bookmark is
  that instant: the ordinary keyset walk reads from it, so a record changed during the export
  is read by the walk, and the bookmark obeys the usual invariants from then on.
* **State** (`BulkProgress`, under ``bulk_read`` in the stream's state) holds the instant, the
  current job, the id it starts after, the CSV row and id of the last record emitted and the
  next job once created, so a killed run resumes with the same jobs (results are kept 24 h) and
  skips the rows emitted (`_Done`). A job that is gone (404 ``RESOURCE_NOT_FOUND``: expired) is
  created again for the same chunk; its rows are then skipped by id.
* **Jobs in progress.** Zoho documents no limit on them nor its refusal (section 15, point
  12): a refusal read as one (`JOB_LIMIT_CODES`) stops the jobs created ahead; a job needed
  now waits for the load's own jobs to complete, then for others' (bounded:
  `create_when_free`), then falls back.
* **The Spark bridge** cuts a load into jobs on its driver (`plan_ranges`, `create_jobs`) and
  reads each in a partition, as a load of that job resumed (`BulkProgress.begin_chunk`).
* **Fallback** (`BulkUnavailableError`): no ``ZohoCRM.bulk.read`` scope, a module Bulk Read
  refuses, a job ending in ``FAILURE``, a result of several jobs not in ascending id order, an
  export without converted leads while Zoho counts some: one warning, and the stream reads
  through Get Records from the start (records already sent come again).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

from tap_zoho_crm.client.errors import (
    ZohoAPIError,
    ZohoAuthError,
    ZohoModuleUnavailableError,
)
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.paging import (
    CONVERTED_PARAM_MODULES,
    FIELDS_PER_CALL,
    IDS_PER_CALL,
    REPLICATION_KEY,
)
from tap_zoho_crm.reading.bulk_csv import (
    BulkFields,
    ReferenceBook,
    RowConverter,
    boolean_cell,
    csv_rows,
)
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import format_utc, parse_instant
from tap_zoho_crm.schema import DATA_TYPE, PICK_LIST_VALUES, pick_list_values

BULK_PATH = "/crm/bulk/v8/read"
#: The stream-state key of a Bulk Read load in progress.
STATE_KEY = "bulk_read"
#: Records one job exports (spec section 10).
RECORDS_PER_JOB = 200_000
#: Zoho's download limit: this many per rolling minute.
DOWNLOADS_PER_MINUTE = 10
DOWNLOAD_WINDOW_S = 60.0
#: Poll waits: from the first to the longest, doubling; a job waited on longer is given up.
POLL_FIRST_S = 0.5
POLL_LONGEST_S = 30.0
JOB_WAIT_MAX_S = 6 * 3600.0
#: How far before the local clock the export instant is put when Zoho names no created_time.
INSTANT_MARGIN_WITHOUT_ZOHO_TIME = dt.timedelta(hours=1)
#: Polls a plan counts per job (`tap-zoho-crm plan`): the first answers ADDED or IN PROGRESS.
PLANNED_POLLS = 3
#: Records per emitted page (completed fields are read by id for a page at once).
PAGE_RECORDS = 200
#: The field that marks a converted lead.
CONVERTED_FIELD = "Converted__s"
#: Credits of one job; Get Records reads 200 records per credit.
JOB_CREDITS = 50
#: Jobs Zoho prepares while the tap emits another one's result. Zoho does not document a limit
#: on concurrent Bulk Read jobs (section 15, point 12): a few, not one per range.
JOBS_AHEAD = 2
#: Nor what a create past such a limit answers: these codes (any status), or a 429 that
#: outlasted the client's retries, are read as "too many jobs in progress" (`_TooManyJobsError`).
JOB_LIMIT_CODES = frozenset({"LIMIT_EXCEEDED", "TOO_MANY_REQUESTS"})
#: A create so refused waits for the load's own jobs to complete (their results are kept 24 h
#: and downloaded later), one at a time, trying again after each; with none left, it tries
#: again after waits doubling from `POLL_FIRST_S` up to `POLL_LONGEST_S`, at most this many
#: times and this long, and then the load falls back to Get Records.
JOB_LIMIT_RETRIES = 10
JOB_LIMIT_WAIT_MAX_S = 600.0
#: Rows a COQL offset reaches (section 9), and the most ranges one load is cut into.
COQL_REACH = 100_000
MAX_RANGES = 10_000

Records = list[dict[str, Any]]


@dataclass(frozen=True)
class _Done:
    """What of a job was sent: the last record's id and CSV row (0 first), None for nothing."""

    last_id: int | None
    row: int | None

    def skips(self, *, ordered: bool) -> Callable[[int, int], bool]:
        """(row, id) -> whether that row was sent already.

        By position in the same file (any order); in a file made again (an expired job
        created anew), by id when ids ascend, else nothing is skipped (sent again: upserts).
        """
        row, last_id = self.row, self.last_id
        if row is not None:
            return lambda position, _record_id: position <= row
        if last_id is not None and ordered:
            return lambda _position, record_id: record_id <= last_id
        return lambda _position, _record_id: False


class _Learner:
    """Reads chosen records by id on worker threads, ahead of the rows that need them.

    Batches of `IDS_PER_CALL` chosen records (one call per field chunk) are submitted at once
    and learned in CSV order; `cover` blocks until every chosen row up to a position is
    learned. Workers run in copies of the caller's context (per-stream call attribution).
    """

    def __init__(
        self,
        book: ReferenceBook,
        chosen: list[tuple[int, int]],
        field_chunks: list[list[str]],
        fetch_by_ids: Callable[[tuple[list[str], list[int]]], Records],
        workers: int,
    ) -> None:
        self.book = book
        self._starts = [chosen[i][0] for i in range(0, len(chosen), IDS_PER_CALL)]
        batches = [
            [record_id for _, record_id in chosen[i : i + IDS_PER_CALL]]
            for i in range(0, len(chosen), IDS_PER_CALL)
        ]
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="zoho-bulk")
        caller = contextvars.copy_context()
        self._pending = deque(
            [
                self._pool.submit(caller.copy().run, fetch_by_ids, (fields, batch))
                for fields in field_chunks
            ]
            for batch in batches
        )
        self._next = 0

    def cover(self, position: int) -> None:
        """Learn every batch whose first chosen row is at or before ``position``."""
        while self._next < len(self._starts) and self._starts[self._next] <= position:
            for future in self._pending.popleft():
                for record in future.result():
                    self.book.learn(record)
            self._next += 1

    def __enter__(self) -> _Learner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def planning_calls(fields: BulkFields, records: int) -> int:
    """Calls (1 credit each) a load of ``records`` spends on more than its jobs' own calls.

    The display field of each module its lookups point at, and above one job the COQL bounds
    of its ranges (`BulkLoad._plan_ranges`: hops of 100,000 rows, and one past the end).
    """
    jobs = -(-records // RECORDS_PER_JOB)
    bounds = (jobs - 1) * -(-RECORDS_PER_JOB // COQL_REACH) + 1 if jobs > 1 else 0
    return len(fields.targets) + bounds


class BulkUnavailableError(Exception):
    """Bulk Read cannot serve this load: read through Get Records instead (the reason says why)."""


class _JobGoneError(Exception):
    """The job or its result is no longer kept (expired): create it again."""


class _TooManyJobsError(Exception):
    """Zoho refused a job because too many are in progress (`JOB_LIMIT_CODES`)."""


def _is_job_limit(exc: ZohoAPIError) -> bool:
    """Whether a refused create reads as "too many Bulk Read jobs in progress"."""
    return exc.code in JOB_LIMIT_CODES or exc.status == 429


class DownloadPacer:
    """At most `DOWNLOADS_PER_MINUTE` downloads started per rolling minute, process-wide."""

    def __init__(
        self, limit: int = DOWNLOADS_PER_MINUTE, window_s: float = DOWNLOAD_WINDOW_S
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        """Block until a download may start (at most one window)."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._starts and now - self._starts[0] >= self._window:
                    self._starts.popleft()
                if len(self._starts) < self._limit:
                    self._starts.append(now)
                    return
                wait = self._window - (now - self._starts[0])
            time.sleep(min(max(wait, 0.05), self._window))


#: One pacer per client (Zoho counts an org's downloads; one tap run has one client).
_PACERS: weakref.WeakKeyDictionary[ZohoClient, DownloadPacer] = weakref.WeakKeyDictionary()
_PACERS_LOCK = threading.Lock()


def pacer_for(client: ZohoClient) -> DownloadPacer:
    """The download pacer of ``client``'s run."""
    with _PACERS_LOCK:
        pacer = _PACERS.get(client)
        if pacer is None:
            pacer = _PACERS[client] = DownloadPacer()
        return pacer


class DisplayFields:
    """Module -> its display field (what a lookup to it shows as ``name``), asked once per run.

    Zoho's module metadata carries ``display_field`` (``{"api_name", "id"}``); the notes do
    not document it, so a module whose metadata lacks it, or cannot be read, gives None.
    """

    def __init__(self, client: ZohoClient) -> None:
        self._client = client
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def of(self, module: str, logger: logging.Logger) -> str | None:
        """The display field of ``module`` (one ``settings/modules/{module}`` call, cached)."""
        with self._lock:
            if module in self._known:
                return self._known[module]
        found: str | None = None
        try:
            response = self._client.get(f"settings/modules/{module}")
        except ZohoAPIError as exc:
            logger.info("No display field for %s (%s %s)", module, exc.status, exc.code)
        else:
            entries = [] if response.is_empty else response.items("modules")
            entry = next((e for e in entries if e.get("api_name") == module), None)
            field = (entry or {}).get("display_field")
            name = field.get("api_name") if isinstance(field, dict) else None
            found = name if isinstance(name, str) and name else None
        with self._lock:
            self._known[module] = found
        return found


_DISPLAY_FIELDS: weakref.WeakKeyDictionary[ZohoClient, DisplayFields] = weakref.WeakKeyDictionary()


def display_fields_for(client: ZohoClient) -> DisplayFields:
    """The display fields known in ``client``'s run."""
    with _PACERS_LOCK:
        found = _DISPLAY_FIELDS.get(client)
        if found is None:
            found = _DISPLAY_FIELDS[client] = DisplayFields(client)
        return found


@dataclass
class JobResult:
    """A completed job: how many records it holds, whether more follow, where its file is."""

    count: int
    #: Records a job holds at most (Zoho: 200,000), as the result says.
    per_page: int | None
    more_records: bool
    download_url: str


#: A chunk with its job: {"job": id, "after": the id it starts after, "upto": its last id}.
_Chunk = dict[str, Any]
#: An id range without a job yet: [after, upto] (None: open).
_Range = list[int | None]


def queued(value: Any) -> list[_Chunk]:
    """The jobs created ahead, from a state (a single dict in states before ranges)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return []
    return [
        {"job": item.get("job"), "after": item.get("after"), "upto": item.get("upto")}
        for item in value
        if isinstance(item, dict) and item.get("job")
    ]


class BulkProgress:
    """The load's state, bound to (and written straight into) the stream's state dict."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self._state = state

    @property
    def saved(self) -> dict[str, Any] | None:
        """The load in progress, if the state holds one."""
        value = self._state.get(STATE_KEY)
        return value if isinstance(value, dict) and value.get("instant") else None

    def begin(self, instant: dt.datetime, job_id: str) -> None:
        """The first job is created: its instant is the export's."""
        self._state[STATE_KEY] = {
            "instant": format_utc(instant),
            "job": job_id,
            "after": None,
            "upto": None,
            "emitted": None,
            "row": None,
            "next": [],
            "ranges": None,
        }

    def _load(self) -> dict[str, Any]:
        value = self._state[STATE_KEY]
        assert isinstance(value, dict)  # noqa: S101 - begun or resumed before any update
        return value

    def begin_chunk(self, instant: dt.datetime, chunk: _Chunk) -> None:
        """A load of one chunk whose job exists already, cut at ``instant`` (`create_jobs`).

        The Spark bridge reads each chunk of a load planned on its driver in a partition of
        its own: the run resumes this state as it would an interrupted load.
        """
        self._state[STATE_KEY] = {
            "instant": format_utc(instant),
            "job": chunk["job"],
            "after": chunk.get("after"),
            "upto": chunk.get("upto"),
            "emitted": None,
            "row": None,
            "next": [],
            "ranges": [],
        }

    def replace_job(self, job_id: str) -> None:
        """The current chunk's job was created again (the first one expired)."""
        self._load()["job"] = job_id

    def plan(self, queue: list[_Chunk], ranges: list[_Range] | None) -> None:
        """The jobs created ahead (in order) and the id ranges still without a job."""
        load = self._load()
        load["next"] = [dict(chunk) for chunk in queue]
        load["ranges"] = None if ranges is None else [list(r) for r in ranges]

    def move_on(self) -> None:
        """Every row of the current job was emitted: the next one created is current."""
        load = self._load()
        queue = queued(load.get("next"))
        following: dict[str, Any] = dict(queue[0]) if queue else {}
        load.update(
            job=following.get("job"),
            after=following.get("after"),
            upto=following.get("upto"),
            emitted=None,
            row=None,
        )
        load["next"] = queue[1:]

    def saw_converted(self) -> None:
        """The export holds converted records (kept for a resumed load's last check)."""
        self._load()["converted_seen"] = True

    def account(self, record_id: int, row: int) -> None:
        """One record of the current job was emitted, from this row of its CSV (0 first)."""
        load = self._load()
        load["emitted"], load["row"] = record_id, row

    def clear(self) -> None:
        """The load is over (done, or given up for Get Records)."""
        self._state.pop(STATE_KEY, None)


class BulkLoad:
    """One module's initial load through Bulk Read; `pages` yields records and `Effect` steps."""

    def __init__(
        self,
        *,
        client: ZohoClient,
        module: str,
        schema: dict[str, Any],
        selected: Sequence[str],
        state: MutableMapping[str, Any],
        since: dt.datetime | None,
        normalise: Callable[[dict[str, Any]], dict[str, Any]],
        fetch_by_ids: Callable[[tuple[list[str], list[int]]], Records],
        finish_page: Callable[[Records], Records],
        truncate_rich_text: bool,
        logger: logging.Logger,
        write_state: Callable[[], None],
        before: dt.datetime | None = None,
    ) -> None:
        self._client = client
        self._module = module
        self._schema = schema
        self.fields = BulkFields.plan(schema, selected)
        #: Leads: whether Bulk Read exports converted records is not documented; the export's
        #: ``Converted__s`` column tells (see `_check_converted`).
        self._converted_column = (
            CONVERTED_FIELD
            if module in CONVERTED_PARAM_MODULES and CONVERTED_FIELD in schema.get("properties", {})
            else None
        )
        self._saw_converted = False
        self.progress = BulkProgress(state)
        self._since = since
        #: Rows modified at or after this are not wanted (the Spark bridge's micro-batch ends
        #: there): jobs and ranges leave them out, so they cost no export.
        self._before = before
        self._normalise = normalise
        self._fetch_by_ids = fetch_by_ids
        self._finish_page = finish_page
        self._truncate = truncate_rich_text
        self._logger = logger
        self._pacer = pacer_for(client)
        #: Sends a STATE message: after every job created or finished, so a kill loses no job.
        self._write_state = write_state
        #: While the stream emits a page of this load (between `Effect` steps): the CSV row
        #: of each of its records.
        self._positions: dict[int, int] | None = None
        #: The export instant, once known: the walk after the load starts there.
        self.instant: dt.datetime | None = None

    # -- the jobs -------------------------------------------------------------------------

    def _criteria(self, after: int | None, upto: int | None) -> dict[str, Any] | None:
        group: list[dict[str, Any]] = []
        if after is not None:
            group.append(
                {"field": {"api_name": "id"}, "comparator": "greater_than", "value": str(after)}
            )
        if upto is not None:
            group.append(
                {"field": {"api_name": "id"}, "comparator": "less_equal", "value": str(upto)}
            )
        if self._since is not None:
            group.append(
                {
                    "field": {"api_name": REPLICATION_KEY},
                    "comparator": "greater_equal",
                    "value": format_utc(self._since),
                }
            )
        if self._before is not None:
            group.append(
                {
                    "field": {"api_name": REPLICATION_KEY},
                    "comparator": "less_than",
                    "value": format_utc(self._before),
                }
            )
        if not group:
            return None
        return group[0] if len(group) == 1 else {"group_operator": "and", "group": group}

    def _exported(self) -> list[str]:
        exported = self.fields.exported
        if self._converted_column and self._converted_column not in exported:
            exported = [*exported, self._converted_column]
        return exported

    def _add_picklists(self) -> None:
        """Multi-select picklists' values, asked once when the catalog predates them.

        `MultiValueDecoder` splits a cell by them; a catalog discovered before they were kept
        (or passed through a tool that drops ``x-zoho-*`` keys) lacks them, which would send
        every cell holding a separator to a read by id. One ``settings/fields`` call (1
        credit) instead; unreadable, the cells are decoded without them (correct, dearer).
        """
        props = self._schema.get("properties", {})
        lacking = [
            name
            for name in self.fields.scalars
            if props.get(name, {}).get(DATA_TYPE) == "multiselectpicklist"
            and PICK_LIST_VALUES not in props[name]
        ]
        if not lacking:
            return
        try:
            response = self._client.get("settings/fields", params={"module": self._module})
        except ZohoAPIError as exc:
            self._logger.info(
                "%s: no picklists for the Bulk Read CSV (%s %s)", self._module, exc.status, exc.code
            )
            return
        entries = [] if response.is_empty else response.items("fields")
        found = {str(e.get("api_name")): pick_list_values(e) for e in entries}
        properties = dict(props)
        for name in lacking:
            if name in found:
                properties[name] = {**props[name], PICK_LIST_VALUES: found[name]}
        self._schema = {**self._schema, "properties": properties}

    def _add_paths(self) -> None:
        """Dot paths for the lookups whose target's display field Zoho names (`DisplayFields`)."""
        if not self.fields.targets:
            return
        known = display_fields_for(self._client)
        display = {target: known.of(target, self._logger) for target in self.fields.targets}
        self.fields = self.fields.with_paths(self._schema, display)

    def create_job(
        self, after: int | None, upto: int | None = None
    ) -> tuple[str, dt.datetime | None]:
        """Create the job of ids in (``after``, ``upto``]: its id and Zoho's created_time."""
        query: dict[str, Any] = {
            "module": {"api_name": self._module},
            "fields": self._exported(),
            "page": 1,
        }
        criteria = self._criteria(after, upto)
        if criteria is not None:
            query["criteria"] = criteria
        try:
            response = self._client.post_json(BULK_PATH, {"query": query, "file_type": "csv"})
        except (ZohoModuleUnavailableError, ZohoAuthError) as exc:
            raise BulkUnavailableError(f"Zoho refused the Bulk Read job ({exc})") from None
        except ZohoAPIError as exc:
            if _is_job_limit(exc):
                raise _TooManyJobsError(f"{exc.status} {exc.code}") from None
            if exc.status in {400, 403, 404}:
                raise BulkUnavailableError(
                    f"Zoho refused the Bulk Read job ({exc.status} {exc.code})"
                ) from None
            raise
        entries = response.items("data")
        details = entries[0].get("details") if entries else None
        if not isinstance(details, dict) or not details.get("id"):
            raise BulkUnavailableError("Zoho's answer to the Bulk Read job named no job id")
        created = details.get("created_time")
        try:
            instant = parse_instant(str(created)) if created else None
        except ValueError:
            instant = None
        return str(details["id"]), instant

    def create_when_free(
        self, after: int | None, upto: int | None, own: list[str]
    ) -> tuple[str, dt.datetime | None]:
        """`create_job`, waiting while Zoho refuses it for too many jobs in progress.

        ``own``: the load's jobs that may still be in progress; each is polled until it
        completes (taken off the list) before the create is tried again. With none left (jobs
        of others hold the slots), waits back off, bounded by `JOB_LIMIT_RETRIES` and
        `JOB_LIMIT_WAIT_MAX_S`; then `BulkUnavailableError` (the load falls back).
        """
        delay, tries, started = POLL_FIRST_S, 0, time.monotonic()
        while True:
            try:
                return self.create_job(after, upto)
            except _TooManyJobsError as exc:
                refusal = str(exc)
            if own:
                self._await_completed(own.pop(0))
                continue
            if tries >= JOB_LIMIT_RETRIES or time.monotonic() - started >= JOB_LIMIT_WAIT_MAX_S:
                raise BulkUnavailableError(
                    f"Zoho refused a Bulk Read job for too many jobs in progress ({refusal}), "
                    f"still after {tries} tries over {time.monotonic() - started:.0f} s"
                )
            time.sleep(delay)
            tries += 1
            delay = min(delay * 2, POLL_LONGEST_S)

    def _try_create(self, after: int | None, upto: int | None) -> str | None:
        """A job created ahead, or None when Zoho holds too many in progress (not needed yet)."""
        try:
            return self.create_job(after, upto)[0]
        except _TooManyJobsError as exc:
            self._logger.info(
                "%s: Zoho holds too many Bulk Read jobs in progress (%s); the next one is "
                "created once one of them is read",
                self._module,
                exc,
            )
            return None

    def _await_completed(self, job_id: str) -> None:
        """Poll one of the load's jobs until it is no longer in progress (any end)."""
        # Gone or failed: not in progress either; its chunk meets that when it is read.
        with contextlib.suppress(_JobGoneError, BulkUnavailableError):
            self.wait(job_id)

    def wait(self, job_id: str) -> JobResult:
        """Poll a job until it completes (backing off); raise for FAILURE, gone or too long."""
        delay, waited = POLL_FIRST_S, 0.0
        while True:
            try:
                response = self._client.get(f"{BULK_PATH}/{job_id}")
            except ZohoAPIError as exc:
                if exc.status == 404:
                    raise _JobGoneError(job_id) from None
                raise
            entries = response.items("data")
            job = entries[0] if entries else {}
            state = str(job.get("state") or "")
            raw = job.get("result")
            result: dict[str, Any] = raw if isinstance(raw, dict) else {}
            if state == "COMPLETED":
                per_page = result.get("per_page")
                return JobResult(
                    count=int(result.get("count") or 0),
                    per_page=per_page if isinstance(per_page, int) and per_page > 0 else None,
                    more_records=bool(result.get("more_records")),
                    download_url=str(result.get("download_url") or f"{BULK_PATH}/{job_id}/result"),
                )
            if state == "FAILURE":
                error = result.get("error_message") or {}
                code = error.get("code") if isinstance(error, dict) else None
                raise BulkUnavailableError(f"Bulk Read job {job_id} ended in FAILURE ({code})")
            if waited >= JOB_WAIT_MAX_S:
                raise BulkUnavailableError(
                    f"Bulk Read job {job_id} did not complete in {JOB_WAIT_MAX_S / 3600:.0f} h"
                )
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, POLL_LONGEST_S)

    def download(self, url: str, sink: Any) -> None:
        """Download a result into ``sink`` (paced; a 404 means the result expired)."""
        self._pacer.wait_turn()
        path = url if url.startswith("/crm/") else "/" + url.split("/crm/", 1)[-1]
        if not path.startswith("/crm/"):
            path = "/crm/" + path.lstrip("/")
        try:
            self._client.download(path, sink)
        except ZohoAPIError as exc:
            if exc.status == 404:
                raise _JobGoneError(url) from None
            raise

    # -- the load -------------------------------------------------------------------------

    def pages(self) -> Iterator[Records | Effect]:
        """Pages of records of every chunk, then the step that hands over to the walk.

        Raises `BulkUnavailableError` (before or between pages) when Get Records must take over.
        """
        saved = self.progress.saved
        self._add_paths()
        self._add_picklists()
        job_id: str | None
        if saved is None:
            job_id, created = self.create_when_free(None, None, [])
            # Without Zoho's created_time, the local clock less a margin for skew: the walk
            # then re-reads that much, and loses nothing to a clock ahead of Zoho's.
            self.instant = created or (
                dt.datetime.now(dt.UTC).replace(microsecond=0) - INSTANT_MARGIN_WITHOUT_ZOHO_TIME
            )
            instant = self.instant
            yield Effect(partial(self.progress.begin, instant, job_id))
            yield Effect(self._write_state)
            current: _Chunk = {"job": job_id, "after": None, "upto": None}
            done = _Done(None, None)
            queue: list[_Chunk] = []
            ranges: list[_Range] | None = None
            self._logger.info(
                "%s: initial load through Bulk Read (export instant %s)",
                self._module,
                format_utc(instant),
            )
        else:
            self.instant = parse_instant(str(saved["instant"]))
            current = {
                "job": saved.get("job"),
                "after": saved.get("after"),
                "upto": saved.get("upto"),
            }
            done = _Done(saved.get("emitted"), saved.get("row"))
            queue = queued(saved.get("next"))
            saved_ranges = saved.get("ranges")
            ranges = [list(r) for r in saved_ranges] if isinstance(saved_ranges, list) else None
            self._logger.info(
                "%s: resuming the Bulk Read load (job %s, ids after %s up to %s, sent up to row "
                "%s, id %s)",
                self._module,
                current["job"],
                current["after"],
                current["upto"],
                done.row,
                done.last_id,
            )
        self._saw_converted = bool(saved and saved.get("converted_seen"))
        while current.get("job") is not None:
            current, queue, ranges = yield from self._chunk(current, done, queue, ranges)
            done = _Done(None, None)
        self._check_converted()
        yield Effect(self.progress.clear)

    def _check_converted(self) -> None:
        """Fall back if the export left converted leads out (one count, for Leads only).

        An export holding a converted lead shows that Bulk Read exports them; one holding none
        while Zoho counts some shows it does not (or, without the column, cannot tell).
        """
        if self._module not in CONVERTED_PARAM_MODULES or self._saw_converted:
            return
        response = self._client.get(f"{self._module}/actions/count", params={"converted": "true"})
        count = response.body.get("count") if not response.is_empty else 0
        if isinstance(count, int | str) and int(count) > 0:
            raise BulkUnavailableError(
                f"the export holds no converted record, and Zoho counts {int(count)}"
            )

    def _chunk(
        self,
        current: _Chunk,
        done: _Done,
        queue: list[_Chunk],
        ranges: list[_Range] | None,
    ) -> Generator[Records | Effect, None, tuple[_Chunk, list[_Chunk], list[_Range] | None]]:
        """Emit one job's rows, with the jobs after it created ahead; returns what is next."""
        job_id, after, upto = str(current["job"]), current.get("after"), current.get("upto")
        with tempfile.TemporaryFile(prefix="zoho-bulk-") as archive:
            for attempt in range(2):
                try:
                    result = self.wait(job_id)
                    self.download(result.download_url, archive)
                    break
                except _JobGoneError:
                    if attempt:
                        raise BulkUnavailableError(
                            f"Bulk Read job {job_id} was gone again right after it was created"
                        ) from None
                    self._logger.warning(
                        "%s: Bulk Read job %s is no longer kept (expired); creating it again",
                        self._module,
                        job_id,
                    )
                    job_id = self.create_when_free(
                        after, upto, [str(chunk["job"]) for chunk in queue]
                    )[0]
                    # Another file: its rows are skipped by id (if ordered), not by position.
                    done = _Done(done.last_id, None)
                    yield Effect(partial(self.progress.replace_job, job_id))
                    yield Effect(self._write_state)
            archive.seek(0)
            header, last_id, ordered, chosen, book = self._survey(archive)
            if self._saw_converted:
                yield Effect(self.progress.saw_converted)
            if result.more_records and last_id is not None:
                if not ordered:
                    raise BulkUnavailableError(
                        "the Bulk Read result is not in ascending id order, which reading it "
                        "in several jobs needs"
                    )
                if not (queue and queue[0].get("after") == last_id):  # not followed yet
                    queue, ranges = self._follow(last_id, upto, result.per_page, queue, ranges)
                    yield Effect(partial(self.progress.plan, list(queue), ranges))
                    yield Effect(self._write_state)
            while len(queue) < JOBS_AHEAD and ranges:
                low, high = ranges[0]
                # Ahead, a refusal waits for nothing (the jobs queued are read first); with
                # none queued, this job is the next one read: waited for (`create_when_free`).
                ahead = self._try_create(low, high) if queue else None
                if ahead is None and queue:
                    break
                if ahead is None:
                    ahead = self.create_when_free(low, high, [])[0]
                queue = [*queue, {"job": ahead, "after": low, "upto": high}]
                ranges = ranges[1:]
                yield Effect(partial(self.progress.plan, list(queue), ranges))
                yield Effect(self._write_state)
            archive.seek(0)
            with self._learner(book, chosen) as learner:
                yield from self._emit(archive, header, learner, done.skips(ordered=ordered))
        if book.missing:
            self._logger.warning(
                "%s: %d lookup or tag value(s) of job %s were no longer on any record read "
                "by id (changed meanwhile); emitted with their id or name only",
                self._module,
                book.missing,
                job_id,
            )
        yield Effect(self.progress.move_on)
        yield Effect(self._write_state)
        if not queue:
            return {"job": None}, [], ranges
        return queue[0], queue[1:], ranges

    def _follow(
        self,
        last_id: int,
        upto: int | None,
        per_page: int | None,
        queue: list[_Chunk],
        ranges: list[_Range] | None,
    ) -> tuple[list[_Chunk], list[_Range] | None]:
        """What follows a job that held less than its ids: (jobs ahead, ranges without a job).

        A range that grew past one job goes on at once with a job for its rest. The open end
        (the first job, or one whose range was never planned) is cut into ranges of one job
        each (`_plan_ranges`), whose jobs then run ahead, `JOBS_AHEAD` at a time.
        """
        if upto is not None:
            job_id = self.create_when_free(last_id, upto, [str(c["job"]) for c in queue])[0]
            following = {"job": job_id, "after": last_id, "upto": upto}
            return [following, *queue], ranges
        return queue, [*(ranges or []), *self._plan_ranges(last_id, per_page or RECORDS_PER_JOB)]

    def create_jobs(self, ranges: Sequence[_Range]) -> tuple[dt.datetime, list[_Chunk]]:
        """A job for each id range, created now: (the export instant, the chunks with jobs).

        For the Spark bridge, which reads each chunk in a partition of its own
        (`BulkProgress.begin_chunk`). The instant is the earliest job's ``created_time``
        (Zoho's clock): every export is taken at or after it, so a row modified before it is
        in its job's export as it last was, and a change after it is stamped at or after it.
        Raises `BulkUnavailableError` when Zoho refuses a job.
        """
        self._add_paths()
        chunks: list[_Chunk] = []
        created: list[dt.datetime] = []
        #: Jobs created and not yet seen complete: a create refused for too many jobs in
        #: progress waits for them, oldest first (`create_when_free`).
        running: list[str] = []
        for low, high in ranges:
            job_id, at = self.create_when_free(low, high, running)
            running.append(job_id)
            chunks.append({"job": job_id, "after": low, "upto": high})
            if at is not None:
                created.append(at)
        if chunks and len(created) == len(chunks):
            return min(created), chunks
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return now - INSTANT_MARGIN_WITHOUT_ZOHO_TIME, chunks

    def plan_ranges(self, size: int) -> list[_Range]:
        """Id ranges of ``size`` records each over the whole load, the last one open."""
        return self._plan_ranges(None, size)

    def _plan_ranges(self, after: int | None, size: int) -> list[_Range]:
        """Id ranges after ``after`` (None: the first id) of ``size`` records each, the last open.

        Each bound is the id ``size`` records on (COQL ``order by id`` with an offset, hopping
        by the 100,000 rows an offset reaches; 1 credit a call). Without COQL (no scope, an
        error), one open range: its jobs then follow one another.
        """
        bounds: list[int] = []
        cursor = after or 0  # ids are positive
        try:
            while len(bounds) < MAX_RANGES:
                found = self._id_at_rank(cursor, size)
                if found is None:
                    break
                bounds.append(found)
                cursor = found
        except ZohoAPIError as exc:
            self._logger.info(
                "%s: no COQL to cut the Bulk Read load in ranges (%s %s); its jobs follow one "
                "another",
                self._module,
                exc.status,
                exc.code,
            )
        edges: list[int | None] = [after, *bounds, None]
        return [[low, high] for low, high in pairwise(edges)]

    def _id_at_rank(self, after: int, rank: int) -> int | None:
        """The id ``rank`` records after id ``after`` (by id), if more records follow it."""
        while rank > COQL_REACH:
            hop = self._id_at_offset(after, COQL_REACH - 1)
            if hop is None or not hop[1]:
                return None
            after, rank = hop[0], rank - COQL_REACH
        found = self._id_at_offset(after, rank - 1)
        # The very last record bounds nothing: the open range after the bounds holds it.
        return found[0] if found is not None and found[1] else None

    def _id_at_offset(self, after: int, offset: int) -> tuple[int, bool] | None:
        """(id at ``offset`` after id ``after``, whether more follow), or None past the end."""
        where = f"id > {after}"
        if self._since is not None:
            where = f"({where} and {REPLICATION_KEY} >= '{format_utc(self._since)}')"
        if self._before is not None:
            where = f"({where} and {REPLICATION_KEY} < '{format_utc(self._before)}')"
        # A module API name, integers and an instant: nothing user-supplied.
        query = f"select id from {self._module} where {where} order by id asc"  # noqa: S608
        query = f"{query} limit 1 offset {offset}"
        response = self._client.post_json("coql", {"select_query": query})
        rows = [] if response.is_empty else response.items("data")
        if not rows or rows[0].get("id") is None:
            return None
        return int(rows[0]["id"]), bool(response.info.get("more_records"))

    def _survey(
        self, archive: Any
    ) -> tuple[list[str], int | None, bool, list[tuple[int, int]], ReferenceBook]:
        """First pass: header, last id, whether ids ascend, and the records to read by id.

        Records are chosen to carry each lookup id and tag name once (`ReferenceBook`), among
        every row (on a resumed chunk, rows already sent may be chosen: a few calls more).
        """
        rows = csv_rows(archive)
        header = next(rows, None)
        if header is None:
            return [], None, True, [], ReferenceBook((), ())
        converter = self._converter(header)
        unnamed = [
            name for name, _path, _columns in self.fields.paths if name not in converter.named
        ]
        if unnamed:
            self._logger.info(
                "%s: the Bulk Read result has no dot-path column for %s; their names are read "
                "by id",
                self._module,
                ", ".join(unnamed),
            )
        book = ReferenceBook(
            tuple(name for name in self.fields.references if name not in converter.named),
            self.fields.name_lists,
        )
        chosen: list[tuple[int, int]] = []
        last: int | None = None
        ordered = True
        wanted = bool(book.references or book.name_lists)
        marker = header.index(self._converted_column) if self._converted_column in header else None
        for position, row in enumerate(rows):
            if marker is not None and not self._saw_converted and boolean_cell(row[marker]) is True:
                self._saw_converted = True
            record_id = int(row[converter.id_index])
            if last is not None and record_id <= last:
                ordered = False
            last = record_id if last is None or record_id > last else last
            if wanted and book.needs(converter.cells(row)):
                chosen.append((position, record_id))
        return header, last, ordered, chosen, book

    def _converter(self, header: Sequence[str]) -> RowConverter:
        converter = RowConverter(
            self._schema, self.fields, header, truncate_rich_text=self._truncate
        )
        if converter.absent:
            raise BulkUnavailableError(
                f"the Bulk Read result lacks the column(s) {', '.join(converter.absent[:5])}"
            )
        return converter

    def _learner(self, book: ReferenceBook, chosen: list[tuple[int, int]]) -> _Learner:
        """Reads the chosen records by id (reference fields only) into the book, in CSV order."""
        names = [*book.references, *book.name_lists]
        step = FIELDS_PER_CALL - 1
        return _Learner(
            book,
            chosen,
            [["id", *names[i : i + step]] for i in range(0, len(names), step)],
            self._fetch_by_ids,
            self._client.concurrency() if chosen else 1,
        )

    def _emit(
        self,
        archive: Any,
        header: list[str],
        learner: _Learner,
        skip: Callable[[int, int], bool],
    ) -> Iterator[Records | Effect]:
        """Second pass: rows not sent yet, modified before the export instant, as records.

        A row waits only for the reads by id of the chosen rows up to its own (the objects it
        needs were chosen there), so emitting starts with the first answers.
        """
        if not header:
            return
        rows = csv_rows(archive)
        next(rows)
        converter = self._converter(header)
        assert self.instant is not None  # noqa: S101 - set before any chunk
        cut = format_utc(self.instant)
        book = learner.book
        page: Records = []
        positions: dict[int, int] = {}
        undecided: dict[int, list[str]] = {}
        for position, row in enumerate(rows):
            record_id = int(row[converter.id_index])
            if skip(position, record_id):
                continue
            learner.cover(position)
            unsplit: list[str] = []
            record = self._normalise(converter.scalars(row, unsplit))
            modified = record.get(REPLICATION_KEY)
            if isinstance(modified, str) and modified >= cut:
                continue  # changed since the export began: the walk reads it
            record.update(converter.objects(row, book))
            page.append(record)
            positions[record_id] = position
            if unsplit:
                undecided[record_id] = unsplit
            if len(page) >= PAGE_RECORDS:
                yield from self._hand_over(page, positions, undecided)
                page, positions, undecided = [], {}, {}
        if page:
            yield from self._hand_over(page, positions, undecided)

    def _read_undecided(self, page: Records, undecided: dict[int, list[str]]) -> None:
        """Multi-select picklists whose cells could not be split one way only, read by id.

        One call (1 credit) per 100 such records of a page; only they are read, and only
        those fields (`MultiValueDecoder` says when: a value holding a separator another
        value reading also fits, or a value not in the field's picklist).
        """
        fields = sorted({name for names in undecided.values() for name in names})
        ids = list(undecided)
        by_id = {int(record["id"]): record for record in page}
        step = FIELDS_PER_CALL - 1
        read: set[int] = set()
        for start in range(0, len(ids), IDS_PER_CALL):
            batch = ids[start : start + IDS_PER_CALL]
            for i in range(0, len(fields), step):
                for row in self._fetch_by_ids((["id", *fields[i : i + step]], batch)):
                    record = by_id.get(int(row["id"]))
                    if record is None:
                        continue
                    read.add(int(row["id"]))
                    for name in undecided.get(int(row["id"]), []):
                        if name in row:
                            record[name] = row[name]
        gone = len(set(ids) - read)
        if gone:
            self._logger.warning(
                "%s: %d record(s) vanished while their multi-select picklists were read by "
                "id (deleted meanwhile?); emitted with those fields null",
                self._module,
                gone,
            )

    def _hand_over(
        self, page: Records, positions: dict[int, int], undecided: dict[int, list[str]]
    ) -> Iterator[Records | Effect]:
        if undecided:
            self._read_undecided(page, undecided)
        records = self._finish_page(page)
        yield Effect(partial(self._enter, positions))
        yield records
        yield Effect(self._leave)

    def _enter(self, positions: dict[int, int]) -> None:
        self._positions = positions

    def _leave(self) -> None:
        self._positions = None

    def account(self, record: dict[str, Any]) -> bool:
        """Record an emitted record of the load; False when the load is not emitting."""
        positions = self._positions
        if positions is None:
            return False
        record_id = int(record["id"])
        self.progress.account(record_id, positions[record_id])
        return True
