"""The completeness fallbacks of the Modified_Time walk, each driven by the emulator.

* COQL refused (the refresh token lacks ``ZohoCRM.coql.READ``): a same-second block whose
  order proves unstable is walked by page token until walks in a row find nothing new.
* A page token that stops working inside a same-second block (``page_token_reach`` lowered so
  the block outruns it): the walk restarts at the block's instant.

Every test checks completeness id by id against the emulator's own records, under both
readings of If-Modified-Since.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.testing.emulator import ZohoEmulator

MAX_PAGE = 200
SCOPES_WITHOUT_COQL = (
    "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.bulk.READ"
)


@pytest.fixture(params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=5, size={"Contacts": 2500}) as zoho:
        zoho.faults.if_modified_since_exclusive = request.param
        yield zoho


def _sync_dense_update(zoho: ZohoEmulator, config: dict, per_second: int) -> tuple[list, set]:
    """Sync Contacts, update 1,350 of them ``per_second`` per emulated second, sync again."""
    catalog = select_only(discover(config), {"Contacts"})
    first = run_sync(config, catalog=catalog)
    ids = sorted(zoho.record_ids("Contacts"))[:1350]
    zoho.clock.advance(100)
    for start in range(0, len(ids), per_second):
        zoho.update_records("Contacts", ids[start : start + per_second])
        zoho.clock.advance(1)
    zoho.clock.advance(100)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    return second.ids("Contacts"), {int(i) for i in ids}


@pytest.mark.parametrize("unstable", [False, True], ids=["stable-order", "unstable-order"])
def test_without_coql_a_tie_block_is_walked_by_token_until_quiet(org, unstable, caplog):
    org.faults.unstable_tie_order = unstable
    org.faults.fault_seed = 3
    token = org.issue_refresh_token(scope=SCOPES_WITHOUT_COQL)
    caplog.set_level(logging.INFO)
    emitted, changed = _sync_dense_update(org, org.tap_config(refresh_token=token), 450)
    assert sorted(emitted) == sorted(changed)
    refused = [r for r in caplog.records if "by id was refused" in r.getMessage()]
    if unstable:
        assert refused, "the unstable order sent the walk to COQL, which refused"
        assert org.stats.calls["POST /crm/v8/coql"] >= 1
    else:
        assert not refused


def test_a_second_past_page_tokens_reach_is_read_by_id(org, caplog):
    org.faults.page_token_reach = 400  # a 450-record second outruns it
    caplog.set_level(logging.INFO)
    emitted, changed = _sync_dense_update(org, org.tap_config(), 450)
    assert sorted(emitted) == sorted(changed)
    assert [r for r in caplog.records if "Paging stopped inside" in r.getMessage()]
    assert org.stats.calls["POST /crm/v8/coql"] >= 1


def test_without_coql_a_second_past_page_tokens_reach_fails_clearly(org):
    """No reader reaches that block: the run fails with a line naming it, bookmark kept."""
    org.faults.page_token_reach = 400
    token = org.issue_refresh_token(scope=SCOPES_WITHOUT_COQL)
    with pytest.raises(Exception, match="cannot page past the records sharing Modified_Time"):
        _sync_dense_update(org, org.tap_config(refresh_token=token), 450)


def test_a_tie_block_is_followed_by_page_number_where_zoho_gives_no_token(org, caplog):
    """Section 13's other reading: a token only from page 10 on. Inside a 450-record second the
    walk follows ``page`` + 1 (the query's own If-Modified-Since) and misses nothing."""
    org.faults.records_token_from_page_10 = True
    caplog.set_level(logging.INFO)
    emitted, changed = _sync_dense_update(org, org.tap_config(), 450)
    assert sorted(emitted) == sorted(changed)
    assert [r for r in caplog.records if "following page tokens" in r.getMessage()]
    followed = [c for c in org.stats.log if c.route == "GET /crm/v8/{module}" and "page" in c.query]
    assert followed, "the block was followed by page number"
    assert not [c for c in org.stats.log if "page_token" in c.query]


def test_records_deleted_inside_a_tie_block_mid_walk_leave_no_survivor_behind(org, caplog):
    """Positions shift when records of a same-second block are deleted while it is walked by
    page token: the token then points past the end (Zoho answers 204). The walk takes the
    block again from its instant and every record still there is emitted."""
    config = org.tap_config(streams_in_flight=1)
    catalog = select_only(discover(config), {"Contacts"})
    first = run_sync(config, catalog=catalog)
    block = sorted(org.record_ids("Contacts"))[:450]
    org.clock.advance(100)
    org.update_records("Contacts", block)  # one second, the newest of the module
    deleted: list[str] = []
    emitted: list[str] = []

    def delete_once(message: dict) -> None:
        """While the block's second page is out, delete 60 records already emitted: the 50
        not yet read move up to positions the token walk has passed, and the next token
        position (400) lies past the end of the answer (390)."""
        if message.get("type") != "RECORD" or message["stream"] != "Contacts":
            return
        emitted.append(str(message["record"]["id"]))
        if len(emitted) == MAX_PAGE + 1 and not deleted:
            deleted.extend(emitted[:60])
            for record_id in deleted:
                org.delete_record("Contacts", record_id)

    caplog.set_level(logging.INFO)
    second = run_sync(config, catalog=catalog, state=first.final_state, on_message=delete_once)
    assert deleted, "the block was being emitted when its records were deleted"
    assert [r for r in caplog.records if "following page tokens" in r.getMessage()]
    survivors = {int(r) for r in block} - {int(r) for r in deleted}
    assert len(survivors) == 390
    assert survivors <= set(second.ids("Contacts"))
    assert set(second.ids("Contacts")) <= {int(r) for r in block}
