"""Metadata and org endpoints: modules, fields, related lists, users, roles, profiles, org."""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid_data, invalid_module, required_param
from .http import Context, Request, Response
from .paging import int_param
from .records import choice, if_modified_since, parse_ids

USER_TYPES = (
    "AllUsers",
    "ActiveUsers",
    "DeactiveUsers",
    "ConfirmedUsers",
    "NotConfirmedUsers",
    "DeletedUsers",
    "ActiveConfirmedUsers",
    "AdminUsers",
    "ActiveConfirmedAdmins",
    "CurrentUser",
)


def modules(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    since = if_modified_since(req)
    if since is not None and max(org.module_modified.values()) < since:
        return Response.empty(304)
    entries = org.modules_json(org.renderer(req.user_id))
    return Response.json(200, {"modules": _displayed(ctx, entries)})


def _displayed(ctx: Context, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Module entries, without ``display_field`` under the ``no_display_field`` switch."""
    if not ctx.emu.faults.no_display_field:
        return entries
    return [{k: v for k, v in entry.items() if k != "display_field"} for entry in entries]


def module(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    name = req.params["module"]
    mdef = org.modules.get(name)
    if mdef is None:
        raise invalid_module(name)
    if mdef.fields_204:
        return Response.empty(204)
    entry = next(m for m in org.modules_json(org.renderer(req.user_id)) if m["api_name"] == name)
    return Response.json(200, {"modules": _displayed(ctx, [entry])})


def fields(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    name = req.arg("module")
    if not name:
        raise required_param("module")
    mdef = org.modules.get(name)
    if mdef is None or not mdef.api_supported:
        raise invalid_module(name)
    choice(req, "type", "used", ("used", "unused", "all"))
    if mdef.fields_204:
        return Response.empty(204)
    since = if_modified_since(req)
    if since is not None and org.module_modified[name] < since:
        return Response.empty(304)
    return Response.json(200, {"fields": org.fields_json(name)})


def related_lists(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    name = req.arg("module")
    if not name:
        raise required_param("module")
    mdef = org.modules.get(name)
    if mdef is None or not mdef.api_supported:
        raise invalid_module(name)
    if mdef.fields_204 or not mdef.is_record_module:
        return Response.empty(204)
    entries = [{k: v for k, v in e.items() if k != "kind"} for e in org.related_lists(name)]
    return Response.json(200, {"related_lists": entries})


def _user_matches(org: Any, user: dict[str, Any], kind: str, me: str) -> bool:
    status = user["status"]
    admin = org.profiles[user["profile"]]["name"] == "Administrator"
    live = status != "deleted"
    checks = {
        "AllUsers": live,
        "ActiveUsers": status == "active",
        "DeactiveUsers": status == "inactive",
        "ConfirmedUsers": live and user["confirm"],
        "NotConfirmedUsers": live and not user["confirm"],
        "DeletedUsers": status == "deleted",
        "ActiveConfirmedUsers": status == "active" and user["confirm"],
        "AdminUsers": live and admin,
        "ActiveConfirmedAdmins": status == "active" and user["confirm"] and admin,
        "CurrentUser": user["id"] == me,
    }
    return checks[kind]


def users(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    kind = choice(req, "type", "AllUsers", USER_TYPES)
    per_page = int_param(req, "per_page", 200, 1, 200)
    page = int_param(req, "page", 1, 1, None)
    ids = parse_ids(req)
    since = if_modified_since(req)
    matched = [
        u
        for u in sorted(org.users.values(), key=lambda u: u["id"])
        if _user_matches(org, u, kind, req.user_id)
        and (ids is None or u["id"] in ids)
        and (since is None or u["Modified_Time"] >= since)
    ]
    if not matched:
        return Response.empty(304 if since is not None else 204)
    chunk = matched[(page - 1) * per_page : page * per_page]
    if not chunk:
        return Response.empty(204)
    r = org.renderer(req.user_id)
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": page * per_page < len(matched),
    }
    return Response.json(200, {"users": [r.user(u) for u in chunk], "info": info})


def user(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    found = org.users.get(req.params["id"])
    if found is None:
        return Response.empty(204)
    return Response.json(200, {"users": [org.renderer(req.user_id).user(found)]})


def roles(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    r = org.renderer(req.user_id)
    out = []
    for role in org.roles.values():
        parent = org.roles.get(role["reporting_to"] or "")
        out.append(
            {
                "id": role["id"],
                "name": role["name"],
                "display_label": role["display_label"],
                "reporting_to": {"name": parent["name"], "id": parent["id"]} if parent else None,
                "share_with_peers": role["share_with_peers"],
                "forecast_manager": None,
                "description": role["description"],
                "admin_user": role["name"] == "CEO",
                "created_by__s": r.user_ref(org.api_user_id, email=False),
                "modified_by__s": r.user_ref(org.api_user_id, email=False),
                "created_time__s": r.dt(role["created_time"]),
                "modified_time__s": r.dt(role["modified_time"]),
            }
        )
    return Response.json(200, {"roles": out})


def profiles(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    r = org.renderer(req.user_id)
    out = [
        {
            "id": p["id"],
            "name": p["name"],
            "display_label": p["display_label"],
            "custom": p["custom"],
            "default": p["default"],
            "type": p["type"],
            "description": p["description"],
            "created_time": r.dt(p["created_time"]),
            "modified_time": r.dt(p["modified_time"]),
            "created_by": None,
            "modified_by": r.user_ref(org.api_user_id, email=False),
            "permission_type": "crm",
            "category": False,
            "delete": False,
        }
        for p in org.profiles.values()
    ]
    return Response.json(200, {"profiles": out, "info": {"license_limit": {"Administrator": 10}}})


def org_info(ctx: Context, req: Request) -> Response:
    return Response.json(200, {"org": [dict(ctx.emu.org.org_info)]})


def not_found(ctx: Context, req: Request) -> Response:
    raise ApiError(
        404,
        "INVALID_URL_PATTERN",
        "Please check if the URL trying to access is a correct one",
        {},
    )


def bad_id(value: str) -> ApiError:
    return invalid_data("the given id seems to be invalid", id=value)
