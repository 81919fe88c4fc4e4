"""Field and module definitions, and their ``settings/*`` JSON.

A definition is the single source for three things: the metadata the API serves, how values are
generated, and how internal values are rendered back into Zoho's record shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ids import SLOT_FIELDS, SLOT_LAYOUTS, SLOT_MODULES, SLOT_PICKLISTS, make_id

JSON_TYPES: dict[str, str] = {
    "text": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "textarea": "string",
    "autonumber": "string",
    "profileimage": "string",
    "event_reminder": "string",
    "date": "string",
    "datetime": "string",
    "bigint": "string",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "layout": "jsonobject",
    "consent_lookup": "jsonobject",
    "multi_module_lookup": "jsonobject",
    "ALARM": "jsonobject",
    "RRULE": "jsonobject",
    "multiselectpicklist": "jsonarray",
    "subform": "jsonarray",
    "multiselectlookup": "jsonarray",
    "multiuserlookup": "jsonarray",
    "fileupload": "jsonarray",
    "imageupload": "jsonarray",
    "territories": "jsonarray",
    "multireminder": "jsonarray",
    "linetax": "jsonarray",
}
RETURN_JSON_TYPES = {
    "double": "double",
    "currency": "double",
    "integer": "integer",
    "text": "string",
    "date": "string",
    "datetime": "string",
    "boolean": "boolean",
}
# How a stored value becomes a record value (see render.py).
KIND_BY_TYPE = {
    "datetime": "datetime",
    "event_reminder": "datetime",
    "lookup": "lookup",
    "ownerlookup": "user",
    "userlookup": "user",
    "layout": "layout",
    "multi_module_lookup": "mmlookup",
    "subform": "subform",
    "multiselectlookup": "msl",
    "multiuserlookup": "msl",
    "fileupload": "files",
}
# Values that only a single-record GET returns.
SINGLE_RECORD_ONLY = {"subform", "multiselectlookup", "multiuserlookup"}


@dataclass
class FieldDef:
    api_name: str
    data_type: str
    gen: str = ""
    label: str = ""
    options: tuple[str, ...] = ()
    lookup: str | None = None
    json_type: str = ""
    read_only: bool = False
    mandatory: bool = False
    custom: bool = False
    visible: bool = True
    view: bool = True
    null_pct: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    field_no: int = 0
    kind: str = "plain"

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.api_name.replace("__s", "").replace("_", " ")
        if not self.json_type:
            if self.data_type in ("formula", "rollup_summary"):
                self.json_type = RETURN_JSON_TYPES[self.meta.get("return_type", "double")]
            else:
                self.json_type = JSON_TYPES.get(self.data_type, "string")
        kind = KIND_BY_TYPE.get(self.data_type, "plain")
        if self.data_type in ("formula", "rollup_summary") and self.meta.get("return_type") in (
            "datetime",
        ):
            kind = "datetime"
        if self.data_type == "textarea" and self.meta.get("textarea") == "rich_text":
            kind = "richtext"
        if not self.gen:
            self.gen = self.data_type
        if self.gen == "note_parent":
            kind = "noteparent"
        self.kind = kind


@dataclass
class ModuleDef:
    api_name: str
    singular: str
    plural: str
    fields: list[FieldDef]
    generated_type: str = "default"
    name_field: str = "Name"
    name_gen: str = "person"
    api_supported: bool = True
    inventory: bool = False
    fields_204: bool = False
    parent_module: str | None = None
    convertible: bool = False
    slot: int = 0
    sequence: int = 0
    notes: bool = False
    attachments: bool = False
    link_parent: str | None = None
    module_name: str = ""
    _by_name: dict[str, FieldDef] = field(default_factory=dict, repr=False)
    _has_currency: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not self.module_name:
            self.module_name = self.api_name
        self.reindex()

    def reindex(self) -> None:
        self._by_name = {f.api_name: f for f in self.fields}
        self._has_currency = any(f.data_type == "currency" for f in self.fields)
        for number, fdef in enumerate(self.fields, start=1):
            fdef.field_no = fdef.field_no or number

    def field(self, api_name: str) -> FieldDef | None:
        return self._by_name.get(api_name)

    def add_field(self, fdef: FieldDef) -> None:
        fdef.field_no = max((f.field_no for f in self.fields), default=0) + 1
        self.fields.append(fdef)
        self.reindex()

    @property
    def is_record_module(self) -> bool:
        """Modules whose records Get Records may serve (not subforms or metadata-only ones)."""
        return self.api_supported and self.generated_type in ("default", "custom", "linking")

    @property
    def has_currency(self) -> bool:
        return self._has_currency

    def subforms(self) -> list[FieldDef]:
        return [f for f in self.fields if f.data_type == "subform"]

    def module_id(self) -> str:
        return make_id(SLOT_MODULES, self.slot)

    def layout_id(self) -> str:
        return make_id(SLOT_LAYOUTS, self.slot * 10)

    def field_id(self, fdef: FieldDef) -> str:
        return make_id(SLOT_FIELDS, self.slot * 10_000 + fdef.field_no)


def field_json(mdef: ModuleDef, fdef: FieldDef, modules: dict[str, ModuleDef]) -> dict[str, Any]:
    """One entry of ``settings/fields`` (the keys a tap reads, shaped like Zoho's sample)."""
    fid = mdef.field_id(fdef)
    meta = fdef.meta
    lookup: dict[str, Any] = {}
    if fdef.data_type in ("lookup", "consent_lookup") and fdef.lookup:
        target = modules.get(fdef.lookup)
        lookup = {
            "display_label": fdef.label,
            "api_name": fdef.api_name,
            "module": {
                "api_name": fdef.lookup,
                "id": target.module_id() if target else None,
            },
            "id": fid,
        }
    multi: dict[str, Any] | None = None
    if fdef.data_type in ("multiselectlookup", "multiuserlookup"):
        linking = modules.get(meta["linking_module"])
        connected = modules.get(meta.get("connected_module", ""))
        multi = {
            "display_label": fdef.label,
            "linking_module": {
                "api_name": meta["linking_module"],
                "id": linking.module_id() if linking else None,
            },
            "lookup_apiname": meta["lookup_apiname"],
            "api_name": fdef.api_name,
            "connectedlookup_apiname": meta["connectedlookup_apiname"],
            "id": fid,
        }
        if fdef.data_type == "multiselectlookup":
            multi["connected_module"] = {
                "api_name": meta.get("connected_module"),
                "id": connected.module_id() if connected else None,
            }
    associated: dict[str, Any] | None = None
    if fdef.data_type == "subform":
        sub = modules.get(meta["associated_module"])
        associated = {
            "module": meta["associated_module"],
            "id": sub.module_id() if sub else None,
        }
    picklist: list[dict[str, Any]] = []
    if fdef.data_type in ("picklist", "multiselectpicklist"):
        values = ("-None-", *fdef.options) if fdef.data_type == "picklist" else fdef.options
        for seq, value in enumerate(values, start=1):
            picklist.append(
                {
                    "display_value": value,
                    "sequence_number": seq,
                    "reference_value": value,
                    "actual_value": value,
                    "id": make_id(SLOT_PICKLISTS, (mdef.slot * 10_000 + fdef.field_no) * 100 + seq),
                    "type": "unused" if value == "-None-" else "used",
                    "colour_code": None,
                }
            )
    length = meta.get("length")
    if length is None:
        length = {
            "textarea": {"small": 2000, "large": 32000, "rich_text": 50000}.get(
                meta.get("textarea", "small"), 2000
            ),
            "bigint": 18,
            "integer": 9,
            "double": 16,
            "currency": 16,
            "percent": 5,
            "email": 100,
            "phone": 30,
            "website": 255,
        }.get(fdef.data_type, 120)
    read_only = fdef.read_only or fdef.data_type in ("formula", "rollup_summary", "autonumber")
    return {
        "id": fid,
        "api_name": fdef.api_name,
        "field_label": fdef.label,
        "display_label": fdef.label,
        "column_name": fdef.api_name.upper(),
        "data_type": fdef.data_type,
        "json_type": fdef.json_type,
        "length": length,
        "decimal_place": 2 if fdef.data_type in ("currency", "double", "percent") else None,
        "read_only": read_only,
        "field_read_only": read_only,
        "system_mandatory": fdef.mandatory,
        "custom_field": fdef.custom,
        "visible": fdef.visible,
        "virtual_field": False,
        "display_type": -1,
        "sortable": fdef.api_name in ("id", "Created_Time", "Modified_Time"),
        "view_type": {
            "view": fdef.view,
            "edit": not read_only,
            "create": not read_only,
            "quick_create": fdef.mandatory,
        },
        "pick_list_values": picklist,
        "lookup": lookup,
        "multiselectlookup": multi if fdef.data_type == "multiselectlookup" else {},
        "multiuserlookup": multi if fdef.data_type == "multiuserlookup" else {},
        "associated_module": associated,
        "formula": (
            {"return_type": meta.get("return_type"), "expression": meta.get("expression", "")}
            if fdef.data_type == "formula"
            else {}
        ),
        "rollup_summary": (
            {
                "return_type": meta.get("return_type"),
                "based_on_module": {"api_name": meta.get("based_on")},
                "rollup_based_on": meta.get("rollup_based_on", "COUNT"),
            }
            if fdef.data_type == "rollup_summary"
            else {}
        ),
        "auto_number": (
            {"prefix": meta.get("prefix", ""), "suffix": "", "start_number": 1}
            if fdef.data_type == "autonumber"
            else {}
        ),
        "currency": (
            {"rounding_option": "normal", "precision": 2} if fdef.data_type == "currency" else {}
        ),
        "textarea": (
            {"type": meta.get("textarea", "small")} if fdef.data_type == "textarea" else None
        ),
        "crypt": None,
        "unique": {},
        "external": None,
        "created_source": "custom" if fdef.custom else "default",
        "quick_sequence_number": str(fdef.field_no),
        "tooltip": None,
        "history_tracking": None,
        "hipaa_compliance_enabled": False,
    }


def module_json(mdef: ModuleDef, modules: dict[str, ModuleDef], modified: str) -> dict[str, Any]:
    """One entry of ``settings/modules``."""
    parent = modules.get(mdef.parent_module) if mdef.parent_module else None
    return {
        "id": mdef.module_id(),
        "api_name": mdef.api_name,
        "module_name": mdef.module_name,
        "singular_label": mdef.singular,
        "plural_label": mdef.plural,
        "generated_type": mdef.generated_type,
        "api_supported": mdef.api_supported,
        "viewable": True,
        "creatable": mdef.api_supported,
        "editable": mdef.api_supported,
        "deletable": mdef.api_supported,
        "visibility": 1,
        "status": "visible",
        "sequence_number": mdef.sequence,
        "modified_time": modified,
        "parent_module": (
            {"api_name": parent.api_name, "id": parent.module_id()} if parent else {}
        ),
        "profiles": [],
        "presence_sub_menu": mdef.api_supported,
        "global_search_supported": mdef.generated_type in ("default", "custom"),
        "quick_create": mdef.generated_type in ("default", "custom"),
        "feeds_required": False,
        "show_as_tab": mdef.generated_type in ("default", "custom"),
        "web_link": None,
        "arguments": [],
        "description": None,
        "isBlueprintSupported": mdef.generated_type in ("default", "custom"),
        "filter_supported": mdef.api_supported,
        "kanban_view": False,
        "has_more_profiles": False,
        "inventory_template_supported": mdef.inventory,
        **display_field(mdef),
    }


def display_field(mdef: ModuleDef) -> dict[str, Any]:
    """``display_field``: the field a lookup to this module shows as its ``name`` (SDK Module)."""
    fdef = mdef.field(mdef.name_field)
    if fdef is None:
        return {}
    return {"display_field": {"api_name": fdef.api_name, "id": mdef.field_id(fdef)}}
