"""Initial loads through Bulk Read (reading/bulk.py) against the emulator's Bulk Read.

The per-job cap is lowered on the emulator (`ZohoEmulator.bulk_records_per_job`, Zoho's is
200,000) so that small orgs meet chunking. Expected values come from the Get Records path on
the same org and from the emulator's store, never from the tap's own output.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from tap_helpers import (
    DEMO_SEED,
    DyingWriter,
    discover,
    instant,
    run_sync,
    select_only,
    sync_until_killed,
)

from tap_zoho_crm.schema import PICK_LIST_VALUES
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

#: Modules whose fields cover every data type of the emulator's catalog (Installations holds
#: the exotic ones: files, reminders, ALARM, RRULE, line taxes, consent, multi-module lookup).
MODULES = ("Leads", "Contacts", "Deals", "Installations", "Accounts", "Tasks", "Events")
CREATE = "POST /crm/bulk/v8/read"
DOWNLOAD = "GET /crm/bulk/v8/read/{job_id}/result"
FALLBACK = "instead of Bulk Read"


def _by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def _differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    keys = set(got) | set(want)
    return [
        f"{key}: {got.get(key, '<absent>')!r:.80} != {want.get(key, '<absent>')!r:.80}"
        for key in sorted(keys)
        if got.get(key, "<absent>") != want.get(key, "<absent>")
    ]


#: A multi-select picklist of Leads whose values hold the separators Zoho may join values with:
#: its picklist (``pick_list_values``) and a few leads' values, set before either load.
AWKWARD = "Awkward_Choices"
AWKWARD_OPTIONS = ("North,East", "North", "East", "West;Coast", "West", "Coast", 'Say "hi"')
#: Values given to one lead each: ambiguous under one reading or another (a value that is two
#: others joined), plain, empty, and one no longer in the picklist (read by id under any).
AWKWARD_VALUES: tuple[list[str], ...] = (
    ["North,East"],
    ["North", "East"],
    ["West;Coast", "North"],
    ["West", "Coast"],
    ['Say "hi"', "East"],
    [],
    ["Retired value"],
)


@pytest.fixture(scope="module")
def org() -> Any:
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        zoho.bulk_records_per_job = 400
        zoho.add_field("Leads", AWKWARD, "multiselectpicklist", options=AWKWARD_OPTIONS)
        leads = sorted(zoho.record_ids("Leads"), key=int)
        # Empty on every other lead, as the generated multi-selects are (never null: an empty
        # CSV cell cannot tell an empty list from null).
        zoho.update_records("Leads", leads, {AWKWARD: []})
        for lead, value in zip(leads[:: len(leads) // 8], AWKWARD_VALUES, strict=False):
            zoho.update_record("Leads", lead, {AWKWARD: value})
        config = zoho.tap_config()
        catalog = select_only(discover(config), set(MODULES))
        yield zoho, config, catalog


#: Readings of what Zoho leaves undocumented about lookup names (emulator switches): how a
#: ``Lookup.Field`` column is named, what an empty lookup's cell holds, and whether module
#: metadata names the display field. Under the first two the tap finds the dot-path columns;
#: under the others it reads the names by id.
READINGS: dict[str, dict[str, Any]] = {
    "dot path named as requested": {},
    "dot path named by module, empty as null": {
        "bulk_dot_path_header": "module",
        "bulk_dot_path_empty": "null",
    },
    "dot path named by labels": {"bulk_dot_path_header": "label"},
    "no display_field": {"no_display_field": True},
    # Section 15, point 12: how multi-select picklists and booleans are written in the CSV.
    "multi-select ','-joined, booleans TRUE/FALSE": {
        "bulk_multi_value_encoding": "comma",
        "bulk_boolean_encoding": "TRUE/FALSE",
    },
    "multi-select as JSON arrays, booleans 1/0": {
        "bulk_multi_value_encoding": "json",
        "bulk_boolean_encoding": "1/0",
    },
}
DOT_PATHS_FOUND = (
    "dot path named as requested",
    "dot path named by module, empty as null",
    "multi-select ','-joined, booleans TRUE/FALSE",
    "multi-select as JSON arrays, booleans 1/0",
)
PER_RECORD_LOOKUP = "Data_Processing_Basis_Details"


@pytest.fixture(scope="module")
def walked(org: Any) -> Any:
    """The same org read through Get Records, once for every reading."""
    _zoho, config, catalog = org
    return run_sync({**config, "bulk_read_min_records": 0}, catalog=catalog)


def _read_by_id(zoho: ZohoEmulator, module: str, field: str) -> bool:
    """Whether a Get Records call by ``ids=`` asked for ``field`` of ``module``."""
    return any(
        field in ",".join(call.query.get("fields", [])).split(",")
        for call in zoho.stats.log
        if call.route == "GET /crm/v8/{module}" and call.module == module and "ids" in call.query
    )


def _ids_read_by_id(zoho: ZohoEmulator, module: str, field: str) -> set[str]:
    """The ids of the ``ids=`` calls of ``module`` that asked for ``field``."""
    return {
        record_id
        for call in zoho.stats.log
        if call.route == "GET /crm/v8/{module}"
        and call.module == module
        and "ids" in call.query
        and field in ",".join(call.query.get("fields", [])).split(",")
        for record_id in ",".join(call.query["ids"]).split(",")
    }


@pytest.mark.parametrize("reading", list(READINGS))
def test_bulk_read_and_get_records_emit_identical_records(
    org: Any, walked: Any, reading: str, caplog: Any
) -> None:
    zoho, config, catalog = org
    before = zoho.faults.as_dict()
    zoho.faults.update(READINGS[reading])
    zoho.clock.advance(61)  # the emulator's 10 downloads a minute: a fresh minute
    zoho.stats.reset()
    try:
        with caplog.at_level(logging.WARNING):
            bulk = run_sync({**config, "bulk_read_min_records": 1}, catalog=catalog)
    finally:
        zoho.faults.update({key: before[key] for key in READINGS[reading]})
    assert not [r for r in caplog.records if FALLBACK in r.getMessage()]  # all through Bulk Read
    jobs = zoho.stats.calls[CREATE]
    assert jobs >= len(MODULES)
    for module in MODULES:
        truth = {int(i) for i in zoho.record_ids(module)}
        through_bulk, through_walk = _by_id(bulk.records[module]), _by_id(walked.records[module])
        assert set(through_walk) == truth
        assert set(through_bulk) == truth, module
        assert len(bulk.records[module]) == len(truth)  # once each
        problems = {
            record_id: _differences(through_bulk[record_id], record)
            for record_id, record in through_walk.items()
            if through_bulk[record_id] != record
        }
        assert not problems, f"{module}: {list(problems.items())[:3]}"
        state = bulk.final_state["bookmarks"][module]
        assert "bulk_read" not in state
        assert state["replication_key_value"]
    # The consent lookup (another record per lead): its names from the dot path, not by id.
    assert any(r[PER_RECORD_LOOKUP] for r in walked.records["Leads"])
    assert _read_by_id(zoho, "Leads", PER_RECORD_LOOKUP) == (reading not in DOT_PATHS_FOUND)
    # Multi-select picklists are split by their picklists: only cells that do not split one
    # way only are read by id, and only for their own records.
    assert sum(1 for r in walked.records["Leads"] if r[AWKWARD]) == len(AWKWARD_VALUES) - 1
    assert not _read_by_id(zoho, "Leads", "Preferred_Channels")
    assert 0 < len(_ids_read_by_id(zoho, "Leads", AWKWARD)) < len(AWKWARD_VALUES)


def test_a_catalog_without_the_picklists_asks_for_them_once(org: Any, walked: Any) -> None:
    """A catalog discovered before picklists were kept in it (or stripped of ``x-zoho-*``
    keys): one ``settings/fields`` call, and the cells split as with them."""
    zoho, config, catalog = org
    stripped = copy.deepcopy(select_only(catalog, {"Leads"}))
    for entry in stripped["streams"]:
        for prop in entry["schema"]["properties"].values():
            prop.pop(PICK_LIST_VALUES, None)
    zoho.clock.advance(61)  # the emulator's 10 downloads a minute: a fresh minute
    zoho.stats.reset()
    bulk = run_sync({**config, "bulk_read_min_records": 1}, catalog=stripped)
    assert zoho.stats.calls[CREATE] >= 1
    assert zoho.stats.calls["GET /crm/v8/settings/fields"] == 1
    assert _by_id(bulk.records["Leads"]) == _by_id(walked.records["Leads"])
    assert not _read_by_id(zoho, "Leads", "Preferred_Channels")


def test_rich_text_cut_as_get_records_cuts_it_without_full_rich_text(org: Any) -> None:
    zoho, config, catalog = org
    zoho.clock.advance(61)  # the emulator's 10 downloads a minute: a fresh minute
    catalog = select_only(catalog, {"Installations"})
    base = {**config, "full_rich_text": False}
    bulk = run_sync({**base, "bulk_read_min_records": 1}, catalog=catalog)
    walk = run_sync({**base, "bulk_read_min_records": 0}, catalog=catalog)
    through_bulk = _by_id(bulk.records["Installations"])
    through_walk = _by_id(walk.records["Installations"])
    assert through_bulk == through_walk
    assert any(len(r["Rich_Summary"] or "") == 500 for r in through_walk.values())  # cut


def test_below_the_threshold_no_job_is_created(org: Any) -> None:
    zoho, config, catalog = org
    zoho.stats.reset()
    run_sync({**config, "bulk_read_min_records": 10**6}, catalog=catalog)
    assert zoho.stats.calls[CREATE] == 0


def _run(config: dict[str, Any], catalog: dict[str, Any], state: Any, kill_after: int | None):
    writer = DyingWriter(kill_after)
    return writer, sync_until_killed(config, catalog, state, writer)


@pytest.mark.parametrize("expired_status_kept", [False, True])
def test_killed_at_three_points_resumes_and_loses_nothing(expired_status_kept: bool) -> None:
    """Kills early in job 1, inside a later job, at the end of the bulk phase; no version lost.

    Between runs records change and go; before the last resume the job results expire (the
    emulator's clock moves past 24 h), under both readings of what an expired job answers.
    """
    size, per_job = 3000, 700
    with ZohoEmulator(profile="minimal", seed=31, size={"Leads": size}) as zoho:
        zoho.bulk_records_per_job = per_job
        zoho.faults.bulk_expired_status_kept = expired_status_kept
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})
        state: Any = None
        durable: list[dict[str, Any]] = []
        versions: set[tuple[int, Any]] = set()
        for point in range(3):
            sent = {m["record"]["id"] for m in durable if m["type"] == "RECORD"}
            # Early in job 1; inside job 3; a few records before the bulk phase ends.
            kill_after = (150, 1450, max(1, size - len(sent) - 5))[point]
            writer, killed = _run(config, catalog, state, kill_after)
            assert killed
            durable += writer.durable(killed)
            state = writer.last_state() or state
            assert "bulk_read" in state["bookmarks"]["Leads"]
            ids = sorted(zoho.record_ids("Leads"))
            zoho.update_records("Leads", ids[point * 400 : point * 400 + 30])
            zoho.delete_record("Leads", ids[-1 - point])
            versions |= {
                (int(r["id"]), instant(r["Modified_Time"])) for r in zoho.iter_records("Leads")
            }
            zoho.clock.advance(2)
        jobs_before_expiry = zoho.stats.calls[CREATE]
        zoho.clock.advance(25 * 3600)
        final, killed = _run(config, catalog, state, None)
        assert not killed
        assert zoho.stats.calls[CREATE] > jobs_before_expiry  # the expired job, created again
        durable += final.messages
        versions |= {
            (int(r["id"]), instant(r["Modified_Time"])) for r in zoho.iter_records("Leads")
        }
        truth = {int(i) for i in zoho.record_ids("Leads")}
    sent = {
        (m["record"]["id"], instant(m["record"]["Modified_Time"]))
        for m in durable
        if m["type"] == "RECORD"
    }
    sent_ids = {record_id for record_id, _ in sent}
    assert truth <= sent_ids
    # Every version alive at the end was sent (older versions of changed records may be
    # superseded before they were read: the newest is what counts).
    latest = {v for v in versions if v[0] in truth}
    newest: dict[int, Any] = {}
    for record_id, at in latest:
        newest[record_id] = max(at, newest.get(record_id, at))
    assert set(newest.items()) <= sent
    # One job per chunk, ceil(size / per_job): no kill made a job be created again (each job
    # is in a STATE before any record after its creation), only the expiry did.
    assert jobs_before_expiry == -(-size // per_job)
    assert "bulk_read" not in final.last_state()["bookmarks"]["Leads"]


def _fallback_run(zoho: ZohoEmulator, config: dict[str, Any], caplog: Any):
    catalog = select_only(discover(config), {"Leads"})
    with caplog.at_level(logging.WARNING):
        result = run_sync({**config, "bulk_read_min_records": 1}, catalog=catalog)
    warnings = [r for r in caplog.records if FALLBACK in r.getMessage()]
    truth = {int(i) for i in zoho.record_ids("Leads")}
    assert set(result.ids("Leads")) == truth
    return result, warnings


def test_a_job_ending_in_failure_falls_back_with_one_warning(caplog: Any) -> None:
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        zoho.faults.bulk_failure = True
        _result, warnings = _fallback_run(zoho, zoho.tap_config(), caplog)
        assert zoho.stats.calls[CREATE] == 1
    assert len(warnings) == 1
    assert "FAILURE" in warnings[0].getMessage()


def test_a_token_without_the_bulk_scope_falls_back_with_one_warning(caplog: Any) -> None:
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        token = zoho.issue_refresh_token(scope="ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
        config = {**zoho.tap_config(), "refresh_token": token}
        _result, warnings = _fallback_run(zoho, config, caplog)
        assert zoho.stats.calls[DOWNLOAD] == 0
    assert len(warnings) == 1


@pytest.mark.parametrize("retry_after", [None, 1])
def test_download_429_is_retried(retry_after: int | None, caplog: Any) -> None:
    """Zoho does not say whether a download 429 carries Retry-After: both readings."""
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        zoho.faults.bulk_download_429_times = 2
        zoho.faults.bulk_download_retry_after = retry_after
        _result, warnings = _fallback_run(zoho, {**zoho.tap_config(), "max_retries": 4}, caplog)
        assert zoho.faults.injected["bulk_download_429"] == 2
        assert zoho.stats.calls[DOWNLOAD] == 3
    assert not warnings


def test_records_changed_during_the_export_are_read_by_the_walk_after_it() -> None:
    """Changed after the job was created (before Zoho took its snapshot) and after (while the
    result is emitted): each record's newest version is sent; only a record sent from the export
    before its change is sent twice (old, then new)."""
    with ZohoEmulator(profile="minimal", seed=37, size={"Leads": 1500}) as zoho:
        zoho.bulk_records_per_job = 600
        config = {**zoho.tap_config(), "bulk_read_min_records": 1, "streams_in_flight": 1}
        catalog = select_only(discover(config), {"Leads"})
        ids = sorted(zoho.record_ids("Leads"), key=int)
        # Job 1 holds ids[:600]: ids[5:8] are in the export being sent when they change;
        # ids[700:710] belong to job 2, whose snapshot comes after their change.
        before, sent_already, later_chunk = ids[10:20], ids[5:8], ids[700:710]
        after = sent_already + later_chunk
        done: set[str] = set()

        def meddle(message: dict[str, Any]) -> None:
            bookmark = (message.get("value") or {}).get("bookmarks", {}).get("Leads", {})
            if "before" not in done and message["type"] == "STATE" and "bulk_read" in bookmark:
                done.add("before")  # the job exists; Zoho has not exported yet
                zoho.clock.advance(2)
                zoho.update_records("Leads", before)
            elif "after" not in done and message["type"] == "RECORD":
                done.add("after")  # the export is taken and being sent
                zoho.clock.advance(2)
                zoho.update_records("Leads", after)

        result = run_sync(config, catalog=catalog, on_message=meddle)
        newest = {int(r["id"]): instant(r["Modified_Time"]) for r in zoho.iter_records("Leads")}
    assert done == {"before", "after"}
    sent: dict[int, list[Any]] = {}
    for record in result.records["Leads"]:
        sent.setdefault(record["id"], []).append(instant(record["Modified_Time"]))
    assert set(sent) == set(newest)
    for record_id, at in newest.items():
        assert at in sent[record_id], record_id
    assert all(len(sent[int(i)]) == 1 for i in before)  # left out of the export
    assert all(len(sent[int(i)]) == 1 for i in later_chunk)  # exported new, left to the walk
    assert all(len(sent[int(i)]) == 2 for i in sent_already)  # old, then new


def test_a_module_bulk_read_refuses_falls_back_with_one_warning(caplog: Any) -> None:
    """Zoho does not list the modules Bulk Read refuses: the emulator's switch names one."""
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        zoho.faults.bulk_refused_modules = {"Leads"}
        _result, warnings = _fallback_run(zoho, zoho.tap_config(), caplog)
        assert zoho.stats.calls[DOWNLOAD] == 0
    assert len(warnings) == 1
    assert "INVALID_MODULE" in warnings[0].getMessage()


@pytest.mark.parametrize("excludes_converted", [False, True])
def test_converted_leads_arrive_whether_or_not_the_export_holds_them(
    excludes_converted: bool, caplog: Any
) -> None:
    """Zoho does not say whether Bulk Read exports converted leads: both readings."""
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        converted = {int(r["id"]) for r in zoho.iter_records("Leads") if r.get("Converted__s")}
        assert converted
        zoho.faults.bulk_excludes_converted = excludes_converted
        result, warnings = _fallback_run(zoho, zoho.tap_config(), caplog)
        assert zoho.stats.calls[DOWNLOAD] >= 1
    assert converted <= set(result.ids("Leads"))
    assert len(warnings) == (1 if excludes_converted else 0)


def test_plan_of_a_bulk_read_load_is_within_10_percent_of_its_credits() -> None:
    from tap_zoho_crm.plan import make_plan  # noqa: PLC0415 - only this test needs it

    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 3000}) as zoho:
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})  # every field, the consent too
        tap = TapZohoCrm(config=config, catalog=catalog, parse_env_config=False, setup_mapper=False)
        plan = make_plan(tap, catalog_given=True)
        row = next(row for row in plan.rows if row.stream == "Leads")
        assert row.mode == "first sync through Bulk Read"
        zoho.stats.reset()
        run_sync(config, catalog=catalog)
        credits = zoho.stats.credits
    print(f"\nplan {row.credits} credits; run {credits}")
    assert abs(row.credits - credits) <= 0.1 * credits


def test_a_result_in_no_id_order_is_read_and_resumed_by_row_when_one_job_holds_all() -> None:
    """Zoho does not say in which order a result's rows come: under the other reading, a
    single-job load still goes through Bulk Read, and a kill resumes it by CSV row."""
    with ZohoEmulator(profile="minimal", seed=41, size={"Leads": 2000}) as zoho:
        zoho.faults.bulk_rows_unordered = True
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})
        first, killed = _run(config, catalog, None, 1500)  # past the STATE at 1,000 records
        assert killed
        state = first.last_state()
        assert state["bookmarks"]["Leads"]["bulk_read"]["row"] is not None
        rest, killed = _run(config, catalog, state, None)
        assert not killed
        truth = {int(i) for i in zoho.record_ids("Leads")}
        jobs = zoho.stats.calls[CREATE]
    sent = [
        m["record"]["id"] for m in [*first.durable(True), *rest.messages] if m["type"] == "RECORD"
    ]
    assert set(sent) == truth
    assert len(sent) == len(truth)  # resumed at the row after the last one made durable
    assert jobs == 1


def test_a_result_in_no_id_order_over_several_jobs_falls_back(caplog: Any) -> None:
    with ZohoEmulator(profile="minimal", seed=41, size={"Leads": 1200}) as zoho:
        zoho.faults.bulk_rows_unordered = True
        zoho.bulk_records_per_job = 500
        _result, warnings = _fallback_run(zoho, zoho.tap_config(), caplog)
    assert len(warnings) == 1
    assert "order" in warnings[0].getMessage()


def test_downloads_keep_to_their_rate() -> None:
    """Zoho allows 10 downloads a minute; the pacer keeps any limit per rolling window."""
    import time  # noqa: PLC0415

    from tap_zoho_crm.reading.bulk import DOWNLOADS_PER_MINUTE, DownloadPacer  # noqa: PLC0415

    assert DOWNLOADS_PER_MINUTE == 10  # spec section 10
    pacer = DownloadPacer(limit=2, window_s=0.5)
    started = time.monotonic()
    for _ in range(4):
        pacer.wait_turn()
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.5  # the third and fourth waited one window


def test_a_load_under_random_server_errors_and_resets_loses_nothing() -> None:
    with ZohoEmulator(profile="minimal", seed=43, size={"Leads": 1500}) as zoho:
        zoho.bulk_records_per_job = 400
        config = {
            **zoho.tap_config(max_retries=8, max_retry_seconds=30),
            "bulk_read_min_records": 1,
        }
        catalog = select_only(discover(config), {"Leads"})
        zoho.faults.fault_seed = 11
        zoho.faults.error_rate = 0.1
        zoho.faults.reset_rate = 0.03
        result = run_sync(config, catalog=catalog)
        injected = sum(zoho.faults.injected.values())
        truth = {int(i) for i in zoho.record_ids("Leads")}
        downloads = zoho.stats.calls[DOWNLOAD]
    assert injected > 0
    assert downloads >= 4  # ceil(1500 / 400) jobs: read through Bulk Read
    assert set(result.ids("Leads")) == truth


def _most_jobs_at_once(zoho: ZohoEmulator) -> int:
    """The most jobs created and not downloaded yet at one time, from the emulator's call log.

    The job whose result is being emitted is downloaded already: it is not counted."""
    waiting = most = 0
    for call in zoho.stats.log:
        if call.route == CREATE and call.status == 201:
            waiting += 1
        elif call.route == DOWNLOAD and call.status == 200:
            waiting -= 1
        most = max(most, waiting)
    return most


@pytest.mark.parametrize("per_page_named", [True, False])
def test_a_module_over_one_job_runs_several_jobs_at_once(per_page_named: bool) -> None:
    """The first job's result says how many records a job holds; the rest is cut into id ranges
    of that size whose jobs run ahead, a few at once. Without ``per_page`` (another reading),
    the range after the first job is cut at Zoho's 200,000: one open range, whose jobs follow
    one another."""
    from tap_zoho_crm.reading.bulk import JOBS_AHEAD  # noqa: PLC0415

    size, per_job = 2000, 300
    with ZohoEmulator(profile="minimal", seed=47, size={"Leads": size}) as zoho:
        zoho.bulk_records_per_job = per_job
        zoho.faults.bulk_result_without_per_page = not per_page_named
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})
        zoho.stats.reset()
        result = run_sync(config, catalog=catalog)
        truth = {int(i) for i in zoho.record_ids("Leads")}
        jobs, at_once = zoho.stats.calls[CREATE], _most_jobs_at_once(zoho)
        coql = zoho.stats.calls["POST /crm/v8/coql"]
    sent = result.ids("Leads")
    assert set(sent) == truth
    assert len(sent) == len(truth)  # once each
    assert jobs == -(-size // per_job)
    if per_page_named:
        assert at_once == JOBS_AHEAD  # prepared while another result is emitted
        assert coql == jobs - 1  # a bound per range, and one past the last
    else:
        assert at_once == 1  # each job's rest is created while it is emitted
    assert "bulk_read" not in result.final_state["bookmarks"]["Leads"]


def test_a_state_written_before_ranges_resumes_without_loss() -> None:
    """A load killed under the previous state layout (``next``: one job, no ``upto`` nor
    ``ranges``) resumes with the same jobs and loses nothing."""
    size, per_job = 1500, 600
    with ZohoEmulator(profile="minimal", seed=53, size={"Leads": size}) as zoho:
        zoho.bulk_records_per_job = per_job
        zoho.faults.bulk_result_without_per_page = True  # one open range: a single next job
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})
        first, killed = _run(config, catalog, None, 100)
        assert killed
        state = first.last_state()
        load = state["bookmarks"]["Leads"]["bulk_read"]
        assert len(load["next"]) == 1
        load["next"] = {key: load["next"][0][key] for key in ("job", "after")}
        del load["upto"], load["ranges"]
        rest, killed = _run(config, catalog, state, None)
        assert not killed
        truth = {int(i) for i in zoho.record_ids("Leads")}
        jobs = zoho.stats.calls[CREATE]
    sent = {
        m["record"]["id"] for m in [*first.durable(True), *rest.messages] if m["type"] == "RECORD"
    }
    assert sent == truth
    assert jobs == -(-size // per_job)  # the old next job taken over, not made again


def test_a_range_holding_more_than_its_job_goes_on_with_a_job_for_its_rest() -> None:
    """Ranges are cut at the first result's ``per_page``; should a later job hold fewer (here
    the emulator's per-job cap is lowered once the ranges are cut), the rest of its range gets a
    job of its own, created before its rows are emitted, and nothing is lost."""
    size = 2000
    with ZohoEmulator(profile="minimal", seed=59, size={"Leads": size}) as zoho:
        zoho.bulk_records_per_job = 500
        config = {**zoho.tap_config(), "bulk_read_min_records": 1}
        catalog = select_only(discover(config), {"Leads"})
        lowered: list[int] = []

        def lower_the_cap(message: dict[str, Any]) -> None:
            load = (message.get("value") or {}).get("bookmarks", {}).get("Leads", {})
            ranges = load.get("bulk_read", {}).get("ranges")
            if not lowered and message["type"] == "STATE" and ranges is not None:
                zoho.bulk_records_per_job = 300
                lowered.append(len(ranges) + len(load["bulk_read"]["next"]))

        zoho.stats.reset()
        result = run_sync(config, catalog=catalog, on_message=lower_the_cap)
        truth = {int(i) for i in zoho.record_ids("Leads")}
        rests = [
            job
            for job in zoho.bulk_jobs.jobs.values()
            if job.conditions and job.count < 500 and not job.more_records
        ]
        jobs = zoho.stats.calls[CREATE]
    assert lowered
    sent = result.ids("Leads")
    assert set(sent) == truth
    assert len(sent) == len(truth)  # once each
    assert jobs > 1 + lowered[0]  # the ranges' jobs, and jobs for their rests
    assert rests


@pytest.mark.parametrize(
    ("limit", "status", "code"),
    [(1, 400, "LIMIT_EXCEEDED"), (2, 400, "LIMIT_EXCEEDED"), (1, 429, "TOO_MANY_REQUESTS")],
)
def test_a_limit_on_jobs_in_progress_loses_nothing_and_is_kept(
    limit: int, status: int, code: str, caplog: Any
) -> None:
    """Zoho does not say how many jobs may be in progress, nor how it refuses one more
    (section 15, point 12): under a limit, the load creates jobs ahead only as Zoho takes them,
    and reads every record through Bulk Read."""
    size, per_job = 2000, 300
    with ZohoEmulator(profile="minimal", seed=48, size={"Leads": size}) as zoho:
        zoho.bulk_records_per_job = per_job
        zoho.faults.update(
            {
                "bulk_jobs_limit": limit,
                "bulk_jobs_limit_status": status,
                "bulk_jobs_limit_code": code,
            }
        )
        config = {**zoho.tap_config(), "bulk_read_min_records": 1, "max_retries": 2}
        catalog = select_only(discover(config), {"Leads"})
        with caplog.at_level(logging.WARNING):
            result = run_sync(config, catalog=catalog)
        truth = {int(i) for i in zoho.record_ids("Leads")}
        jobs, peak = zoho.stats.calls[CREATE], zoho.bulk_jobs.peak_in_progress
        refused = zoho.bulk_jobs.refused
    sent = result.ids("Leads")
    assert set(sent) == truth
    assert len(sent) == len(truth)  # once each
    assert peak <= limit
    assert jobs - refused == -(-size // per_job)  # one job per chunk, none created twice
    if limit == 1:
        assert refused > 0  # the limit was met
    assert not [r for r in caplog.records if FALLBACK in r.getMessage()]
    assert "bulk_read" not in result.final_state["bookmarks"]["Leads"]


def test_no_job_taken_at_all_falls_back_with_one_warning(caplog: Any, monkeypatch: Any) -> None:
    """Jobs of others hold every slot: the load waits (bounded; shortened here) and falls back."""
    from tap_zoho_crm.reading import bulk  # noqa: PLC0415

    monkeypatch.setattr(bulk, "JOB_LIMIT_RETRIES", 2)
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 900}) as zoho:
        zoho.faults.bulk_jobs_limit = 0
        _result, warnings = _fallback_run(zoho, zoho.tap_config(), caplog)
        assert zoho.stats.calls[CREATE] == 3  # the first try and two more
        assert zoho.stats.calls[DOWNLOAD] == 0
    assert len(warnings) == 1
    assert "too many jobs in progress" in warnings[0].getMessage()
