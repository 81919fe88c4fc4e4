"""Values given in Zoho's record shape (by tests or the admin path) -> the stored form."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .ids import make_id
from .metadata import FieldDef, ModuleDef
from .timefmt import parse_datetime

if TYPE_CHECKING:
    from .org import Org


def ingest_values(
    org: Org, mdef: ModuleDef, values: dict[str, Any], now: int, parent_id: str | None = None
) -> dict[str, Any]:
    """Zoho-shaped values (from tests or the admin path) -> the stored form."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        fdef = mdef.field(name)
        if fdef is None:
            raise ValueError(f"{mdef.api_name} has no field {name!r}")
        if name in ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"):
            raise ValueError(f"{name} is set by the emulator")
        if fdef.kind in ("msl",):
            raise ValueError(
                f"{name} is a multi-select lookup: create rows in {fdef.meta['linking_module']}"
            )
        if value is None:
            out[name] = None
        elif fdef.kind == "datetime":
            out[name] = parse_datetime(value) if isinstance(value, str) else int(value)
        elif fdef.kind in ("lookup", "user", "layout"):
            out[name] = str(value["id"] if isinstance(value, dict) else value)
        elif fdef.kind == "mmlookup":
            out[name] = {"module": value["module"], "id": str(value["id"])}
        elif fdef.kind == "noteparent":
            module = value.get("module")
            module = module["api_name"] if isinstance(module, dict) else module
            out[name] = {"module": module, "id": str(value["id"])}
        elif fdef.kind == "subform":
            out[name] = _ingest_rows(org, fdef, value, now, parent_id)
        else:
            out[name] = copy.deepcopy(value)
    return out


def _ingest_rows(
    org: Org,
    fdef: FieldDef,
    rows: list[dict[str, Any]],
    now: int,
    parent_id: str | None,
) -> list[dict[str, Any]]:
    """Subform rows: kept ids stay, new rows get ids; every given row is stamped ``now``."""
    sub = org.modules[fdef.meta["associated_module"]]
    out = []
    for seq, row in enumerate(rows, start=1):
        values = {k: v for k, v in row.items() if k not in ("id", "Parent_Id")}
        stored: dict[str, Any] = {fd.api_name: None for fd in sub.fields}
        stored.update(_ingest_row(sub, values))
        row_id = row.get("id")
        if not row_id:
            org._next_link += 1
            row_id = make_id(sub.slot, org._next_link)
        stored["id"] = str(row_id)
        stored["Parent_Id"] = parent_id
        stored["Created_Time"] = now
        stored["Modified_Time"] = now
        if "Sequence_Number" in stored:
            stored["Sequence_Number"] = seq
        org.factory.finalize(sub, stored)
        out.append(stored)
    return out


def _ingest_row(sub: ModuleDef, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        fdef = sub.field(name)
        if fdef is None or name in ("Created_Time", "Modified_Time", "Sequence_Number"):
            if fdef is None:
                raise ValueError(f"{sub.api_name} has no field {name!r}")
            continue
        if value is not None and fdef.kind in ("lookup", "user"):
            out[name] = str(value["id"] if isinstance(value, dict) else value)
        else:
            out[name] = value
    return out
