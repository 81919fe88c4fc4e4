"""Stored form -> Zoho's JSON, for one API user (their time zone sets every offset)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metadata import FieldDef, ModuleDef
from .timefmt import TimeFormatter

if TYPE_CHECKING:
    from .org import Org

RICH_TEXT_LIST_LIMIT = 500


class Renderer:
    def __init__(self, org: Org, tz_name: str) -> None:
        self.org = org
        self.fmt = TimeFormatter(tz_name)
        self._plans: dict[tuple[Any, ...], list[tuple[str, str, FieldDef]]] = {}

    def dt(self, ts: int | None) -> str | None:
        return self.fmt.datetime(ts)

    def user_ref(self, user_id: str | None, *, email: bool = True) -> dict[str, Any] | None:
        if not user_id:
            return None
        user = self.org.users.get(user_id)
        if user is None:
            return {"name": None, "id": user_id}
        out = {"name": user["full_name"], "id": user_id}
        if email:
            out["email"] = user["email"]
        return out

    def lookup_ref(self, record_id: str | None) -> dict[str, Any] | None:
        if not record_id:
            return None
        return {"name": self.org.display_name_by_id(record_id), "id": record_id}

    def _plan(self, mdef: ModuleDef, fields: list[str] | None) -> list[tuple[str, str, FieldDef]]:
        key = (id(mdef), len(mdef.fields), None if fields is None else tuple(fields))
        plan = self._plans.get(key)
        if plan is None:
            names = [f.api_name for f in mdef.fields] if fields is None else fields
            plan = []
            for name in names:
                fdef = mdef.field(name)
                if fdef is not None:
                    plan.append((name, fdef.kind, fdef))
            if len(self._plans) > 256:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def record(
        self,
        mdef: ModuleDef,
        rec: dict[str, Any],
        fields: list[str] | None,
        *,
        single: bool,
    ) -> dict[str, Any]:
        """A record as Get Records (``single=False``) or a single-record GET returns it.

        ``fields`` None means every field. List responses omit subform and multi-select-lookup
        values and truncate rich text to 500 characters, as Zoho documents.
        """
        out: dict[str, Any] = {}
        for name, kind, fdef in self._plan(mdef, fields):
            value = rec.get(name)
            if kind == "plain":
                out[name] = value
            elif kind == "datetime":
                out[name] = self.fmt.datetime(value)
            elif kind == "lookup":
                out[name] = self.lookup_ref(value)
            elif kind == "user":
                out[name] = self.user_ref(value)
            elif kind == "layout":
                out[name] = {"name": "Standard", "id": value} if value else None
            elif kind == "richtext":
                if value is not None and not single and len(value) > RICH_TEXT_LIST_LIMIT:
                    value = value[:RICH_TEXT_LIST_LIMIT]
                out[name] = value
            elif kind == "mmlookup":
                if value:
                    out[name] = self.lookup_ref(value["id"])
                    out["$se_module"] = value["module"]
                else:
                    out[name] = None
            elif kind == "noteparent":
                if value:
                    parent = self.org.modules[value["module"]]
                    out[name] = {
                        "module": {"api_name": value["module"], "id": parent.module_id()},
                        "name": self.org.display_name_by_id(value["id"]),
                        "id": value["id"],
                    }
                    out["$se_module"] = value["module"]
                else:
                    out[name] = None
            elif kind == "files":
                out[name] = (
                    None
                    if value is None
                    else [
                        {
                            **item,
                            "Created_Time__s": self.fmt.datetime(item["Created_Time__s"]),
                            "Owner__s": self.user_ref(item["Owner__s"]),
                        }
                        for item in value
                    ]
                )
            elif kind == "subform":
                if single:
                    sub = self.org.modules[fdef.meta["associated_module"]]
                    out[name] = [self.record(sub, row, None, single=True) for row in value or []]
            elif kind == "msl" and single:
                out[name] = self.org.multi_lookup_value(mdef, fdef, rec["id"], self)
        out["id"] = rec["id"]
        if mdef.generated_type in ("default", "custom"):
            out["$editable"] = True
            out["$approved"] = True
            out["$approval_state"] = "approved"
            if mdef.has_currency:
                out["$currency_symbol"] = "$"
            if mdef.convertible:
                out["$converted"] = bool(rec.get("Converted__s"))
            if single:
                out["$has_more"] = {
                    f.api_name: False
                    for f in mdef.fields
                    if f.data_type in ("subform", "multiselectlookup", "multiuserlookup")
                }
                out["$process_flow"] = False
                out["$review_process"] = {"approve": False, "reject": False, "resubmit": False}
                out["$approval"] = {
                    "delegate": False,
                    "approve": False,
                    "reject": False,
                    "resubmit": False,
                }
        return out

    def user(self, user: dict[str, Any]) -> dict[str, Any]:
        org = self.org
        role = org.roles[user["role"]]
        profile = org.profiles[user["profile"]]
        return {
            "id": user["id"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "full_name": user["full_name"],
            "email": user["email"],
            "status": user["status"],
            "confirm": user["confirm"],
            "role": {"name": role["name"], "id": role["id"]},
            "profile": {"name": profile["name"], "id": profile["id"]},
            "Reporting_To": self.user_ref(user["Reporting_To"], email=False),
            "created_by": self.user_ref(user["created_by"], email=False),
            "created_time": self.fmt.datetime(user["created_time"]),
            "Modified_By": self.user_ref(user["Modified_By"], email=False),
            "Modified_Time": self.fmt.datetime(user["Modified_Time"]),
            "time_zone": user["time_zone"],
            "locale": user["locale"],
            "country_locale": user["locale"],
            "language": user["locale"].split("_")[0],
            "zuid": user["zuid"],
            "date_format": "MM-dd-yyyy",
            "time_format": "hh:mm a",
            "alias": None,
            "city": user["city"],
            "country": user["country"],
            "phone": user["phone"],
            "mobile": None,
            "type__s": "AdminUsers" if profile["name"] == "Administrator" else "StandardUsers",
            "Isonline": False,
            "sandboxDeveloper": False,
            "microsoft": False,
            "personal_account": False,
            "name_format__s": "Salutation,First Name,Last Name",
            "sort_order_preference__s": "First Name,Last Name",
            "status_reason__s": None,
        }
