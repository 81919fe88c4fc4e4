"""COQL over a plain ``Modified_Time`` range: two bisections, the same rows as a full walk.

``coql.rows_for`` answers such queries from the module's Modified_Time order (planners send a
count per window, and walking 100,000 records per question held the org lock for 200 ms). Every
shape here is answered both ways, with ``ranges=False`` (``org.coql_ranges``) walking every
record as before, and the rows must be equal, key for key and in order; over HTTP the answers
must be equal byte for byte.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from emu_helpers import Api

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.coql import _Parser, rows_for, tokenize


@pytest.fixture(scope="module")
def zoho() -> ZohoEmulator:
    """A small org whose Leads were updated, created and deleted (overrides join the order)."""
    emu = ZohoEmulator(profile="minimal", seed=13, size={"Leads": 900})
    ids = sorted(emu.record_ids("Leads"), key=int)
    emu.update_records("Leads", ids[10:40], {"Last_Name": "Mass"})  # a block of tied instants
    emu.clock.advance(3)
    emu.update_record("Leads", ids[5], {"Last_Name": "Later"})
    emu.create_record("Leads", {"Last_Name": "Brand New"})
    emu.delete_record("Leads", ids[7])
    return emu


def _instants(zoho: ZohoEmulator) -> list[str]:
    """Instants spread over the data, plus the exact instants of a few records (ties, edges)."""
    org = zoho.org
    span = org.data_end - org.data_start
    stamps = [org.data_start + span * k // 6 for k in range(7)]
    store = org.stores["Leads"]
    every, times = store.modified_order("both")
    stamps += [times[0], times[len(times) // 2], times[-1], store.modified(every[-5])]
    return [datetime.fromtimestamp(t, UTC).isoformat() for t in stamps]


def _where_clauses(zoho: ZohoEmulator) -> list[str]:
    instants = _instants(zoho)
    out = []
    for a in instants[::2]:
        for op in (">", ">=", "<", "<="):
            out.append(f"Modified_Time {op} '{a}'")
        for b in instants[1::2]:
            out.append(f"Modified_Time > '{a}' and Modified_Time < '{b}'")
            out.append(f"Modified_Time between '{a}' and '{b}'")
            out.append(f"Modified_Time >= '{a}' and Modified_Time <= '{b}'")
    return out


ORDERS = (
    "",
    "order by Modified_Time asc",
    "order by Modified_Time desc",
    "order by Modified_Time asc, id asc",
    "order by Modified_Time desc, id desc",
)


def test_range_rows_equal_the_full_walk(zoho: ZohoEmulator) -> None:
    org = zoho.org
    mdef = org.modules["Leads"]
    checked = 0
    for where in _where_clauses(zoho):
        for order in ORDERS:
            query = _Parser(tokenize(f"select Last_Name from Leads where {where} {order}")).parse()
            with org.lock:
                fast = rows_for(org, mdef, query.conditions, query.order)
                slow = rows_for(org, mdef, query.conditions, query.order, ranges=False)
                assert type(fast) is not list  # the range path answered
                assert list(fast) == list(slow), (where, order)
                assert len(fast) == len(slow)
                for start, stop in ((0, 1), (3, 50), (len(slow) - 2, len(slow) + 5)):
                    assert fast[start:stop] == slow[start:stop], (where, order, start)
            checked += 1
    assert checked == len(_where_clauses(zoho)) * len(ORDERS)


def test_range_answers_over_http_are_the_same_bytes(zoho: ZohoEmulator) -> None:
    with zoho:
        api = Api(zoho)
        queries = []
        for where in _where_clauses(zoho)[:12]:
            queries.append(f"select count(id) from Leads where {where}")
            queries.append(
                f"select Last_Name, Modified_Time from Leads where {where} "
                "order by Modified_Time asc limit 7 offset 3"
            )
            queries.append(f"select Modified_Time from Leads where {where} limit 5 offset 2")
        fast = [api.post("/crm/v8/coql", {"select_query": q}) for q in queries]
        zoho.org.coql_ranges = False
        try:
            zoho.org.query_cache.clear()
            slow = [api.post("/crm/v8/coql", {"select_query": q}) for q in queries]
        finally:
            zoho.org.coql_ranges = True
    assert any(r.status_code == 200 for r in fast)
    for query, a, b in zip(queries, fast, slow, strict=True):
        assert (a.status_code, a.content) == (b.status_code, b.content), query
