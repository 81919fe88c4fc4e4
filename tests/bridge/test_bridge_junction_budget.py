"""A junction read as a Lakeflow snapshot is never cut short by the tap's credit budget.

The tap spreads a junction pass that does not fit its run budget over several runs; a snapshot
read has no state to resume from, and a partial snapshot would make Lakeflow delete the rest of
the table. So the bridge reads junctions whole, and only Zoho's own limit can stop them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge_helpers import connection_options

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect

TABLE = "Deals_Contact_Roles"


def test_a_junction_snapshot_is_read_whole_even_past_half_of_the_days_credits(
    fresh_zoho: Callable[..., Any],
) -> None:
    zoho = fresh_zoho()
    connector = ZohoCrmLakeflowConnect(
        connection_options(zoho, include_modules="Deals,Contacts,Deals_Contact_Roles")
    )
    deals = zoho.record_ids("Deals")
    # Zoho starts reporting what is left halfway through the pass; the tap's default budget
    # (half of that) would stop the pass there.
    zoho.faults.daily_credits = zoho.stats.credits + len(deals) + 100
    rows, _ = connector.read_table(TABLE, {}, {})
    got = {(row["_parent_id"], row["Contact_Id"]) for row in rows}
    truth = {(int(deal), int(contact)) for deal in deals for contact in zoho.contact_roles(deal)}
    assert zoho.stats.calls_by_module[("GET /crm/v8/{module}/{id}/{related}", "Deals")] == len(
        deals
    )
    assert got == truth
