"""Branches of the derived streams (``tap_zoho_crm/streams/``) that decide what is read.

Each test drives one branch through the real tap against the emulator and checks the output
id by id against the emulator's own data. Where a branch needs the org to change at an exact
point of a run (a parent deleted once its related list is about to be read), the test changes
it from the emulator's ``before_call`` hook, never at a moment it hopes for.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tap_helpers import discover, run_sync, select_only
from test_tap_plan import plan_for, run_and_compare

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.zoho_truth import instant, live_ids, modified_times
from tests.tap_extras.extras_helpers import deleted_truth, junction_rows, junction_truth
from tests.tap_extras.test_extras_notes_attachments import attachment_truth
from tests.tap_extras.test_extras_subforms import NO_COQL, check_rows

RELATED_ROUTE = "GET /crm/v8/{module}/{id}/{related}"
SINGLE_ROUTE = "GET /crm/v8/{module}/{id}"


@pytest.fixture(params=[False, True], ids=["ims-inclusive", "ims-exclusive"])
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="minimal", seed=13) as zoho:
        zoho.faults.if_modified_since_exclusive = request.param
        yield zoho


@pytest.fixture
def one_org() -> Iterator[ZohoEmulator]:
    """For branches If-Modified-Since plays no part in (first syncs, errors, discovery)."""
    with ZohoEmulator(profile="minimal", seed=13) as zoho:
        yield zoho


def once_at(route: str, action: Callable[[], None]) -> Callable[[str, str, dict], None]:
    """A ``before_call`` hook that runs ``action`` when the first call of ``route`` comes."""
    done = threading.Lock()
    fired: list[bool] = []

    def hook(called: str, path: str, query: dict) -> None:
        del path, query
        with done:
            if called != route or fired:
                return
            fired.append(True)
            action()

    return hook


@pytest.mark.parametrize("gone_as_400", [False, True], ids=["gone-204", "gone-400"])
def test_a_pass_whose_every_parent_was_deleted_keeps_the_previous_rows(org, gone_as_400, caplog):
    """Every campaign is deleted after the walk listed it, before its member list was read:
    every list answers "record gone", and the one parent checked is gone too. The pass sends
    no rows and no ACTIVATE_VERSION (the previous rows stay, not a table emptied by mistake);
    the next pass, over no campaign, is complete and activates an empty version."""
    stream = "Campaigns_Leads"
    config = {
        **org.tap_config(),
        "emit_activate_version_messages": True,
        "junction_full_pass_hours": 0,
    }
    catalog = select_only(discover(config), {stream})
    first = run_sync(config, catalog=catalog)
    assert junction_rows(stream, first.records[stream]) == junction_truth(org, stream)
    campaigns = sorted(org.record_ids("Campaigns"))

    def delete_every_campaign() -> None:
        for campaign in campaigns:
            org.delete_record("Campaigns", campaign)

    org.faults.unknown_id_answers_400 = gone_as_400  # section 5: both answers mean "gone"
    org.faults.before_call = once_at(RELATED_ROUTE, delete_every_campaign)
    caplog.set_level(logging.WARNING)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    org.faults.before_call = None
    assert not org.record_ids("Campaigns")
    assert not second.records.get(stream)
    assert not [m for m in second.messages if m["type"] == "ACTIVATE_VERSION"]
    assert [r for r in caplog.records if "was deleted before its" in r.getMessage()]
    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert junction_rows(stream, third.records.get(stream, [])) == junction_truth(org, stream)
    assert [m for m in third.messages if m["type"] == "ACTIVATE_VERSION"]


def entry_of(catalog: dict[str, Any], stream: str) -> dict[str, Any]:
    return next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)


def as_full_table(catalog: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """The catalog with these streams set to FULL_TABLE (no replication key), as a user may."""
    for stream in streams:
        entry = entry_of(catalog, stream)
        entry.pop("replication_key", None)
        entry["replication_method"] = "FULL_TABLE"
        for item in entry["metadata"]:
            if not item["breadcrumb"]:
                item["metadata"]["forced-replication-method"] = "FULL_TABLE"
                item["metadata"].pop("replication-key", None)
                item["metadata"]["replication-method"] = "FULL_TABLE"
    return catalog


def test_users_and_deletions_as_full_table_read_everything_every_run(one_org):
    """A catalog that makes Users, a deleted list and a subform FULL_TABLE: no bookmark, so
    every run reads every user (both lists), every deletion Zoho lists and every subform row."""
    config = one_org.tap_config(include_subforms=True)
    streams = {"Users", "Contacts_deleted", "Quoted_Items"}
    catalog = as_full_table(select_only(discover(config), streams), streams)
    for record_id in sorted(one_org.record_ids("Contacts"))[:3]:
        one_org.delete_record("Contacts", record_id)
    for _ in range(2):
        result = run_sync(config, catalog=catalog)
        assert set(result.ids("Users")) == {int(u) for u in one_org.user_ids()}
        assert sorted(result.ids("Contacts_deleted")) == sorted(deleted_truth(one_org, "Contacts"))
        check_rows(one_org, "Quoted_Items", result.records["Quoted_Items"])


def test_a_module_named_like_a_derived_stream_keeps_its_name(one_org, caplog):
    """A custom module called ``Contacts_deleted`` is a module stream; the deleted list of
    Contacts is then not derived under that name (one warning), and the module's records
    come through as they are."""
    one_org.add_module("Contacts_deleted", count=4)
    caplog.set_level(logging.WARNING)
    config = one_org.tap_config()
    catalog = discover(config)
    assert [r for r in caplog.records if "Not deriving stream Contacts_deleted" in r.getMessage()]
    kinds = {
        e["tap_stream_id"]: next(m["metadata"] for m in e["metadata"] if not m["breadcrumb"])[
            "zoho-stream-kind"
        ]
        for e in catalog["streams"]
    }
    assert kinds["Contacts_deleted"] == "module"
    result = run_sync(config, catalog=select_only(catalog, {"Contacts_deleted"}))
    assert set(result.ids("Contacts_deleted")) == live_ids(one_org, "Contacts_deleted")


def test_plan_of_attachments_and_subforms_is_within_10_percent_of_the_run(one_org):
    config = one_org.tap_config(include_attachments=True, include_subforms=True)
    streams = {"Attachments", "Quoted_Items", "Installation_Parts"}
    catalog = select_only(discover(config), streams)
    plan = plan_for(one_org, config, catalog)
    assert {row.stream for row in plan.rows} >= streams
    run_and_compare(one_org, config, catalog, plan)


def test_attachments_of_a_module_refused_midway_are_skipped_the_others_read(one_org, caplog):
    """The profile loses Contacts during the run: their attachments are skipped with one
    warning, every other module's attachments come through, id by id."""
    config = one_org.tap_config(include_attachments=True)
    catalog = select_only(discover(config), {"Attachments"})
    entry = entry_of(catalog, "Attachments")
    modules = next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])[
        "zoho-parent-modules"
    ]
    assert "Contacts" in modules
    one_org.faults.denied_modules = {"Contacts"}
    caplog.set_level(logging.WARNING)
    result = run_sync(config, catalog=catalog)
    others = [module for module in modules if module != "Contacts"]
    assert {r["id"] for r in result.records["Attachments"]} == set(
        attachment_truth(one_org, others)
    )
    assert [r for r in caplog.records if "skipping the attachments of Contacts" in r.getMessage()]


def test_subform_rows_of_a_parent_deleted_before_its_get_are_none(caplog):
    """Without COQL, subform rows come from one GET per parent (after the first page of
    parents, without asking COQL again); a parent deleted between the walk and its GET has no
    rows (it is gone), and every other parent's rows come through."""
    with ZohoEmulator(profile="minimal", seed=13) as zoho:
        token = zoho.issue_refresh_token(scope=NO_COQL)
        config = zoho.tap_config(refresh_token=token, include_subforms=True, page_size=4)
        catalog = select_only(discover(config), {"Quoted_Items"})
        quotes = sorted(zoho.record_ids("Quotes"))
        gone: list[str] = []

        def delete_the_parent(route: str, path: str, query: dict) -> None:
            del query
            if route == SINGLE_ROUTE and "/Quotes/" in path and not gone:
                gone.append(path.rsplit("/", 1)[1])
                zoho.delete_record("Quotes", gone[0])

        zoho.faults.before_call = delete_the_parent
        result = run_sync(config, catalog=catalog)
        zoho.faults.before_call = None
        assert gone, "a parent's GET came"
        assert gone[0] in quotes
        rows = result.records["Quoted_Items"]
        assert not [r for r in rows if r["_parent_id"] == int(gone[0])]
        check_rows(zoho, "Quoted_Items", rows)


def test_a_start_date_in_the_future_reads_nothing_and_says_so(one_org, caplog):
    config = one_org.tap_config(start_date="2099-01-01T00:00:00Z")
    catalog = select_only(discover(config), {"Contacts"})
    caplog.set_level(logging.WARNING)
    result = run_sync(config, catalog=catalog)
    future = [r for r in caplog.records if "is in the future" in r.getMessage()]
    assert future
    # Nothing in the emulator is modified that late: its truth is empty, and so is the output.
    start = instant("2099-01-01T00:00:00Z")
    assert not [i for i, when in modified_times(one_org, "Contacts").items() if when >= start]
    assert not result.records.get("Contacts")


@pytest.mark.parametrize("token_from_page_10", [False, True], ids=["tokens", "pages-first"])
def test_a_module_read_as_full_table_reads_every_record_by_page(one_org, token_from_page_10):
    """A module the catalog makes FULL_TABLE is read without a Modified_Time sort, page after
    page (by number where Zoho gives no token yet, section 13): every live record, and the
    plan of it within 10 % of the run."""
    one_org.faults.records_token_from_page_10 = token_from_page_10
    config = one_org.tap_config(page_size=10, bulk_read_min_records=0)
    catalog = as_full_table(select_only(discover(config), {"Contacts"}), {"Contacts"})
    plan = plan_for(one_org, config, catalog)
    assert plan.rows[0].mode.startswith("full table")
    run_and_compare(one_org, config, catalog, plan)
    result = run_sync(config, catalog=catalog)
    assert sorted(result.ids("Contacts")) == sorted(live_ids(one_org, "Contacts"))


def test_a_deleted_list_refused_for_permission_fails_its_stream_clearly(one_org):
    """403 ``NO_PERMISSION`` on ``/Contacts/deleted`` is not "no deleted list here": the stream
    fails with the code named, never an empty list taken as "nothing was deleted"."""
    config = {**one_org.tap_config(), "skip_unavailable_streams": False}
    catalog = select_only(discover(config), {"Contacts_deleted"})
    one_org.delete_record("Contacts", sorted(one_org.record_ids("Contacts"))[0])
    one_org.faults.denied_modules = {"Contacts"}
    with pytest.raises(Exception, match="NO_PERMISSION"):
        run_sync(config, catalog=catalog)


def test_a_related_list_refused_midway_fails_the_pass_and_activates_nothing(one_org):
    """The campaigns are listed, then every member-list call answers 403 ``NO_PERMISSION``
    (the profile lost Campaigns): not "parent gone", so the pass fails; no ACTIVATE_VERSION
    drops the rows of the earlier pass."""
    stream = "Campaigns_Leads"
    config = {
        **one_org.tap_config(),
        "emit_activate_version_messages": True,
        "junction_full_pass_hours": 0,
        "skip_unavailable_streams": False,
    }
    catalog = select_only(discover(config), {stream})
    first = run_sync(config, catalog=catalog)
    assert junction_rows(stream, first.records[stream]) == junction_truth(one_org, stream)
    one_org.faults.denied_modules = {"Campaigns"}
    one_org.faults.denied_after = 1  # the walk of the campaigns goes out well
    messages: list[dict[str, Any]] = []
    with pytest.raises(Exception, match="NO_PERMISSION"):
        run_sync(config, catalog=catalog, state=first.final_state, on_message=messages.append)
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]


def test_attachments_excluded_by_name_are_not_derived(one_org):
    config = one_org.tap_config(include_attachments=True, exclude_modules=["Attachments"])
    names = {e["tap_stream_id"] for e in discover(config)["streams"]}
    assert "Attachments" not in names
    assert "Contacts" in names


def test_a_record_deleted_before_its_whole_rich_text_is_read_is_sent_as_listed(one_org):
    """Rich text cut at 500 characters in the list is re-read by a single-record GET; a record
    deleted just before that GET is still sent (with the listed value), and every other
    record comes with its whole value, as the emulator stores it."""
    module = "Installations"
    config = one_org.tap_config(full_rich_text=True)
    catalog = select_only(discover(config), {module})
    listed = live_ids(one_org, module)
    gone: list[int] = []

    def delete_at_first_get(route: str, path: str, query: dict) -> None:
        del query
        if route == SINGLE_ROUTE and f"/{module}/" in path and not gone:
            gone.append(int(path.rsplit("/", 1)[1]))
            one_org.delete_record(module, str(gone[0]))

    one_org.faults.before_call = delete_at_first_get
    result = run_sync(config, catalog=catalog)
    one_org.faults.before_call = None
    assert gone, "a cut value was re-read"
    assert set(result.ids(module)) == listed
    checked = 0
    for record in result.records[module]:
        if record["id"] in gone:
            continue
        stored = one_org.get_record(module, str(record["id"]))
        for name, value in stored.items():
            if isinstance(value, str) and len(value) >= 500:
                assert record[name] == value, (record["id"], name)
                checked += 1
    assert checked, "whole rich-text values were compared"


def test_parents_in_one_dense_second_without_page_tokens_are_followed_by_page(one_org):
    """Section 13's other reading (a token only from the 2,000th record on): every Quote
    changes in one second, more than a page of them, and the parent walk follows that second
    by page number. Every changed parent's subform rows come through."""
    one_org.faults.records_token_from_page_10 = True
    config = one_org.tap_config(include_subforms=True, page_size=2)
    catalog = select_only(discover(config), {"Quoted_Items"})
    first = run_sync(config, catalog=catalog)
    check_rows(one_org, "Quoted_Items", first.records["Quoted_Items"])
    quotes = sorted(one_org.record_ids("Quotes"))
    one_org.clock.advance(60)
    one_org.update_records("Quotes", quotes)
    one_org.clock.advance(60)
    one_org.stats.reset()
    second = run_sync(config, catalog=catalog, state=first.final_state)
    check_rows(one_org, "Quoted_Items", second.records["Quoted_Items"], parents=quotes)
    walk = [c for c in one_org.stats.log if c.route == "GET /crm/v8/{module}"]
    assert any("page" in call.query for call in walk), "the second was followed by page number"


def test_a_first_sync_with_few_records_after_start_date_reads_them_without_bulk_read(one_org):
    """More records in all than ``bulk_read_min_records``, but fewer after ``start_date``: the
    first sync reads them through Get Records (no Bulk Read job), exactly those records."""
    module = "Contacts"
    times = sorted(set(modified_times(one_org, module).values()), reverse=True)
    assert len(times) > 6
    start = times[5] + dt.timedelta(seconds=1)
    assert times[4] > start  # five distinct seconds after it, more records before
    config = one_org.tap_config(
        bulk_read_min_records=10, start_date=start.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert one_org.count(module) > 10
    catalog = select_only(discover(config), {module})
    one_org.stats.reset()
    result = run_sync(config, catalog=catalog)
    expected = {i for i, when in modified_times(one_org, module).items() if when >= start}
    assert sorted(result.ids(module)) == sorted(expected)
    assert one_org.stats.calls["POST /crm/bulk/v8/read"] == 0


def changed_since_state(zoho: ZohoEmulator, module: str, state: dict[str, Any]) -> set[int]:
    """Records the emulator stores as modified after the state's bookmark of ``module``."""
    mark = instant(state["bookmarks"][module]["replication_key_value"])
    return {i for i, when in modified_times(zoho, module).items() if when > mark}


def test_plan_of_an_incremental_run_never_plans_bulk_read(one_org):
    """Bulk Read is for first syncs: more changes than ``bulk_read_min_records`` since the
    bookmark are planned (and read) through Get Records, each record counted."""
    config = one_org.tap_config(bulk_read_min_records=0)
    catalog = select_only(discover(config), {"Contacts"})
    state = run_sync(config, catalog=catalog).final_state
    one_org.clock.advance(60)
    for record_id in sorted(one_org.record_ids("Contacts"))[:5]:
        one_org.update_record("Contacts", record_id)
        one_org.clock.advance(1)
    one_org.clock.advance(60)
    changed = changed_since_state(one_org, "Contacts", state)
    assert len(changed) == 5
    config = one_org.tap_config(bulk_read_min_records=3)
    plan = plan_for(one_org, config, catalog, state)
    assert plan.rows[0].mode.startswith("incremental")
    assert plan.rows[0].records == len(changed)
    result = run_sync(config, catalog=catalog, state=state)
    assert sorted(result.ids("Contacts")) == sorted(changed)
    assert one_org.stats.calls["POST /crm/bulk/v8/read"] == 0


def test_subform_parents_refused_for_permission_fail_the_stream(caplog):
    """Without COQL, each changed parent is read by a single-record GET; 403 ``NO_PERMISSION``
    there is not "parent gone": the stream fails instead of sending the parent without rows."""
    with ZohoEmulator(profile="minimal", seed=13) as zoho:
        token = zoho.issue_refresh_token(scope=NO_COQL)
        config = {
            **zoho.tap_config(refresh_token=token, include_subforms=True),
            "skip_unavailable_streams": False,
        }
        catalog = select_only(discover(config), {"Quoted_Items"})
        zoho.faults.denied_modules = {"Quotes"}
        zoho.faults.denied_after = 1  # the walk of the quotes goes out well
        with pytest.raises(Exception, match="NO_PERMISSION"):
            run_sync(config, catalog=catalog)


def test_subform_rows_when_coql_keeps_failing_fail_the_stream_not_fall_back(one_org):
    """COQL answering a server error (200 with Zoho's INTERNAL_ERROR body, past every retry)
    is an outage, not "COQL not available here": the stream fails rather than quietly
    switching to one GET per parent."""
    one_org.faults.update({"bad_answer_kind": "error_body_200", "bad_answer_path": "/crm/v8/coql"})
    config = {
        **one_org.tap_config(include_subforms=True, max_retries=1),
        "skip_unavailable_streams": False,
    }
    catalog = select_only(discover(config), {"Quoted_Items"})
    one_org.stats.reset()
    with pytest.raises(Exception, match="INTERNAL_ERROR"):
        run_sync(config, catalog=catalog)
    assert one_org.stats.calls[SINGLE_ROUTE] == 0


def test_a_catalog_schema_pruned_by_hand_drops_those_properties_with_one_warning(one_org, caplog):
    """A catalog whose ``Contacts_deleted`` schema lost ``_zoho_deleted`` (edited by hand; the
    stream adds that flag itself): the entries still come, every one Zoho lists, without that
    property, and one warning says so (not one per row)."""
    config = one_org.tap_config()
    catalog = select_only(discover(config), {"Contacts_deleted"})
    del entry_of(catalog, "Contacts_deleted")["schema"]["properties"]["_zoho_deleted"]
    for record_id in sorted(one_org.record_ids("Contacts"))[:3]:
        one_org.delete_record("Contacts", record_id)
    truth = deleted_truth(one_org, "Contacts")
    assert len(truth) >= 2
    caplog.set_level(logging.WARNING)
    result = run_sync(config, catalog=catalog)
    rows = result.records["Contacts_deleted"]
    assert sorted(r["id"] for r in rows) == sorted(truth)
    assert not [r for r in rows if "_zoho_deleted" in r]
    warned = [r for r in caplog.records if "properties not in the schema" in r.getMessage()]
    assert len(warned) == 1


def test_a_stream_map_filter_sends_exactly_the_records_it_keeps(one_org):
    """A stream map's ``__filter__`` drops records after the read: those it keeps (even ids
    here) are sent, every one of them, and the bookmark still covers the whole read."""
    config = {
        **one_org.tap_config(),
        "stream_maps": {"Contacts": {"__filter__": "id % 2 == 0"}},
    }
    catalog = select_only(discover(config), {"Contacts"})
    result = run_sync(config, catalog=catalog)
    assert sorted(result.ids("Contacts")) == sorted(
        i for i in live_ids(one_org, "Contacts") if i % 2 == 0
    )
    newest = max(modified_times(one_org, "Contacts").values())
    mark = result.final_state["bookmarks"]["Contacts"]["replication_key_value"]
    assert instant(mark) == newest


def test_connections_reset_past_every_retry_end_the_run_with_one_clear_error(one_org):
    """Every CRM connection is reset once the catalog is known: after its retries the run
    ends (every stream would meet the same), with an error naming the connection, no record
    sent and no secret in it."""
    config = one_org.tap_config(max_retries=1)
    catalog = select_only(discover(config), {"Contacts", "Deals"})
    one_org.faults.reset_rate = 1.0
    messages: list[dict[str, Any]] = []
    with pytest.raises(Exception, match=r"(?i)connection") as failure:
        run_sync(config, catalog=catalog, on_message=messages.append)
    assert not [m for m in messages if m["type"] == "RECORD"]
    for secret in (one_org.client_secret, one_org.refresh_token):
        assert secret not in str(failure.value)


def test_an_outage_at_the_bulk_read_count_fails_the_stream_not_the_read(one_org):
    """The count that decides on Bulk Read keeps failing past every retry (200 with Zoho's
    INTERNAL_ERROR body): an outage Get Records would meet too, so the stream fails with it
    instead of starting a walk; nothing is sent and no bookmark moves."""
    one_org.faults.update(
        {"bad_answer_kind": "error_body_200", "bad_answer_path": "/crm/v8/Contacts/actions/count"}
    )
    config = {
        **one_org.tap_config(bulk_read_min_records=5, max_retries=1),
        "skip_unavailable_streams": False,
    }
    catalog = select_only(discover(config), {"Contacts"})
    messages: list[dict[str, Any]] = []
    with pytest.raises(Exception, match="INTERNAL_ERROR"):
        run_sync(config, catalog=catalog, on_message=messages.append)
    assert not [m for m in messages if m["type"] == "RECORD"]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert not [s for s in states if "replication_key_value" in str(s)]
