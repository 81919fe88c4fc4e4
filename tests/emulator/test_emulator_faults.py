"""Limits and faults (off by default), call and credit counters."""

from __future__ import annotations

import threading
import time

import requests
from emu_helpers import TIMEOUT, Api, assert_error

from tap_zoho_crm.testing.emulator import ZohoEmulator


def test_faults_are_off_by_default(api: Api, emulator: ZohoEmulator) -> None:
    assert emulator.faults.as_dict() == {
        "latency_s": 0.0,
        "concurrency_limit": None,
        "sub_concurrency_limit": None,
        "daily_credits": None,
        "error_rate": 0.0,
        "reset_rate": 0.0,
        "bulk_failure": False,
        "bulk_download_429_times": 0,
        "bulk_download_retry_after": None,
        "bulk_expired_status_kept": False,
        "bulk_refused_modules": [],
        "bulk_rows_unordered": False,
        "bulk_excludes_converted": False,
        "bulk_dot_path_header": "requested",
        "bulk_dot_path_empty": "",
        "no_display_field": False,
        "bulk_result_without_per_page": False,
        "bulk_multi_value_encoding": "semicolon",
        "bulk_boolean_encoding": "true/false",
        "bulk_jobs_limit": None,
        "bulk_jobs_limit_status": 400,
        "bulk_jobs_limit_code": "LIMIT_EXCEEDED",
        "if_modified_since_exclusive": False,
        "deleted_without_page_token": False,
        "deleted_oldest_first": False,
        "unknown_id_answers_400": False,
        "page_token_reach": 100_000,
        "records_token_from_page_10": False,
        "coql_empty_as_data": False,
        "unstable_tie_order": False,
        "relation_change_touches_parent": False,
        "relation_change_touches_member": False,
        "bad_answer_kind": None,
        "bad_answer_rate": 1.0,
        "bad_answer_path": None,
        "bad_answer_after": 0,
        "bad_answer_times": None,
        "bad_records_param": None,
        "bad_records": {},
        "hidden_related_lists": [],
        "denied_modules": [],
        "denied_after": 0,
        "no_deleted_list": {},
        "fault_seed": 0,
    }
    response = api.get("/crm/v8/org")
    assert "X-API-CREDITS-REMAINING" not in response.headers


def test_latency(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.faults.latency_s = 0.2
    started = time.perf_counter()
    response = fresh_api.get("/crm/v8/org")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.2
    assert float(response.headers["X-Emulator-Time-Ms"]) < 200, "latency is not server time"


def _call_while_held(
    zoho: ZohoEmulator, calls: list[dict[str, str]], *, turned_away: int
) -> list[requests.Response]:
    """Send ``calls`` at once while the emulator holds every admitted call, release them once
    ``turned_away`` answers have come back, and return every answer. The hold makes the calls
    overlap however slow the machine is."""
    api = Api(zoho)
    codes: list[requests.Response] = []
    answered = threading.Condition()
    zoho.faults.hold = threading.Event()

    def call(params: dict[str, str]) -> None:
        response = requests.get(
            zoho.base_url + "/crm/v8/Leads", params=params, headers=api.headers(), timeout=TIMEOUT
        )
        with answered:
            codes.append(response)
            answered.notify_all()

    threads = [threading.Thread(target=call, args=(params,)) for params in calls]
    for thread in threads:
        thread.start()
    with answered:
        assert answered.wait_for(lambda: len(codes) >= turned_away, timeout=TIMEOUT)
    zoho.faults.hold.set()
    for thread in threads:
        thread.join()
    zoho.faults.hold = None
    return codes


def test_concurrency_limit_gives_429(fresh: ZohoEmulator) -> None:
    fresh.faults.concurrency_limit = 2
    answers = _call_while_held(fresh, [{"fields": "Last_Name"}] * 5, turned_away=3)
    assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429]
    assert fresh.limits.peak_in_flight == 2
    for answer in answers[:3]:
        body = assert_error(answer, 429, "TOO_MANY_REQUESTS")
        assert "concurrency" in body["message"]


def test_daily_credits_and_remaining_header(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.faults.daily_credits = 10
    remaining = []
    for _ in range(10):
        response = fresh_api.get("/crm/v8/org")
        assert response.status_code == 200
        remaining.append(response.headers.get("X-API-CREDITS-REMAINING"))
    assert remaining[:4] == [None] * 4, "no header before half the budget is used"
    assert remaining[4:] == ["5", "4", "3", "2", "1", "0"]
    body = assert_error(fresh_api.get("/crm/v8/org"), 429, "TOO_MANY_REQUESTS")
    assert "24 hour" in body["message"]
    fresh.clock.advance(86_400)
    assert Api(fresh).get("/crm/v8/org").status_code == 200, "the window rolls after 24 h"


def test_random_500s_and_resets_follow_the_seed(fresh: ZohoEmulator) -> None:
    def run() -> list[str]:
        fresh.faults.fault_seed = 42
        fresh.faults.error_rate = 0.3
        fresh.faults.reset_rate = 0.2
        api = Api(fresh)
        outcomes = []
        for _ in range(30):
            try:
                response = requests.get(
                    fresh.base_url + "/crm/v8/org", headers=api.headers(), timeout=TIMEOUT
                )
            except requests.ConnectionError:
                outcomes.append("reset")
                continue
            if response.status_code == 500:
                body = assert_error(response, 500, "INTERNAL_ERROR")
                assert body["message"] == "Internal Server Error"
            outcomes.append(str(response.status_code))
        return outcomes

    first = run()
    assert {"200", "500", "reset"} <= set(first)
    assert run() == first, "the same fault_seed gives the same faults"


def test_call_and_credit_counters(fresh_api: Api, fresh: ZohoEmulator) -> None:
    fresh.stats.reset()
    fresh_api.get("/crm/v8/Leads", {"fields": "Last_Name"})
    fresh_api.get("/crm/v8/Leads", {"fields": "Last_Name", "cvid": "1"})
    fresh_api.get("/crm/v8/Contacts", {"fields": "Last_Name"})
    fresh_api.get("/crm/v8/settings/fields", {"module": "Deals"})
    fresh_api.get("/crm/v8/Leads")  # an error still counts as a call
    fresh_api.post("/crm/v8/coql", {"select_query": "select Last_Name from Leads limit 500"})
    assert fresh.stats.calls["GET /crm/v8/{module}"] == 4
    assert fresh.stats.calls_by_module[("GET /crm/v8/{module}", "Leads")] == 3
    assert fresh.stats.calls_by_module[("GET /crm/v8/settings/fields", "Deals")] == 1
    assert fresh.stats.calls["POST /crm/v8/coql"] == 1
    assert fresh.stats.credits == 1 + 3 + 1 + 1 + 1 + 2
    stats = requests.get(fresh.base_url + "/__emulator/stats", timeout=TIMEOUT).json()
    assert stats["credits"] == fresh.stats.credits
    assert stats["calls"]["GET /crm/v8/{module}"] == 4
    fresh.stats.reset()
    assert fresh.stats.credits == 0
    assert not fresh.stats.calls


def test_sub_concurrency_pool(fresh: ZohoEmulator) -> None:
    fresh.faults.sub_concurrency_limit = 1
    sorted_call = {"fields": "Last_Name", "sort_by": "id"}
    answers = _call_while_held(fresh, [sorted_call, sorted_call], turned_away=1)
    assert [a.status_code for a in answers] == [429, 200]
