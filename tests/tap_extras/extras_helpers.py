"""Helpers for the derived-stream tests: ground truth from the emulator, converted for comparison.

The truth side is converted here (string ids to int, offsets to UTC instants); the emitted side is
only checked, never converted by the tap's own code.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import checked_walk_calls
from tests.tap.tap_helpers import instant, is_utc_string

PAGE = 200
RELATED_ROUTE = "GET /crm/v8/{module}/{id}/{related}"
RECORDS_ROUTE = "GET /crm/v8/{module}"
DELETED_ROUTE = "GET /crm/v8/{module}/deleted"
SINGLE_ROUTE = "GET /crm/v8/{module}/{id}"
COQL_ROUTE = "POST /crm/v8/coql"

JUNCTION_MEMBERS = {"Campaigns_Leads": "Leads", "Campaigns_Contacts": "Contacts"}
MEMBER_KEYS = {"Campaigns_Leads": "Lead_Id", "Campaigns_Contacts": "Contact_Id"}


def pages(count: int, size: int = PAGE) -> int:
    """Calls a list walk makes for `count` rows: one per page, and one even when empty."""
    return max(1, math.ceil(count / size))


def deleted_truth(zoho: ZohoEmulator, module: str) -> dict[int, dict[str, Any]]:
    """`/deleted` entries by integer id, datetimes as instants."""
    out = {}
    for entry in zoho.deleted_records(module):
        out[int(entry["id"])] = {
            "deleted_time": instant(entry["deleted_time"]),
            "type": entry["type"],
            "display_name": entry["display_name"],
            "deleted_by": int(entry["deleted_by"]["id"]) if entry["deleted_by"] else None,
        }
    return out


def check_deleted_rows(rows: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Emitted deleted rows by id, in the truth's shape; asserts the row format on the way."""
    out = {}
    for row in rows:
        assert isinstance(row["id"], int)
        assert row["_zoho_deleted"] is True
        assert is_utc_string(row["deleted_time"]), row["deleted_time"]
        out[row["id"]] = {
            "deleted_time": instant(row["deleted_time"]),
            "type": row["type"],
            "display_name": row["display_name"],
            "deleted_by": row["deleted_by"]["id"] if row["deleted_by"] else None,
        }
    return out


def member_truth(zoho: ZohoEmulator, stream: str) -> set[tuple[int, int, str]]:
    """(campaign, member, Member_Status) of every campaign member, from the emulator."""
    module = JUNCTION_MEMBERS[stream]
    return {
        (int(campaign), int(member), status)
        for campaign in zoho.record_ids("Campaigns")
        for member, status in zoho.campaign_members(campaign, module).items()
    }


def role_truth(zoho: ZohoEmulator) -> set[tuple[int, int, str]]:
    """(deal, contact, role) of every deal contact role, from the emulator."""
    return {
        (int(deal), int(contact), role)
        for deal in zoho.record_ids("Deals")
        for contact, role in zoho.contact_roles(deal).items()
    }


def junction_truth(zoho: ZohoEmulator, stream: str) -> set[tuple[int, int, str]]:
    """The truth of any junction stream as (parent, member, status or role)."""
    return role_truth(zoho) if stream == "Deals_Contact_Roles" else member_truth(zoho, stream)


def junction_rows(stream: str, rows: Iterable[dict[str, Any]]) -> set[tuple[int, int, str]]:
    """Emitted junction rows in the truth's shape."""
    if stream == "Deals_Contact_Roles":
        return {(r["_parent_id"], r["Contact_Id"], r["Contact_Role"]) for r in rows}
    key = MEMBER_KEYS[stream]
    return {(r["_parent_id"], r[key], r["Member_Status"]) for r in rows}


PARENT_MODULES = {
    "Campaigns_Leads": "Campaigns",
    "Campaigns_Contacts": "Campaigns",
    "Deals_Contact_Roles": "Deals",
}


def parent_ids(zoho: ZohoEmulator, stream: str, parents: Iterable[str] | None = None) -> list[str]:
    """The parents a pass reads (default: all of them)."""
    return sorted(zoho.record_ids(PARENT_MODULES[stream])) if parents is None else list(parents)


def related_cost(zoho: ZohoEmulator, stream: str, parents: Iterable[str] | None = None) -> int:
    """The documented related-list cost of a pass: one call per 200 rows of each parent (at
    least one), from the emulator's stored relations."""
    per_parent = 0
    for parent in parent_ids(zoho, stream, parents):
        if stream == "Deals_Contact_Roles":
            rows = len(zoho.contact_roles(parent))
        else:
            rows = len(zoho.campaign_members(parent, JUNCTION_MEMBERS[stream]))
        per_parent += pages(rows)
    return per_parent


def junction_cost(zoho: ZohoEmulator, stream: str, parents: Iterable[str] | None = None) -> int:
    """The documented cost of a pass: the parent walk, plus `related_cost`.

    The walk's calls come from the emulator's call log, checked against docs/cost.md
    (`checked_walk_calls`): call this right after the pass, and only when the pass is the one
    walk of its parent module since the counters were reset.
    """
    ids = parent_ids(zoho, stream, parents)
    walk = checked_walk_calls(zoho, PARENT_MODULES[stream], ids)
    return walk + related_cost(zoho, stream, ids)


def campaign_passes_cost(zoho: ZohoEmulator) -> int:
    """Both campaign junctions' complete passes: two walks of Campaigns and their lists."""
    ids = parent_ids(zoho, "Campaigns_Leads")
    walks = checked_walk_calls(zoho, "Campaigns", ids, walks=2)
    return walks + sum(related_cost(zoho, s) for s in ("Campaigns_Leads", "Campaigns_Contacts"))


def align_to_second_start(zoho: ZohoEmulator) -> None:
    """Move the emulator clock to just after a whole second, so the next few in-process
    mutations (microseconds each) share one Zoho timestamp."""
    now = zoho.clock.time()
    zoho.clock.advance(math.ceil(now) - now + 0.001)


@contextmanager
def peak_in_flight(zoho: ZohoEmulator) -> Iterator[list[int]]:
    """The most CRM calls the emulator served at once inside the block; yields [peak], set on
    exit. The emulator counts it as each call enters, so no sampling can miss a burst."""
    peak = [0]
    zoho.limits.reset_peak()
    try:
        yield peak
    finally:
        peak[0] = zoho.limits.peak_in_flight


def utc(value: dt.datetime) -> str:
    """An instant as the tap writes it."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
