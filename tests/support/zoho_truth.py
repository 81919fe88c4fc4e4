"""Ground truth from the emulator's Python API, in the shapes the end-to-end tests compare against.

The emulator returns records in Zoho's raw shape (string ids, datetimes with the API user's
offset); loaded data has integer ids and UTC datetimes. These helpers convert the truth, never
the loaded data, so a wrong conversion in the tap cannot hide behind the same wrong conversion
here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tap_zoho_crm.testing.emulator import ZohoEmulator


def instant(value: Any) -> dt.datetime:
    """A datetime from a string or a datetime, as an aware UTC instant (naive means UTC)."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def live_ids(zoho: ZohoEmulator, module: str) -> set[int]:
    """Live record ids of `module` as integers."""
    return {int(record_id) for record_id in zoho.record_ids(module)}


def modified_times(zoho: ZohoEmulator, module: str) -> dict[int, dt.datetime]:
    """`Modified_Time` of every live record of `module`, as UTC instants."""
    return {int(r["id"]): instant(r["Modified_Time"]) for r in zoho.iter_records(module)}


def secrets(zoho: ZohoEmulator) -> list[str]:
    """Every secret the tap holds: client secret, refresh token, the access tokens it got."""
    return [zoho.client_secret, zoho.refresh_token, *zoho.issued_access_tokens()]


def text_field(zoho: ZohoEmulator, module: str) -> str | None:
    """A plain, writable text field of `module` (for updates whose value a test checks), if any."""
    for meta in zoho.fields(module):
        writable = not meta.get("read_only") and not meta.get("system_mandatory", False)
        if meta.get("data_type") == "text" and writable and meta.get("api_name") != "id":
            return str(meta["api_name"])
    return None


@dataclass
class Changes:
    """What `mutate` did, per module."""

    updated: dict[str, set[int]] = field(default_factory=dict)
    created: dict[str, set[int]] = field(default_factory=dict)
    deleted: dict[str, set[int]] = field(default_factory=dict)
    # module -> (field api name, {id: new value}) for updated records whose value a test can check
    values: dict[str, tuple[str, dict[int, str]]] = field(default_factory=dict)

    def changed(self, module: str) -> set[int]:
        """Ids a module stream must re-emit: updated and created (deleted ones go elsewhere)."""
        return self.updated.get(module, set()) | self.created.get(module, set())


def mutate(zoho: ZohoEmulator, modules: Iterable[str], *, delete: bool = True) -> Changes:
    """Update two records, create one and (optionally) delete one in each module.

    Updated records get a new value in a writable text field where the module has one, so a test
    can check that the new value arrived, not only the id.
    """
    changes = Changes()
    for module in modules:
        ids = sorted(live_ids(zoho, module))
        to_update, to_delete = ids[:2], ids[2:3] if delete else []
        field_name = text_field(zoho, module)
        new_values: dict[int, str] = {}
        for record_id in to_update:
            if field_name is None:
                zoho.update_record(module, str(record_id))
            else:
                new_values[record_id] = f"updated-by-test-{record_id % 100000}"
                zoho.update_record(module, str(record_id), {field_name: new_values[record_id]})
        if field_name is not None:
            changes.values[module] = (field_name, new_values)
        changes.updated[module] = set(to_update)
        changes.created[module] = {int(zoho.create_record(module))}
        for record_id in to_delete:
            zoho.delete_record(module, str(record_id))
        changes.deleted[module] = set(to_delete)
    return changes


def modules_to_mutate(zoho: ZohoEmulator, how_many: int = 3) -> list[str]:
    """A few modules with enough records, always including the widest (>50 fields) module."""
    modules = [m for m in sorted(zoho.module_names()) if zoho.count(m) >= 5]
    widest = max(modules, key=lambda m: len(zoho.fields(m)))
    return [widest, *[m for m in modules if m != widest][: how_many - 1]]
