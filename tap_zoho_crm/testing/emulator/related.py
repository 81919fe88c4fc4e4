"""Related records: campaign members, deal contact roles, linking rows, notes, attachments.

``GET /crm/v8/{module}/{id}/{related_list}`` needs ``fields`` like Get Records and pages the same
way. If-Modified-Since filters on the related record's own ``Modified_Time`` (not on when the
relation changed): the least forgiving reading, so membership changes are not found that way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import words
from .errors import ApiError, invalid_data
from .http import Context, Request, Response
from .metadata import ModuleDef
from .org import Org
from .paging import page_info, window
from .records import check_fields, choice, field_names, if_modified_since, readable_module
from .render import Renderer

ATTACHMENT_FIELDS = (
    "id",
    "File_Name",
    "Size",
    "Owner",
    "Created_By",
    "Modified_By",
    "Created_Time",
    "Modified_Time",
    "Parent_Id",
)

Row = tuple[int, int, int, Callable[[list[str]], dict[str, Any]]]  # (id, created, modified, render)


def _member_info(info: dict[str, Any], r: Renderer) -> dict[str, Any]:
    return {
        "Member_Status": info["Member_Status"],
        "Created_Time": r.dt(info["Created_Time"]),
        "Modified_Time": r.dt(info["Modified_Time"]),
        "id": info["id"],
    }


def _member_extra(info: dict[str, Any], r: Renderer) -> Callable[[], dict[str, Any]]:
    return lambda: {"$member_info": _member_info(info, r)}


def _role_extra(org: Org, role: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"Contact_Role": {"name": role, "id": org.contact_role_id(role)}}


def _record_row(
    org: Org,
    module: str,
    record_id: str,
    r: Renderer,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> Row | None:
    """A related row: sort keys now, the record rendered only if its page is served.

    A campaign can have 100,000+ members; building every record on every call would make the
    emulator the bottleneck of the very tests that page through such lists.
    """
    found = org.find(module, record_id)
    if found is None:
        return None
    store, index = found
    light = store.light(index) or store.record(index) or {}
    mdef = store.mdef

    def render(names: list[str]) -> dict[str, Any]:
        out = r.record(mdef, store.record(index) or {}, names, single=False)
        if extra:
            out.update(extra())
        return out

    return (int(light["id"]), int(light["Created_Time"]), int(light["Modified_Time"]), render)


def _rows(
    org: Org, module: str, *, kind: str, list_api: str, target: str, parent_id: str, r: Renderer
) -> list[Row]:
    rows: list[Row | None] = []
    parent_store, parent_index = org._live(module, parent_id)
    if kind == "members":
        for member_id, info in org.members(parent_index)[list_api].items():
            rows.append(
                _record_row(
                    org,
                    list_api,
                    member_id,
                    r,
                    _member_extra(info, r),
                )
            )
    elif kind == "campaigns":
        camps = org.stores.get("Campaigns")
        for ci in camps.live_indices() if camps else []:
            membership = org.members(ci)[module].get(parent_id)
            if membership is not None and camps is not None:
                rows.append(
                    _record_row(
                        org,
                        "Campaigns",
                        camps.record_id(ci),
                        r,
                        _member_extra(membership, r),
                    )
                )
    elif kind == "contact_roles":
        for contact_id, role in org.contact_role_map(parent_index).items():
            rows.append(
                _record_row(
                    org,
                    "Contacts",
                    contact_id,
                    r,
                    _role_extra(org, role),
                )
            )
    elif kind == "msl":
        fdef = parent_store.mdef.field(list_api)
        assert fdef is not None  # noqa: S101 - related lists come from the fields
        linking = org.stores.get(target)
        for i in org.linked_rows(target, fdef.meta["lookup_apiname"], parent_id):
            if linking is not None:
                rows.append(_record_row(org, target, linking.record_id(i), r))
    elif kind == "notes":
        notes = org.stores["Notes"]
        for i in org.notes_for(parent_id):
            rows.append(_record_row(org, "Notes", notes.record_id(i), r))
    elif kind == "attachments":
        for att in org.attachments_for(parent_store, parent_index):
            rows.append(_attachment_row(att, r))
    return [row for row in rows if row is not None]


def _attachment_row(att: dict[str, Any], r: Renderer) -> Row:
    def render(names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            value = att.get(name)
            if name in ("Owner", "Created_By", "Modified_By"):
                value = r.user_ref(value)
            elif name in ("Created_Time", "Modified_Time"):
                value = r.dt(value)
            elif name == "Parent_Id":
                value = r.lookup_ref(value)
            out[name] = value
        out["id"] = att["id"]
        for key, value in att.items():
            if key.startswith("$"):
                out[key] = value
        return out

    return (int(att["id"]), att["Created_Time"], att["Modified_Time"], render)


def get_related(ctx: Context, req: Request) -> Response:
    emu = ctx.emu
    org = emu.org
    module = req.params["module"]
    readable_module(org, module)
    list_api = req.params["related"]
    entry = next((e for e in org.related_lists(module) if e["api_name"] == list_api), None)
    if f"{module}/{list_api}" in emu.faults.hidden_related_lists:
        entry = None
    if entry is None or entry["kind"] is None:
        raise invalid_data(
            "the related list name given seems to be invalid", param_name="related_list"
        )
    names = field_names(req, required=True)
    assert names is not None  # noqa: S101
    kind = entry["kind"]
    target = entry["module"]["api_name"]
    if kind == "attachments":
        for name in names:
            if name not in ATTACHMENT_FIELDS:
                raise invalid_data(
                    "invalid field name given in fields", param_name="fields", api_name=name
                )
    else:
        tdef: ModuleDef | None = org.modules.get(target)
        if tdef is None:
            raise invalid_data("the related list is not available", param_name="related_list")
        if kind == "notes" and not org.is_admin(req.user_id):
            pass  # per-parent notes are readable by every user
        check_fields(tdef, names, ("Contact_Role",) if kind == "contact_roles" else ())
    parent_id = req.params["id"]
    if org.find(module, parent_id) is None:
        raise invalid_data("the given record id seems to be invalid", id=parent_id)
    sort_by = choice(req, "sort_by", "id", ("id", "Created_Time", "Modified_Time"))
    order = choice(req, "sort_order", "desc", ("asc", "desc"))
    converted = choice(req, "converted", "false", ("true", "false", "both"))
    since = if_modified_since(req)
    now = emu.clock.timestamp()
    win = window(req, emu.page_tokens, now, since, reach=emu.faults.page_token_reach)
    r = org.renderer(req.user_id)
    rows = _rows(org, module, kind=kind, list_api=list_api, target=target, parent_id=parent_id, r=r)
    if target == "Leads" and converted != "both":
        leads = org.stores["Leads"]
        rows = [
            row
            for row in rows
            if leads.converted(org._live("Leads", str(row[0]))[1]) == (converted == "true")
        ]
    if since is not None:
        rows = [row for row in rows if row[2] >= since]
    if not rows:
        return Response.empty(304 if since is not None else 204)
    position = {"id": 0, "Created_Time": 1, "Modified_Time": 2}[sort_by]
    rows.sort(key=lambda row: (row[position], row[0]), reverse=order == "desc")
    chunk = rows[win.position : win.position + win.limit]
    if not chunk:
        return Response.empty(204)
    data = [row[3](names) for row in chunk]
    info = page_info(
        req, emu.page_tokens, win, count=len(chunk), total=len(rows), since=since, fmt_dt=r.dt
    )
    return Response.json(200, {"data": data, "info": info})


def contact_roles_settings(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    if "Contacts" not in org.stores:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
    roles = [
        {"id": org.contact_role_id(name), "name": name, "sequence_number": n}
        for n, name in enumerate(words.CONTACT_ROLES, start=1)
    ]
    return Response.json(200, {"contact_roles": roles})
