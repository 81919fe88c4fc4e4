"""Bulk Read: create a job, poll its state machine, download a zip holding one CSV.

A job moves one state per poll (ADDED -> IN PROGRESS -> COMPLETED by default; see
``ZohoEmulator.bulk_polls_to_complete``); its records are captured when it completes, in
ascending id order. Downloads are throttled to 10 per minute, as Zoho documents. A job exports
at most ``ZohoEmulator.bulk_records_per_job`` records (Zoho: 200,000); the next chunk is a new
job with ``page: 2`` or with ``page_token`` set to the result's ``next_page_token`` (valid
24 h). Jobs and results are kept ``ZohoEmulator.bulk_retention_s`` (24 h), then answer 404
``RESOURCE_NOT_FOUND`` (or, under the ``bulk_expired_status_kept`` switch, only the download).

``fields`` may name ``Lookup.Field`` dot paths (section 10): a lookup (or consent lookup) of the
module, then a field of the module it points at; the column holds that field of the looked-up
record (empty when the row has no lookup). Anything else is 400 ``INVALID_DATA``, as for an
unknown field. How the column is named and what an empty lookup's cell holds are switches
(``Faults.bulk_dot_path_header``, ``Faults.bulk_dot_path_empty``).
"""

from __future__ import annotations

import csv
import io
import json
import random
import threading
import zipfile
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .coql import Condition, rows_for
from .errors import ApiError, invalid_data, invalid_module, required_param
from .http import Context, Request, Response
from .ids import SLOT_BULK, make_id
from .metadata import SINGLE_RECORD_ONLY, FieldDef, ModuleDef
from .org import Org
from .render import Renderer

PER_JOB = 200_000
RETENTION_S = 86_400
PAGE_TOKEN_TTL_S = 86_400
DOWNLOADS_PER_MINUTE = 10
COMPARATORS = {
    "equal": "=",
    "not_equal": "!=",
    "greater_than": ">",
    "greater_equal": ">=",
    "less_than": "<",
    "less_equal": "<=",
    "between": "between",
    "in": "in",
    "not_in": "not in",
}


@dataclass
class Job:
    id: str
    module: str
    fields: list[str]
    conditions: list[Condition]
    page: int
    query: dict[str, Any]
    created_time: int
    user_id: str
    state: str = "ADDED"
    polls: int = 0
    count: int = 0
    more_records: bool = False
    offset: int = 0
    next_page_token: str | None = None
    archive: bytes = b""
    error: dict[str, Any] | None = None


@dataclass
class BulkJobs:
    jobs: dict[str, Job] = field(default_factory=dict)
    downloads: deque[float] = field(default_factory=deque)
    #: page_token -> (offset it continues at, (module, criteria) it is bound to, issued at).
    tokens: dict[str, tuple[int, tuple[str, str], float]] = field(default_factory=dict)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Most jobs in progress at once (created, not COMPLETED or FAILURE), and the creates
    #: refused for ``Faults.bulk_jobs_limit``: what tests of that switch read.
    peak_in_progress: int = 0
    refused: int = 0

    def in_progress(self, now: float, retention_s: float) -> int:
        """Jobs created and not yet COMPLETED or FAILURE (nor expired)."""
        return sum(
            1
            for job in self.jobs.values()
            if job.state not in ("COMPLETED", "FAILURE") and now - job.created_time <= retention_s
        )


def _conditions(criteria: Any) -> list[Condition]:
    if not criteria:
        return []
    if not isinstance(criteria, dict):
        raise invalid_data("criteria must be an object", api_name="criteria")
    if "group" in criteria:
        if criteria.get("group_operator", "and").lower() != "and":
            raise invalid_data(
                "the emulator supports only group_operator 'and'", api_name="criteria"
            )
        out: list[Condition] = []
        for item in criteria["group"]:
            out.extend(_conditions(item))
        return out
    name = (criteria.get("field") or {}).get("api_name") or criteria.get("api_name")
    comparator = criteria.get("comparator", "")
    if name not in ("id", "Created_Time", "Modified_Time") or comparator not in COMPARATORS:
        raise invalid_data(
            "the emulator's Bulk Read criteria support id/Created_Time/Modified_Time with "
            f"{sorted(COMPARATORS)}",
            api_name="criteria",
        )
    value = criteria.get("value")
    values = value if isinstance(value, list) else [value]
    return [Condition(name, COMPARATORS[comparator], values)]


#: Fields a dot path may start from: those that point at one record of one module.
DOT_PATH_LOOKUPS = ("lookup", "consent_lookup")


@dataclass(frozen=True)
class DotPath:
    """A ``Lookup.Field`` of a job's ``fields``: the lookup, its target module, the field."""

    requested: str
    lookup: FieldDef
    target: ModuleDef
    field: FieldDef

    def header(self, reading: str) -> str:
        """The column's name under the ``bulk_dot_path_header`` reading."""
        if reading == "module":
            return f"{self.target.api_name}.{self.field.api_name}"
        if reading == "label":
            return f"{self.lookup.label}.{self.field.label}"
        return self.requested

    def cell(self, org: Org, r: Renderer, rec: dict[str, Any], empty: str, faults: Any) -> str:
        """The looked-up record's field, as CSV text; ``empty`` when the row has no lookup."""
        value = rec.get(self.lookup.api_name)
        if not value:
            return empty
        name = self.field.api_name
        if self.lookup.data_type == "consent_lookup":
            # The consent record is stored inline as what the lookup shows ({name, id}).
            if name == self.target.name_field:
                return str(value.get("name") or "")
            return str(value.get("id") or "") if name == "id" else ""
        if name == self.target.name_field:
            return org.display_name_by_id(value) or ""  # what Get Records' lookup shows
        if name == "id":
            return str(value)
        found = org.find(self.target.api_name, value)
        target = found[0].record(found[1]) if found else None
        if target is None:
            return ""
        return _cell(r.record(self.target, target, [name], single=True).get(name), faults)


def _dot_path(org: Org, mdef: ModuleDef, requested: str) -> DotPath:
    lookup_name, _, field_name = requested.partition(".")
    lookup = mdef.field(lookup_name)
    target = (
        org.modules.get(lookup.lookup)
        if lookup is not None and lookup.data_type in DOT_PATH_LOOKUPS and lookup.lookup
        else None
    )
    field_def = target.field(field_name) if target is not None else None
    if lookup is None or target is None or field_def is None:
        raise invalid_data("invalid field name in fields", api_name=requested)
    if field_def.data_type in SINGLE_RECORD_ONLY or field_def.data_type == "subform":
        raise invalid_data("invalid field name in fields", api_name=requested)
    return DotPath(requested, lookup, target, field_def)


def _module(org: Org, name: str | None) -> ModuleDef:
    if not name:
        raise required_param("module")
    mdef = org.modules.get(name)
    subform_ok = (
        mdef is not None and mdef.generated_type == "subform" and mdef.parent_module in org.stores
    )
    if mdef is None or not (org.readable(mdef) or subform_ok):
        raise invalid_module(name)
    if mdef.inventory and not org.inventory:
        raise invalid_module(name)
    return mdef


def create(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    org = emu.org
    if "application/json" not in (req.header("Content-Type") or ""):
        raise ApiError(415, "MEDIA_TYPE_NOT_SUPPORTED", "The Content-Type is not supported", {})
    try:
        body = req.json_body()
    except ValueError:
        raise invalid_data("the request body is not valid JSON") from None
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, dict):
        raise required_param("query")
    mdef = _module(org, (query.get("module") or {}).get("api_name"))
    if mdef.api_name in emu.faults.bulk_refused_modules:
        raise invalid_module(mdef.api_name)
    fields = [str(x) for x in query.get("fields") or []]
    for name in fields:
        if "." in name:
            _dot_path(org, mdef, name)
        elif mdef.field(name) is None:
            raise invalid_data("invalid field name in fields", api_name=name)
    file_type = body.get("file_type", "csv")
    if file_type != "csv":
        raise invalid_data("the emulator produces only csv files", api_name="file_type")
    page = int(query.get("page") or 1)
    if page < 1:
        raise invalid_data("page must be at least 1", api_name="page")
    conditions = _conditions(query.get("criteria"))
    token = query.get("page_token")
    offset = (page - 1) * emu.bulk_records_per_job
    if token:
        if query.get("page") not in (None, 1):
            raise ApiError(400, "AMBIGUITY_DURING_PROCESSING", "page and page_token given", {})
        offset = _token_offset(emu, str(token), mdef.api_name, query.get("criteria"))
    jobs = emu.bulk_jobs
    limit = emu.faults.bulk_jobs_limit
    with jobs.lock:
        running = jobs.in_progress(emu.clock.time(), emu.bulk_retention_s)
        if limit is not None and running >= limit:
            jobs.refused += 1
            emu.faults.count("bulk_jobs_limit")
            raise ApiError(
                int(emu.faults.bulk_jobs_limit_status),
                str(emu.faults.bulk_jobs_limit_code),
                f"at most {limit} bulk read jobs may be in progress at once",
                {"limit": limit},
            )
        job_id = make_id(SLOT_BULK, jobs.next_id)
        jobs.next_id += 1
        job = Job(
            job_id,
            mdef.api_name,
            fields,
            conditions,
            page,
            query,
            emu.clock.timestamp(),
            req.user_id,
        )
        job.offset = offset
        jobs.jobs[job_id] = job
        jobs.peak_in_progress = max(jobs.peak_in_progress, running + 1)
    r = org.renderer(req.user_id)
    details = {
        "id": job_id,
        "operation": "read",
        "state": job.state,
        "created_by": r.user_ref(req.user_id, email=False),
        "created_time": r.dt(job.created_time),
    }
    return Response.json(
        201,
        {
            "data": [
                {
                    "status": "success",
                    "code": "ADDED_SUCCESSFULLY",
                    "message": "Added successfully.",
                    "details": details,
                }
            ],
            "info": {},
        },
    )


def _token_offset(emu: Any, token: str, module: str, criteria: Any) -> int:
    """Where a ``page_token`` from an earlier job's result continues, bound to its query."""
    issued = emu.bulk_jobs.tokens.get(token)
    if issued is None:
        raise invalid_data("invalid page_token", api_name="page_token")
    offset, bound, at = issued
    if bound != (module, json.dumps(criteria, sort_keys=True)):
        raise ApiError(400, "TOKEN_BOUND_DATA_MISMATCH", "page_token used with other params", {})
    if emu.clock.time() - at > PAGE_TOKEN_TTL_S:
        raise ApiError(400, "EXPIRED_VALUE", "the page_token has expired", {})
    return int(offset)


def _complete(emu: Any, job: Job, failure: bool) -> None:
    if failure:
        job.state = "FAILURE"
        job.error = {
            "status": "error",
            "code": "INTERNAL_ERROR",
            "message": "the job failed; create a new one",
            "details": {},
        }
        return
    org = emu.org
    mdef = org.modules[job.module]
    rows = rows_for(org, mdef, job.conditions, [("id", False)])
    store = org.stores.get(mdef.api_name)
    if emu.faults.bulk_excludes_converted and store is not None:
        rows = [row for row in rows if not store.converted(row[1])]
    start = job.offset
    chunk = rows[start : start + emu.bulk_records_per_job]
    job.count = len(chunk)
    job.more_records = start + len(chunk) < len(rows)
    if job.more_records:
        jobs = emu.bulk_jobs
        with jobs.lock:
            job.next_page_token = f"bulk{jobs.next_id:06d}{len(jobs.tokens):06d}"
            bound = (job.module, json.dumps(job.query.get("criteria"), sort_keys=True))
            jobs.tokens[job.next_page_token] = (start + len(chunk), bound, emu.clock.time())
    columns = ["id", *[c for c in (job.fields or [f.api_name for f in mdef.fields]) if c != "id"]]
    columns = [c for c in columns if _csv_ok(mdef, c)]
    paths = {c: _dot_path(org, mdef, c) for c in columns if "." in c}
    faults = emu.faults
    if faults.bulk_rows_unordered:
        chunk = list(chunk)
        random.Random(int(job.id)).shuffle(chunk)
    r = org.renderer(job.user_id)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(
        [paths[c].header(faults.bulk_dot_path_header) if c in paths else c for c in columns]
    )
    empty = faults.bulk_dot_path_empty
    for _keys, ref in chunk:
        rec = ref if store is None else (store.record(ref) or {})
        rendered = r.record(mdef, rec, columns, single=True)
        writer.writerow(
            [
                paths[c].cell(org, r, rec, empty, faults)
                if c in paths
                else _cell(rendered.get(c), faults)
                for c in columns
            ]
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(f"{job.id}.csv", text.getvalue())
    job.archive = buffer.getvalue()
    job.state = "COMPLETED"


def _csv_ok(mdef: ModuleDef, column: str) -> bool:
    fdef = mdef.field(column)
    return fdef is None or fdef.data_type not in ("subform", "multiselectlookup", "multiuserlookup")


#: CSV booleans under each ``Faults.bulk_boolean_encoding`` reading: (true, false).
BOOLEAN_TEXTS = {
    "true/false": ("true", "false"),
    "TRUE/FALSE": ("TRUE", "FALSE"),
    "1/0": ("1", "0"),
}
#: Readings of ``Faults.bulk_multi_value_encoding``.
MULTI_VALUE_ENCODINGS = ("semicolon", "comma", "json")


def _cell(value: Any, faults: Any = None) -> str:
    """CSV encoding: lookups as their id, multi-select picklists and booleans by the switches.

    Tag and territory lists (objects) are ``;``-joined names whatever the switch.
    """
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        reading = faults.bulk_boolean_encoding if faults is not None else "true/false"
        texts = BOOLEAN_TEXTS.get(reading, BOOLEAN_TEXTS["true/false"])
        return texts[0] if value else texts[1]
    if isinstance(value, dict):
        if "id" in value:
            return str(value["id"])
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):  # a multi-select picklist
            reading = faults.bulk_multi_value_encoding if faults is not None else "semicolon"
            if reading == "json":
                return json.dumps(value, ensure_ascii=False) if value else ""
            return ("," if reading == "comma" else ";").join(value)
        parts = [
            str(v.get("name", v.get("id", ""))) if isinstance(v, dict) else str(v) for v in value
        ]
        return ";".join(parts)
    return str(value)


def _not_found() -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", "the requested resource does not exist", {})


def _job(ctx: Context, req: Request, *, download: bool = False) -> Job:
    emu = ctx.emu
    job = emu.bulk_jobs.jobs.get(req.params["job_id"])
    if job is None:
        raise _not_found()
    expired = emu.clock.time() - job.created_time > emu.bulk_retention_s
    if expired and (download or not emu.faults.bulk_expired_status_kept):
        raise _not_found()
    return job


def status(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    org = emu.org
    job = _job(ctx, req)
    if job.state not in ("COMPLETED", "FAILURE"):
        job.polls += 1
        if job.polls >= emu.bulk_polls_to_complete:
            _complete(emu, job, emu.faults.bulk_failure)
        elif job.state == "ADDED":
            job.state = "IN PROGRESS"
    r = org.renderer(req.user_id)
    entry: dict[str, Any] = {
        "id": job.id,
        "operation": "read",
        "state": job.state,
        "query": job.query,
        "created_by": r.user_ref(job.user_id, email=False),
        "created_time": r.dt(job.created_time),
        "file_type": "csv",
    }
    if job.state == "COMPLETED":
        entry["result"] = {
            "page": job.page,
            "per_page": emu.bulk_records_per_job,
            "count": job.count,
            "download_url": f"/crm/bulk/v8/read/{job.id}/result",
            "more_records": job.more_records,
            "next_page_token": job.next_page_token,
        }
        if emu.faults.bulk_result_without_per_page:
            del entry["result"]["per_page"]
    elif job.state == "FAILURE":
        entry["result"] = {"error_message": job.error}
    return Response.json(200, {"data": [entry]})


def download(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    job = _job(ctx, req, download=True)
    jobs = emu.bulk_jobs
    now = emu.clock.time()
    faults = emu.faults
    with jobs.lock:
        if faults.bulk_download_429_times > 0:
            faults.bulk_download_429_times -= 1
            faults.count("bulk_download_429")
            wait = faults.bulk_download_retry_after
            raise ApiError(
                429,
                "TOO_MANY_REQUESTS",
                "at most 10 bulk downloads per minute",
                {},
                headers={"Retry-After": str(wait)} if wait is not None else None,
            )
        while jobs.downloads and now - jobs.downloads[0] >= 60:
            jobs.downloads.popleft()
        if len(jobs.downloads) >= DOWNLOADS_PER_MINUTE:
            raise ApiError(429, "TOO_MANY_REQUESTS", "at most 10 bulk downloads per minute", {})
        jobs.downloads.append(now)
    if job.state != "COMPLETED":
        raise invalid_data("the job has not completed yet", job_id=job.id, state=job.state)
    return Response(
        200,
        job.archive,
        {
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{job.id}.zip"',
        },
    )
