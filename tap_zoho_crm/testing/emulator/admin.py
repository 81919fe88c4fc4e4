"""The admin HTTP path (``/__emulator/...``): the Python API for out-of-process users.

No auth (the server listens on 127.0.0.1 only). Bodies and answers are JSON; records go in and
come out in Zoho's shape. Errors answer ``{"error": "..."}`` with 400 (bad input) or 404 (unknown
record, module or campaign).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .http import Context, Request, Response

P = "/__emulator"


def _guard(fn: Callable[[Context, Request], Any]) -> Callable[[Context, Request], Response]:
    def run(ctx: Context, req: Request) -> Response:
        try:
            result = fn(ctx, req)
        except KeyError as exc:
            return Response.json(404, {"error": str(exc.args[0] if exc.args else exc)})
        except (ValueError, TypeError) as exc:
            return Response.json(400, {"error": str(exc)})
        if isinstance(result, Response):
            return result
        return Response.json(200, result)

    return run


def _body(req: Request) -> dict[str, Any]:
    body = req.json_body()
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


def info(ctx: Context, req: Request) -> Any:
    emu = ctx.emu
    return {
        "base_url": emu.base_url,
        "profile": emu.profile,
        "seed": emu.seed,
        "user_time_zone": emu.org.user_time_zone,
        "inventory": emu.org.inventory,
        "tap_config": emu.tap_config(),
    }


def stats(ctx: Context, req: Request) -> Any:
    return ctx.emu.stats.as_dict()


def stats_reset(ctx: Context, req: Request) -> Any:
    ctx.emu.stats.reset()
    return {"ok": True}


def faults_get(ctx: Context, req: Request) -> Any:
    return ctx.emu.faults.as_dict()


def faults_set(ctx: Context, req: Request) -> Any:
    ctx.emu.faults.update(_body(req))
    return ctx.emu.faults.as_dict()


def clock_get(ctx: Context, req: Request) -> Any:
    clock = ctx.emu.clock
    return {"now": clock.now().isoformat(), "offset_s": clock.offset}


def clock_advance(ctx: Context, req: Request) -> Any:
    ctx.emu.clock.advance(float(_body(req)["seconds"]))
    return clock_get(ctx, req)


def modules_list(ctx: Context, req: Request) -> Any:
    readable = (req.arg("readable_only") or "true").lower() != "false"
    return {"modules": ctx.emu.module_names(readable_only=readable)}


def module_add(ctx: Context, req: Request) -> Any:
    body = _body(req)
    ctx.emu.add_module(
        body["api_name"],
        generated_type=body.get("generated_type", "custom"),
        count=int(body.get("count", 0)),
    )
    return {"ok": True}


def field_add(ctx: Context, req: Request) -> Any:
    body = dict(_body(req))
    ctx.emu.add_field(req.params["module"], body.pop("api_name"), body.pop("data_type"), **body)
    return {"ok": True}


def record_create(ctx: Context, req: Request) -> Any:
    body = _body(req)
    return {"id": ctx.emu.create_record(req.params["module"], body.get("values"))}


def record_ids(ctx: Context, req: Request) -> Any:
    return {"ids": sorted(ctx.emu.record_ids(req.params["module"]))}


def record_count(ctx: Context, req: Request) -> Any:
    return {"count": ctx.emu.count(req.params["module"])}


def record_get(ctx: Context, req: Request) -> Any:
    return ctx.emu.get_record(req.params["module"], req.params["id"])


def record_update(ctx: Context, req: Request) -> Any:
    ctx.emu.update_record(req.params["module"], req.params["id"], _body(req).get("values"))
    return {"ok": True}


def records_mass_update(ctx: Context, req: Request) -> Any:
    body = _body(req)
    ctx.emu.update_records(req.params["module"], list(body["ids"]), body.get("values"))
    return {"ok": True}


def record_delete(ctx: Context, req: Request) -> Any:
    permanent = (req.arg("permanent") or "false").lower() == "true"
    ctx.emu.delete_record(req.params["module"], req.params["id"], permanent=permanent)
    return {"ok": True}


def deleted(ctx: Context, req: Request) -> Any:
    return {"data": ctx.emu.deleted_records(req.params["module"])}


def members_get(ctx: Context, req: Request) -> Any:
    return {"members": ctx.emu.campaign_members(req.params["campaign"], req.params["module"])}


def member_add(ctx: Context, req: Request) -> Any:
    body = _body(req)
    ctx.emu.add_member(
        req.params["campaign"], req.params["module"], body["member_id"], body["status"]
    )
    return {"ok": True}


def member_update(ctx: Context, req: Request) -> Any:
    ctx.emu.set_member_status(
        req.params["campaign"], req.params["module"], req.params["member"], _body(req)["status"]
    )
    return {"ok": True}


def member_remove(ctx: Context, req: Request) -> Any:
    ctx.emu.remove_member(req.params["campaign"], req.params["module"], req.params["member"])
    return {"ok": True}


def roles_get(ctx: Context, req: Request) -> Any:
    return {"contact_roles": ctx.emu.contact_roles(req.params["deal"])}


def role_set(ctx: Context, req: Request) -> Any:
    ctx.emu.set_contact_role(req.params["deal"], req.params["contact"], _body(req)["role"])
    return {"ok": True}


def role_remove(ctx: Context, req: Request) -> Any:
    ctx.emu.remove_contact_role(req.params["deal"], req.params["contact"])
    return {"ok": True}


def revoke(ctx: Context, req: Request) -> Any:
    token = _body(req).get("refresh_token") if req.body else None
    ctx.emu.revoke_refresh_token(token)
    return {"ok": True}


def self_client_code(ctx: Context, req: Request) -> Any:
    body = _body(req) if req.body else {}
    return {"code": ctx.emu.self_client_code(body.get("scope"), float(body.get("ttl", 180)))}


ROUTES: list[tuple[str, str, Callable[[Context, Request], Response]]] = [
    (method, P + path, _guard(fn))
    for method, path, fn in [
        ("GET", "/info", info),
        ("GET", "/stats", stats),
        ("POST", "/stats/reset", stats_reset),
        ("GET", "/faults", faults_get),
        ("PATCH", "/faults", faults_set),
        ("POST", "/faults", faults_set),
        ("GET", "/clock", clock_get),
        ("POST", "/clock/advance", clock_advance),
        ("GET", "/modules", modules_list),
        ("POST", "/modules", module_add),
        ("POST", "/fields/{module}", field_add),
        ("POST", "/oauth/revoke", revoke),
        ("POST", "/oauth/self-client-code", self_client_code),
        ("GET", "/records/{module}/ids", record_ids),
        ("GET", "/records/{module}/count", record_count),
        ("POST", "/records/{module}/mass_update", records_mass_update),
        ("POST", "/records/{module}", record_create),
        ("GET", "/records/{module}/{id}", record_get),
        ("PATCH", "/records/{module}/{id}", record_update),
        ("DELETE", "/records/{module}/{id}", record_delete),
        ("GET", "/deleted/{module}", deleted),
        ("GET", "/members/{campaign}/{module}", members_get),
        ("POST", "/members/{campaign}/{module}", member_add),
        ("PATCH", "/members/{campaign}/{module}/{member}", member_update),
        ("DELETE", "/members/{campaign}/{module}/{member}", member_remove),
        ("GET", "/contact_roles/{deal}", roles_get),
        ("PUT", "/contact_roles/{deal}/{contact}", role_set),
        ("DELETE", "/contact_roles/{deal}/{contact}", role_remove),
    ]
]
