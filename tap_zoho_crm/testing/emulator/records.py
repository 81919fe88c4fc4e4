"""Get Records and its siblings: single record, record count, deleted records.

Every documented rule of the spec's section 5 and 6 is enforced here, in the order Zoho checks
them as far as it is known: module, required params, limits, ambiguity, then data.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

from .errors import ApiError, invalid_data, invalid_module, required_param
from .http import JSON_TYPE, Context, Request, Response
from .metadata import ModuleDef
from .org import Org
from .paging import DISCRETE_LIMIT, page_info, window
from .rendered import list_body
from .store import ModuleStore
from .timefmt import parse_datetime

MAX_FIELDS = 50
MAX_IDS = 100
SORTABLE = ("id", "Created_Time", "Modified_Time")
LIGHT_FIELDS = {"id", "Created_Time", "Modified_Time"}


def readable_module(org: Org, module: str) -> ModuleDef:
    """The module if Get Records may read it in this org, else Zoho's INVALID_MODULE."""
    mdef = org.modules.get(module)
    if mdef is None or not (org.readable(mdef) or (mdef.fields_204 and mdef.api_supported)):
        raise invalid_module(module)
    return mdef


def if_modified_since(req: Request) -> int | None:
    """The inclusive lower bound (epoch seconds) the If-Modified-Since header sets, if any.

    Times are whole seconds, so the exclusive reading (``>``) is the inclusive one a second on.
    """
    raw = req.header("If-Modified-Since")
    if raw is None or not raw.strip():
        return None
    try:
        return parse_datetime(raw) + (1 if req.since_exclusive else 0)
    except ValueError:
        raise invalid_data(
            "If-Modified-Since must be an ISO-8601 datetime with an offset",
            header_name="If-Modified-Since",
        ) from None


def field_names(req: Request, *, required: bool) -> list[str] | None:
    raw = req.arg("fields")
    if raw is None or not raw.strip():
        if required:
            raise required_param("fields")
        return None
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    if len(names) > MAX_FIELDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"fields limit exceeded: at most {MAX_FIELDS} field names are allowed",
            {"param_name": "fields", "limit": MAX_FIELDS},
        )
    return names


def check_fields(mdef: ModuleDef, names: list[str], extra: tuple[str, ...] = ()) -> None:
    for name in names:
        if mdef.field(name) is None and name not in extra:
            raise invalid_data(
                "invalid field name given in fields", param_name="fields", api_name=name
            )


def choice(req: Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = req.arg(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise ApiError(
            400,
            "INVALID_DATA",
            f"invalid value for {name}",
            {"param_name": name, "supported_values": list(allowed)},
        )
    return value


def parse_ids(req: Request) -> list[str] | None:
    raw = req.arg("ids")
    if raw is None or not raw.strip():
        return None
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    for rid in ids:
        if not rid.isdigit():
            raise invalid_data("invalid id given in ids", param_name="ids", id=rid)
    if len(ids) > MAX_IDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"at most {MAX_IDS} ids are allowed",
            {"param_name": "ids", "limit": MAX_IDS},
        )
    return ids


def sort_params(req: Request) -> tuple[str, str]:
    if req.has("cvid") and req.has("sort_by"):
        raise ApiError(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            "cvid and sort_by cannot be given together",
            {"ambiguity_due_to": ["cvid", "sort_by"]},
        )
    cvid = req.arg("cvid")
    if cvid is not None and not cvid.isdigit():
        raise invalid_data("invalid custom view id", param_name="cvid")
    sort_by = choice(req, "sort_by", "id", SORTABLE)
    order = choice(req, "sort_order", "desc", ("asc", "desc"))
    return sort_by, order


def select(
    store: ModuleStore,
    ids: list[str] | None,
    *,
    sort_by: str,
    order: str,
    converted: str,
    since: int | None,
) -> Sequence[int]:
    """Indices of the matching live records in the requested order."""
    if ids is None:
        return store.ordered(sort_by, order == "desc", converted, since)
    org = store.env
    found = []
    for rid in ids:
        hit = org.find(store.mdef.api_name, rid)
        if hit is None:
            continue
        index = hit[1]
        if since is not None and store.modified(index) < since:
            continue
        if (
            store.mdef.convertible
            and converted != "both"
            and store.converted(index) != (converted == "true")
        ):
            continue
        found.append(index)
    if sort_by == "Modified_Time":
        found.sort(key=lambda i: (store.modified(i), i))
    else:
        found.sort()
    if order == "desc":
        found.reverse()
    return found


def shuffled_ties(
    store: ModuleStore, result: Sequence[int], position: int, limit: int, seed: float
) -> list[int]:
    """The page at ``position`` once every tie it touches is shuffled (a fresh order per call).

    Only the ties that overlap the page are shuffled, so this costs the size of those ties,
    not of the whole result.
    """
    end = min(position + limit, len(result))
    if position >= end:
        return []
    first, last = position, end - 1
    while first > 0 and store.modified(result[first - 1]) == store.modified(result[position]):
        first -= 1
    while last + 1 < len(result) and store.modified(result[last + 1]) == store.modified(
        result[end - 1]
    ):
        last += 1
    span = result[first : last + 1]
    rng = random.Random(seed)
    out: list[int] = []
    for _, group in itertools.groupby(span, key=store.modified):
        members = list(group)
        rng.shuffle(members)
        out.extend(members)
    return out[position - first : end - first]


def get_records(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    org = emu.org
    module = req.params["module"]
    mdef = readable_module(org, module)
    if module == "Notes" and not org.is_admin(req.user_id):
        raise ApiError(403, "NOT_SUPPORTED", "This API is supported only for admin users.", {})
    names = field_names(req, required=True)
    assert names is not None  # noqa: S101 - required=True
    sort_by, order = sort_params(req)
    converted = choice(req, "converted", "false", ("true", "false", "both"))
    approved = choice(req, "approved", "true", ("true", "false", "both"))
    ids = parse_ids(req)
    since = if_modified_since(req)
    now = emu.clock.timestamp()
    renderer = org.renderer(req.user_id)
    win = window(req, emu.page_tokens, now, since, reach=emu.faults.page_token_reach)
    if mdef.fields_204:
        return Response.empty(204)
    check_fields(mdef, names)
    store = org.stores[module]
    result = (
        []
        if approved == "false"
        else select(store, ids, sort_by=sort_by, order=order, converted=converted, since=since)
    )
    if not result:
        return Response.empty(304 if since is not None else 204)
    if emu.faults.unstable_tie_order and sort_by == "Modified_Time":
        chunk = shuffled_ties(store, result, win.position, win.limit, emu.faults.roll())
    else:
        chunk = list(result[win.position : win.position + win.limit])
    if not chunk:
        return Response.empty(204)
    light = set(names) <= LIGHT_FIELDS
    rows = org.rendered.rows(store, renderer, mdef, names, chunk, light=light)
    req.answered = tuple(record_id for _, record_id in rows)
    info = page_info(
        req,
        emu.page_tokens,
        win,
        count=len(chunk),
        total=len(result),
        since=since,
        fmt_dt=renderer.dt,
        with_tokens=not (
            emu.faults.records_token_from_page_10
            and not win.token_mode
            and win.position + len(chunk) < DISCRETE_LIMIT
        ),
    )
    info = {
        "call": False,
        **info,
        "sort_by": sort_by,
        "sort_order": order,
        "email": False,
    }
    return Response(200, list_body(rows, info), {"Content-Type": JSON_TYPE})


def get_record(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    module = req.params["module"]
    mdef = readable_module(org, module)
    record_id = req.params["id"]
    names = field_names(req, required=False)
    if names is not None:
        check_fields(mdef, names)
    if mdef.fields_204:
        return Response.empty(204)
    found = org.find(module, record_id)
    if found is None:
        if ctx.emu.faults.unknown_id_answers_400:
            raise invalid_data("the id given seems to be invalid", resource_path_index=1)
        return Response.empty(204)
    store, index = found
    rec = org.renderer(req.user_id).record(mdef, store.record(index) or {}, names, single=True)
    return Response.json(200, {"data": [rec]})


def record_count(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    module = req.params["module"]
    mdef = readable_module(org, module)
    converted = choice(req, "converted", "false", ("true", "false", "both"))
    approved = choice(req, "approved", "true", ("true", "false", "both"))
    if mdef.fields_204 or approved == "false":
        return Response.json(200, {"count": 0})
    store = org.stores[module]
    return Response.json(200, {"count": len(store.ordered("id", False, converted, None))})


def deleted_records(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    org = emu.org
    module = req.params["module"]
    mdef = readable_module(org, module)
    missing = emu.faults.no_deleted_list.get(module)
    if missing is not None:
        status = {"INVALID_URL_PATTERN": 404, "INVALID_MODULE": 400}.get(missing, 403)
        raise ApiError(status, missing, "The module has no deleted-records list", {})
    kind = req.arg("type") or "all"
    if kind not in ("all", "recycle", "permanent"):
        raise ApiError(
            400,
            "PATTERN_NOT_MATCHED",
            "Please check whether the input values are correct",
            {"param_name": "type", "expected_values": ["all", "recycle", "permanent"]},
        )
    since = if_modified_since(req)
    now = emu.clock.timestamp()
    tokens = not emu.faults.deleted_without_page_token
    win = window(
        req, emu.page_tokens, now, since, with_tokens=tokens, reach=emu.faults.page_token_reach
    )
    if mdef.fields_204:
        return Response.empty(204)
    store = org.stores[module]
    entries = [
        e
        for e in store.deleted_entries(now)
        if (kind == "all" or e["type"] == kind) and (since is None or e["deleted_time"] >= since)
    ]
    if not entries:
        return Response.empty(304 if since is not None else 204)
    if emu.faults.deleted_oldest_first:
        entries.sort(key=lambda e: (e["deleted_time"], e["index"]))
    else:
        entries.sort(key=lambda e: e["index"], reverse=True)
    chunk = entries[win.position : win.position + win.limit]
    if not chunk:
        return Response.empty(204)
    r = org.renderer(req.user_id)
    data: list[dict[str, Any]] = [org.deleted_json(store, e, r) for e in chunk]
    info = page_info(
        req,
        emu.page_tokens,
        win,
        count=len(chunk),
        total=len(entries),
        since=since,
        fmt_dt=r.dt,
        with_tokens=tokens,
    )
    return Response.json(200, {"data": data, "info": info})
