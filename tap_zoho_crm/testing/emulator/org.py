"""The emulated org: modules, users, relationships, mutations and the ground truth tests read.

All state lives here, guarded by one re-entrant lock; HTTP handlers and the Python API both go
through it, so the API and the ground truth can never disagree.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from . import words as w
from .catalog import build_catalog, f
from .clock import Clock
from .datagen import (
    SALT_ATTACH,
    SALT_MEMBERS,
    SALT_ROLES,
    RecordFactory,
    mix,
    note_parent,
)
from .ids import (
    MAX_MODULE_SLOT,
    SLOT_ATTACHMENTS,
    SLOT_CONTACT_ROLES,
    SLOT_MEMBERS,
    SLOT_RELATED_LISTS,
    SLOT_USERS,
    make_id,
    split_id,
)
from .ingest import ingest_values
from .metadata import FieldDef, ModuleDef, field_json, module_json
from .people import build_people
from .profiles import ALWAYS_LISTED, PROFILES
from .render import Renderer
from .rendered import RenderedRecords
from .store import ModuleStore

DAY = 86_400
MAX_DELETED_PER_MODULE = 1500


class Org:
    def __init__(
        self,
        *,
        profile: str,
        seed: int,
        size: dict[str, int] | None,
        inventory: bool,
        user_time_zone: str | None,
        admin: bool,
        clock: Clock,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        self.lock = threading.RLock()
        self.clock = clock
        self.seed = seed
        self.inventory = inventory
        self.admin = admin
        spec = PROFILES[profile]
        self.profile = profile
        self.user_time_zone: str = user_time_zone or spec["user_time_zone"]
        anchor = clock.started_at // DAY * DAY
        self.data_end = anchor - 3600
        self.data_start = self.data_end - 400 * DAY
        self.created_at = self.data_start - 30 * DAY
        counts: dict[str, int] = dict(spec["modules"])
        catalog = {m.api_name: m for m in build_catalog()}
        for name, count in (size or {}).items():
            mdef = catalog.get(name)
            if mdef is None or not mdef.is_record_module:
                raise ValueError(f"size: {name!r} is not a record module of the emulator")
            if count < 0:
                raise ValueError(f"size: {name!r} needs a count >= 0")
            counts[name] = count
        present = set(counts) | set(ALWAYS_LISTED)
        present |= {m.api_name for m in catalog.values() if m.parent_module in counts}
        self.modules: dict[str, ModuleDef] = {
            name: mdef for name, mdef in catalog.items() if name in present
        }
        self.module_modified: dict[str, int] = dict.fromkeys(self.modules, self.created_at)
        people = build_people(
            created_at=self.created_at,
            data_start=self.data_start,
            user_time_zone=self.user_time_zone,
            admin=admin,
        )
        self.users = people.users
        self.roles = people.roles
        self.profiles = people.profiles
        self.org_info = people.org_info
        self.api_user_id = people.api_user_id
        self.owner_user_ids = people.owner_user_ids
        self.factory = RecordFactory(self)
        self.stores: dict[str, ModuleStore] = {}
        self.by_slot: dict[int, ModuleStore] = {}
        for name, mdef in self.modules.items():
            if mdef.is_record_module and not mdef.fields_204:
                count = counts.get(name, 0)
                deleted = min(MAX_DELETED_PER_MODULE, max(min(count, 4), count // 25))
                store = ModuleStore(self, self.factory, mdef, count, deleted)
                self.stores[name] = store
                self.by_slot[mdef.slot] = store
        self._members: dict[int, dict[str, dict[str, dict[str, Any]]]] = {}
        self._roles: dict[int, dict[str, str]] = {}
        self._next_link = 10**9
        self._notes_index: tuple[int, dict[str, list[int]]] | None = None
        #: Attachments uploaded through `add_attachment`, by (module, record index).
        self.added_attachments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._renderers: dict[str, Renderer] = {}
        self.rendered = RenderedRecords(self.stores)
        #: False walks every record for a COQL ``Modified_Time`` range (tests compare both).
        self.coql_ranges = True
        self.query_cache: OrderedDict[tuple[Any, ...], Sequence[Any]] = OrderedDict()

    # -- GenEnv ---------------------------------------------------------------------------
    def base_count(self, module: str) -> int:
        store = self.stores.get(module)
        return store.base if store else 0

    def module_def(self, module: str) -> ModuleDef | None:
        return self.modules.get(module)

    # -- people ---------------------------------------------------------------------------
    def renderer(self, user_id: str | None = None) -> Renderer:
        """A renderer in the given user's time zone (default: the API user)."""
        uid = user_id or self.api_user_id
        user = self.users.get(uid)
        tz = user["time_zone"] if user else self.user_time_zone
        if uid == self.api_user_id:
            tz = self.user_time_zone
        found = self._renderers.get(tz)
        if found is None:
            found = self._renderers[tz] = Renderer(self, tz)
        return found

    def is_admin(self, user_id: str) -> bool:
        user = self.users.get(user_id)
        if user is None:
            return False
        return bool(self.profiles[user["profile"]]["name"] == "Administrator")

    # -- modules --------------------------------------------------------------------------
    def readable(self, mdef: ModuleDef) -> bool:
        """Whether Get Records can serve the module in this org."""
        if not mdef.is_record_module:
            return False
        return not (mdef.inventory and not self.inventory)

    def module_names(self, readable_only: bool = True) -> list[str]:
        out = []
        for name, mdef in self.modules.items():
            if not mdef.is_record_module:
                continue
            if readable_only and (not self.readable(mdef) or mdef.fields_204):
                continue
            out.append(name)
        return out

    def modules_json(self, renderer: Renderer | None = None) -> list[dict[str, Any]]:
        r = renderer or self.renderer()
        admin_profile = next(p for p in self.profiles.values() if p["name"] == "Administrator")
        out = []
        for name, mdef in self.modules.items():
            entry = module_json(mdef, self.modules, r.dt(self.module_modified[name]) or "")
            entry["profiles"] = [{"name": "Administrator", "id": admin_profile["id"]}]
            out.append(entry)
        return out

    def fields_json(self, module: str) -> list[dict[str, Any]]:
        mdef = self.modules[module]
        return [field_json(mdef, fdef, self.modules) for fdef in mdef.fields]

    def related_lists(self, module: str) -> list[dict[str, Any]]:
        """Related lists of a module; ``kind`` (internal) says how the emulator serves each."""
        mdef = self.modules[module]
        entries: list[tuple[str, str, str, str | None]] = []
        if module == "Campaigns":
            entries += [
                ("Leads", "Leads", "default", "members"),
                ("Contacts", "Contacts", "default", "members"),
            ]
        if module in ("Leads", "Contacts"):
            entries.append(("Campaigns", "Campaigns", "default", "campaigns"))
        if module == "Deals":
            entries.append(("Contact_Roles", "Contacts", "default", "contact_roles"))
        for fdef in mdef.fields:
            if fdef.data_type in ("multiselectlookup", "multiuserlookup"):
                entries.append(
                    (fdef.api_name, fdef.meta["linking_module"], "multiselectlookup", "msl")
                )
        if mdef.notes:
            entries.append(("Notes", "Notes", "default", "notes"))
        if mdef.attachments:
            entries.append(("Attachments", "Attachments", "default", "attachments"))
        if mdef.generated_type in ("default", "custom"):
            entries.append(("Activities_Chronological_View_History", "Activities", "default", None))
        out = []
        for seq, (api_name, target, rtype, kind) in enumerate(entries, start=1):
            target_def = self.modules.get(target)
            out.append(
                {
                    "id": make_id(SLOT_RELATED_LISTS, mdef.slot * 100 + seq),
                    "api_name": api_name,
                    "display_label": api_name.replace("_", " "),
                    "name": api_name,
                    "module": {
                        "api_name": target,
                        "id": target_def.module_id() if target_def else None,
                    },
                    "type": rtype,
                    "href": f"{module}/{{ENTITYID}}/{api_name}" if kind else None,
                    "sequence_number": str(seq),
                    "status": "visible",
                    "connectedmodule": target if rtype == "multiselectlookup" else None,
                    "linkingmodule": target if rtype == "multiselectlookup" else None,
                    "action": None,
                    "customize_sort": kind is not None,
                    "customize_fields": kind is not None,
                    "customize_display_label": True,
                    "kind": kind,
                }
            )
        return out

    # -- lookups --------------------------------------------------------------------------
    def find(self, module: str, record_id: str) -> tuple[ModuleStore, int] | None:
        """The live record with this id in this module, if any."""
        store = self.stores.get(module)
        parts = split_id(record_id)
        if store is None or parts is None or parts[0] != store.mdef.slot:
            return None
        if not store.is_live(parts[1]):
            return None
        return store, parts[1]

    def display_name_by_id(self, record_id: str) -> str | None:
        parts = split_id(record_id)
        if parts is None:
            return None
        slot, index = parts
        store = self.by_slot.get(slot)
        if store is not None:
            return store.name(index)
        if slot == SLOT_USERS:
            user = self.users.get(record_id)
            return user["full_name"] if user else None
        return None

    # -- linking rows, subforms -----------------------------------------------------------
    def linked_rows(self, linking: str, lookup_api: str, parent_id: str) -> list[int]:
        store = self.stores.get(linking)
        parts = split_id(parent_id)
        if store is None or parts is None:
            return []
        p = parts[1]
        rows = []
        for i in (2 * p, 2 * p + 1):
            if i < store.base and i not in store.overrides and i not in store.removed:
                rec = store.record(i)
                if rec and rec.get(lookup_api) == parent_id:
                    rows.append(i)
        for i, rec in store.overrides.items():
            if i not in store.removed and rec.get(lookup_api) == parent_id:
                rows.append(i)
        return sorted(rows)

    def multi_lookup_value(
        self, mdef: ModuleDef, fdef: FieldDef, record_id: str, renderer: Renderer
    ) -> list[dict[str, Any]]:
        linking = fdef.meta["linking_module"]
        connected = fdef.meta["connectedlookup_apiname"]
        store = self.stores.get(linking)
        if store is None:
            return []
        out = []
        for i in self.linked_rows(linking, fdef.meta["lookup_apiname"], record_id):
            rec = store.record(i) or {}
            value = rec.get(connected)
            ref = (
                renderer.user_ref(value)
                if fdef.data_type == "multiuserlookup"
                else renderer.lookup_ref(value)
            )
            out.append({connected: ref, "id": rec["id"]})
        return out

    def subform_rows(self, sub: ModuleDef) -> Iterator[dict[str, Any]]:
        """Every row of a subform module (stored form), parent by parent."""
        parent = self.stores.get(sub.parent_module or "")
        if parent is None:
            return
        field = next(
            (
                fd
                for fd in parent.mdef.fields
                if fd.data_type == "subform" and fd.meta["associated_module"] == sub.api_name
            ),
            None,
        )
        if field is None:
            return
        for i in parent.live_indices():
            rec = parent.record(i) or {}
            yield from rec.get(field.api_name) or []

    # -- campaign members and contact roles -----------------------------------------------
    def members(self, campaign_index: int) -> dict[str, dict[str, dict[str, Any]]]:
        found = self._members.get(campaign_index)
        if found is not None:
            return found
        camp = self.stores["Campaigns"]
        rng = random.Random(mix(self.seed, camp.mdef.slot, campaign_index, SALT_MEMBERS))
        camp_created = camp.skeleton(campaign_index).created
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for m, module in enumerate(("Leads", "Contacts")):
            store = self.stores.get(module)
            out[module] = {}
            if store is None or store.base == 0:
                continue
            k = min(store.base, rng.randint(2, 25))
            for j, idx in enumerate(sorted(rng.sample(range(store.base), k))):
                created = max(camp_created, store.skeleton(idx).created)
                created = min(self.data_end, created + rng.randrange(0, 5 * DAY))
                modified = created
                if rng.random() < 0.5:
                    modified = created + rng.randrange(0, self.data_end - created + 1)
                out[module][store.record_id(idx)] = {
                    "Member_Status": rng.choice(w.MEMBER_STATUSES),
                    "Created_Time": created,
                    "Modified_Time": modified,
                    "id": make_id(SLOT_MEMBERS, campaign_index * 100_000 + m * 50_000 + j),
                }
        self._members[campaign_index] = out
        return out

    def contact_role_map(self, deal_index: int) -> dict[str, str]:
        found = self._roles.get(deal_index)
        if found is not None:
            return found
        deals = self.stores["Deals"]
        contacts = self.stores.get("Contacts")
        rng = random.Random(mix(self.seed, deals.mdef.slot, deal_index, SALT_ROLES))
        out: dict[str, str] = {}
        if contacts is not None and contacts.base:
            k = min(contacts.base, rng.choice((0, 1, 1, 2, 2, 3)))
            for idx in sorted(rng.sample(range(contacts.base), k)):
                out[contacts.record_id(idx)] = rng.choice(w.CONTACT_ROLES)
        self._roles[deal_index] = out
        return out

    @staticmethod
    def contact_role_id(role: str) -> str:
        return make_id(SLOT_CONTACT_ROLES, w.CONTACT_ROLES.index(role) + 1)

    # -- notes and attachments ------------------------------------------------------------
    def notes_for(self, parent_id: str) -> list[int]:
        notes = self.stores.get("Notes")
        if notes is None:
            return []
        if self._notes_index is None or self._notes_index[0] != notes.version:
            index: dict[str, list[int]] = {}
            for i in notes.live_indices():
                rec = notes.overrides.get(i)
                parent = rec.get("Parent_Id") if rec else note_parent(self, notes.mdef, i)
                if parent:
                    index.setdefault(parent["id"], []).append(i)
            self._notes_index = (notes.version, index)
        return self._notes_index[1].get(parent_id, [])

    def attachments_for(self, store: ModuleStore, index: int) -> list[dict[str, Any]]:
        """Attachment metadata of a record: 0-2 generated files (from a hash), then uploads."""
        added = self.added_attachments.get((store.mdef.api_name, index), [])
        if index >= store.total_gen or not store.mdef.attachments:
            return list(added)
        h = mix(self.seed, store.mdef.slot, index, SALT_ATTACH)
        sk = store.skeleton(index)
        out = []
        for j in range(h % 3):
            owner = self.owner_user_ids[(h >> (8 + j)) % len(self.owner_user_ids)]
            created = min(self.data_end, sk.created + ((h >> (16 + j * 4)) % (20 * DAY)))
            ext = ("pdf", "png", "docx", "xlsx")[(h >> (40 + j)) % 4]
            out.append(
                _attachment(
                    make_id(SLOT_ATTACHMENTS, store.mdef.slot * 10**8 + index * 3 + j),
                    f"{store.mdef.singular.lower()}_{index + 1}_{j + 1}.{ext}",
                    size=1024 + (h >> (20 + j)) % 5_000_000,
                    owner=owner,
                    stamped=created,
                    parent=(store.mdef.api_name, store.record_id(index)),
                    file_id=f"{mix(h, j):016x}{mix(j, h):016x}",
                )
            )
        return out + added

    def add_attachment(self, module: str, record_id: str, file_name: str) -> str:
        """Upload a file's metadata to a record now (it is stamped with the current second)."""
        found = self.find(module, record_id)
        if found is None or not found[0].mdef.attachments:
            raise KeyError(f"no live record {record_id} with attachments in {module}")
        store, index = found
        with self.lock:
            serial = sum(len(v) for v in self.added_attachments.values())
            attachment = _attachment(
                # Past every generated attachment's index (module slot * 10**8 + ...).
                make_id(SLOT_ATTACHMENTS, 9 * 10**9 + serial),
                file_name,
                size=1024 + serial,
                owner=self.api_user_id,
                stamped=self.clock.timestamp(),
                parent=(store.mdef.api_name, record_id),
                file_id=f"{mix(self.seed, serial):016x}{mix(serial, self.seed):016x}",
            )
            self.added_attachments.setdefault((module, index), []).append(attachment)
        return str(attachment["id"])

    # -- mutations ------------------------------------------------------------------------
    def _store(self, module: str) -> ModuleStore:
        store = self.stores.get(module)
        if store is None:
            raise KeyError(f"no record module {module!r} in this org")
        return store

    def _live(self, module: str, record_id: str) -> tuple[ModuleStore, int]:
        found = self.find(module, str(record_id))
        if found is None:
            raise KeyError(f"no live {module} record {record_id}")
        return found

    def create_record(self, module: str, values: dict[str, Any] | None = None) -> str:
        with self.lock:
            store = self._store(module)
            now = self.clock.timestamp()
            record_id = store.record_id(store.next_index)
            stored = ingest_values(self, store.mdef, values or {}, now, record_id)
            index = store.create(now, self.api_user_id, stored)
            return store.record_id(index)

    def update_records(
        self,
        module: str,
        record_ids: list[str],
        values: dict[str, Any] | None = None,
        *,
        visible_late_by: int = 0,
    ) -> None:
        """Update several records with one shared ``Modified_Time`` (a mass update).

        ``visible_late_by`` seconds: the write is stamped that long ago but becomes visible only
        now, as a long transaction or a lagging replica would make it.
        """
        with self.lock:
            now = self.clock.timestamp() - visible_late_by
            found = [self._live(module, rid) for rid in record_ids]
            for store, index in found:
                stored = ingest_values(self, store.mdef, values or {}, now, store.record_id(index))
                store.update(index, now, self.api_user_id, stored)

    def delete_record(self, module: str, record_id: str, permanent: bool = False) -> None:
        with self.lock:
            store, index = self._live(module, record_id)
            store.delete(index, self.clock.timestamp(), self.api_user_id, permanent)

    def add_field(self, module: str, api_name: str, data_type: str, **meta: Any) -> None:
        with self.lock:
            mdef = self.modules.get(module)
            if mdef is None:
                raise KeyError(f"no module {module!r}")
            if mdef.field(api_name) is not None:
                raise ValueError(f"{module} already has a field {api_name!r}")
            kwargs: dict[str, Any] = {}
            for key in ("label", "options", "lookup", "json_type", "visible", "view"):
                if key in meta:
                    kwargs[key] = meta.pop(key)
            if "options" in kwargs:
                kwargs["options"] = tuple(kwargs["options"])
            fdef = FieldDef(
                api_name=api_name, data_type=data_type, gen="none", custom=True, meta=meta, **kwargs
            )
            mdef.add_field(fdef)
            self.module_modified[module] = self.clock.timestamp()
            store = self.stores.get(module)
            if store is not None:
                store._touch()

    def add_module(self, api_name: str, *, generated_type: str = "custom", count: int = 0) -> None:
        with self.lock:
            if api_name in self.modules:
                raise ValueError(f"module {api_name!r} already exists")
            if generated_type not in ("custom", "default", "linking"):
                raise ValueError("generated_type must be custom, default or linking")
            slot = max(m.slot for m in self.modules.values()) + 1
            slot = max(slot, 40)
            if slot > MAX_MODULE_SLOT:
                raise ValueError("too many modules")
            fields = [
                f("id", "bigint", "id", read_only=True),
                f("Owner", "ownerlookup", "owner"),
                f("Name", "text", "name", mandatory=True),
                f("Email", "email", "email", null_pct=20, custom=True),
                f("Amount", "currency", "money", null_pct=20, custom=True),
                f("Status", "picklist", "picklist", options=("Open", "Closed"), custom=True),
                f("Description", "textarea", "sentence", null_pct=30, custom=True),
                f("Created_By", "ownerlookup", "created_by", read_only=True),
                f("Modified_By", "ownerlookup", "modified_by", read_only=True),
                f("Created_Time", "datetime", "created_time", read_only=True),
                f("Modified_Time", "datetime", "modified_time", read_only=True),
            ]
            mdef = ModuleDef(
                api_name,
                api_name.replace("_", " "),
                api_name.replace("_", " "),
                fields,
                generated_type=generated_type,
                name_field="Name",
                name_gen="company",
                slot=slot,
                sequence=slot + 1,
            )
            self.modules[api_name] = mdef
            self.module_modified[api_name] = self.clock.timestamp()
            store = ModuleStore(self, self.factory, mdef, count, 0)
            self.stores[api_name] = store
            self.by_slot[slot] = store

    def _campaign(self, campaign_id: str) -> int:
        return self._live("Campaigns", campaign_id)[1]

    def add_member(self, campaign_id: str, module: str, member_id: str, status: str) -> None:
        with self.lock:
            members = self.members(self._campaign(campaign_id))
            if module not in members:
                raise KeyError(f"campaign members are Leads or Contacts, not {module!r}")
            self._live(module, member_id)
            now = self.clock.timestamp()
            self._next_link += 1
            members[module][str(member_id)] = {
                "Member_Status": status,
                "Created_Time": now,
                "Modified_Time": now,
                "id": make_id(SLOT_MEMBERS, self._next_link),
            }

    def set_member_status(self, campaign_id: str, module: str, member_id: str, status: str) -> None:
        with self.lock:
            info = self.members(self._campaign(campaign_id))[module][str(member_id)]
            info["Member_Status"] = status
            info["Modified_Time"] = self.clock.timestamp()

    def remove_member(self, campaign_id: str, module: str, member_id: str) -> None:
        with self.lock:
            del self.members(self._campaign(campaign_id))[module][str(member_id)]

    def set_contact_role(self, deal_id: str, contact_id: str, role: str) -> None:
        with self.lock:
            if role not in w.CONTACT_ROLES:
                raise ValueError(f"unknown contact role {role!r}; one of {w.CONTACT_ROLES}")
            self._live("Contacts", contact_id)
            self.contact_role_map(self._live("Deals", deal_id)[1])[str(contact_id)] = role

    def remove_contact_role(self, deal_id: str, contact_id: str) -> None:
        with self.lock:
            del self.contact_role_map(self._live("Deals", deal_id)[1])[str(contact_id)]

    # -- ground truth ---------------------------------------------------------------------
    def count(self, module: str) -> int:
        with self.lock:
            return self._store(module).live_count()

    def record_ids(self, module: str) -> set[str]:
        with self.lock:
            store = self._store(module)
            return {store.record_id(i) for i in store.live_indices()}

    def get_record(self, module: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            store, index = self._live(module, record_id)
            rec = store.record(index) or {}
            return copy.deepcopy(self.renderer().record(store.mdef, rec, None, single=True))

    def iter_records(self, module: str) -> Iterator[dict[str, Any]]:
        with self.lock:
            store = self._store(module)
            indices = store.live_indices()
        for index in indices:
            with self.lock:
                if not store.is_live(index):
                    continue
                rec = store.record(index) or {}
                out = self.renderer().record(store.mdef, rec, None, single=True)
            yield copy.deepcopy(out)

    def deleted_json(
        self, store: ModuleStore, entry: dict[str, Any], r: Renderer
    ) -> dict[str, Any]:
        return {
            "id": store.record_id(entry["index"]),
            "display_name": entry["display_name"],
            "type": entry["type"],
            "deleted_time": r.dt(entry["deleted_time"]),
            "deleted_by": r.user_ref(entry["deleted_by"], email=False),
            "created_by": r.user_ref(entry["created_by"], email=False),
        }

    def deleted_records(self, module: str) -> list[dict[str, Any]]:
        with self.lock:
            store = self._store(module)
            r = self.renderer()
            entries = store.deleted_entries(self.clock.timestamp())
            entries.sort(key=lambda e: e["index"], reverse=True)
            return [self.deleted_json(store, e, r) for e in entries]

    def campaign_members(self, campaign_id: str, module: str) -> dict[str, str]:
        with self.lock:
            members = self.members(self._campaign(campaign_id)).get(module, {})
            return {
                mid: info["Member_Status"]
                for mid, info in members.items()
                if self.find(module, mid) is not None
            }

    def contact_roles(self, deal_id: str) -> dict[str, str]:
        with self.lock:
            roles = self.contact_role_map(self._live("Deals", deal_id)[1])
            return {cid: role for cid, role in roles.items() if self.find("Contacts", cid)}


def _attachment(
    attachment_id: str,
    file_name: str,
    *,
    size: int,
    owner: str,
    stamped: int,
    parent: tuple[str, str],
    file_id: str,
) -> dict[str, Any]:
    """One attachment's metadata as the store keeps it (rendered into Zoho's shape on reads)."""
    module, record_id = parent
    return {
        "id": attachment_id,
        "File_Name": file_name,
        "Size": str(size),
        "Owner": owner,
        "Created_By": owner,
        "Modified_By": owner,
        "Created_Time": stamped,
        "Modified_Time": stamped,
        "Parent_Id": record_id,
        "$file_id": file_id,
        "$type": "Attachment",
        "$se_module": module,
        "$link_url": None,
        "$editable": True,
        "$sharing_permission": "full_access",
        "$state": "save",
    }
