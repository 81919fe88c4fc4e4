"""Auth and transport faults: expiring tokens, 429/500, connection resets, concurrency limits."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.client.auth import TOKEN_CACHE
from tap_zoho_crm.client.errors import ZohoTokenThrottledError
from tap_zoho_crm.client.http import retry_after_seconds, retry_waits
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

TOKEN = "POST /oauth/v2/token"
RECORDS_ROUTE = "GET /crm/v8/{module}"


def test_token_expiring_mid_sync_is_refreshed_once(fresh_demo, fresh_tokens, caplog):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = select_only(discover(config), {"Leads", "Contacts"})
    zoho.stats.reset()
    count = 0

    def expire_tokens(message: dict) -> None:
        nonlocal count
        if message["type"] == "RECORD":
            count += 1
            if count == 300:
                # Two hours pass on Zoho's side: every access token issued so far is dead.
                zoho.clock.advance(7200)

    result = run_sync(config, catalog=catalog, on_message=expire_tokens)
    assert set(result.ids("Leads")) == {int(i) for i in zoho.record_ids("Leads")}
    assert set(result.ids("Contacts")) == {int(i) for i in zoho.record_ids("Contacts")}
    # The tap's cached token was still "fresh" by its own clock: Zoho's 401 INVALID_TOKEN made it
    # mint exactly one new token (the first mint happened during discovery, before the reset).
    assert zoho.stats.calls[TOKEN] == 1


def test_taps_in_one_process_share_a_token_but_not_across_credentials(fresh_tokens):
    with (
        ZohoEmulator(profile="minimal", seed=3) as one,
        ZohoEmulator(profile="minimal", seed=4) as two,
    ):
        for _ in range(3):
            TapZohoCrm(config=one.tap_config(include_modules=["Leads"]), parse_env_config=False)
            TapZohoCrm(config=two.tap_config(include_modules=["Leads"]), parse_env_config=False)
        assert one.stats.calls[TOKEN] == 1
        assert two.stats.calls[TOKEN] == 1


def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]


def test_500s_and_connection_resets_are_retried(caplog):
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 1000}) as zoho:
        config = zoho.tap_config()
        catalog = select_only(discover(config), {"Installations", "Leads"})
        zoho.faults.fault_seed = 5
        zoho.faults.error_rate = 0.25
        zoho.faults.reset_rate = 0.15
        caplog.set_level(logging.WARNING)
        result = run_sync(config, catalog=catalog)
        for module in ("Installations", "Leads"):
            assert sorted(result.ids(module)) == sorted(int(i) for i in zoho.record_ids(module))
    retries = _retries(caplog)
    assert any("HTTP 500 INTERNAL_ERROR" in m for m in retries)
    assert any("ConnectionError" in m or "ChunkedEncodingError" in m for m in retries)


def test_concurrency_429s_are_retried(caplog):
    """Another client holds the org's only slot until Zoho has turned the tap away once, so the
    429 comes however fast or slow the machine is (the emulator holds that client's call)."""
    with ZohoEmulator(profile="minimal", seed=7) as zoho:
        # Get Records only: a first sync's Bulk Read count would meet the held slot first.
        config = zoho.tap_config(max_concurrency=5, bulk_read_min_records=0)
        catalog = select_only(discover(config), {"Installations"})
        zoho.faults.concurrency_limit = 1
        zoho.faults.hold = threading.Event()
        other = threading.Thread(
            target=requests.get,
            args=(zoho.base_url + "/crm/v8/org",),
            kwargs={
                "headers": {"Authorization": f"Zoho-oauthtoken {zoho.access_token()}"},
                "timeout": 120,
            },
        )
        other.start()
        while zoho.calls_in_flight() == 0:  # until the emulator holds the other client's call
            time.sleep(0.01)
        turned_away = threading.Event()

        def release_after_a_429() -> None:
            while not turned_away.is_set():
                if any(
                    c.status == 429 for c in zoho.stats.calls_to(RECORDS_ROUTE, "Installations")
                ):
                    break
                time.sleep(0.01)
            zoho.faults.hold.set()

        gate = threading.Thread(target=release_after_a_429)
        gate.start()
        caplog.set_level(logging.WARNING)
        try:
            result = run_sync(config, catalog=catalog)
        finally:
            turned_away.set()
            gate.join()
            other.join()
        assert sorted(result.ids("Installations")) == sorted(
            int(i) for i in zoho.record_ids("Installations")
        )
        assert any(c.status == 429 for c in zoho.stats.calls_to(RECORDS_ROUTE, "Installations"))
    assert any("HTTP 429 TOO_MANY_REQUESTS" in m for m in _retries(caplog))


def test_persistent_server_errors_give_up_within_the_bound(fresh_demo):
    zoho = fresh_demo
    # bulk_read_min_records 0: the first call is the walk's (no count for Bulk Read).
    config = zoho.tap_config(max_retries=3, max_retry_seconds=5, bulk_read_min_records=0)
    catalog = select_only(discover(config), {"Leads"})
    zoho.stats.reset()
    zoho.faults.error_rate = 1.0
    with pytest.raises(Exception, match="INTERNAL_ERROR") as info:
        run_sync(config, catalog=catalog)
    assert "gave up after retries" in str(info.value)
    assert zoho.stats.calls["GET /crm/v8/{module}"] == 3


def test_retry_after_is_honoured_and_bounded():
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    assert retry_after_seconds({"Retry-After": "100000"}) == 300
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0

    class ThrottledError(Exception):
        retry_after = 3.0

    waits = retry_waits()
    next(waits)
    assert waits.send(ThrottledError()) == 3.0
    jittered = [waits.send(RuntimeError()) for _ in range(8)]
    assert all(0 <= w <= 60 for w in jittered)


def test_token_throttling_is_waited_out_within_the_bound(fresh_tokens):
    with ZohoEmulator(profile="minimal", seed=8, token_mint_limit=1) as zoho:
        TapZohoCrm(config=zoho.tap_config(include_modules=["Leads"]), parse_env_config=False)
        TOKEN_CACHE.clear()  # a second machine: it must mint again, and Zoho throttles it
        # Zoho lifts the block after its 10-minute window; here the window passes as soon as
        # Zoho has refused this process once (an event, not a timer: however slow the start).
        # The mints are not this machine's, so the wait is unknown: the whole window must fit.
        refused = threading.Event()

        def lift_after_a_refusal() -> None:
            while zoho.stats.calls[TOKEN] < 2 and not refused.is_set():
                time.sleep(0.01)
            zoho.clock.advance(600)
            refused.set()

        lift = threading.Thread(target=lift_after_a_refusal, daemon=True)
        lift.start()
        try:
            tap = TapZohoCrm(
                config=zoho.tap_config(
                    include_modules=["Leads"], token_throttle_max_wait=600, token_cache=False
                ),
                parse_env_config=False,
            )
        finally:
            refused.set()
            lift.join()
        assert "Leads" in tap.streams
        assert zoho.stats.calls[TOKEN] >= 3  # minted, refused at least once, minted


def test_token_throttling_beyond_the_bound_is_a_clear_error(fresh_tokens):
    with ZohoEmulator(profile="minimal", seed=8, token_mint_limit=1) as zoho:
        TapZohoCrm(config=zoho.tap_config(include_modules=["Leads"]), parse_env_config=False)
        TOKEN_CACHE.clear()
        with pytest.raises(ZohoTokenThrottledError, match="retry after"):
            TapZohoCrm(
                config=zoho.tap_config(
                    include_modules=["Leads"], token_throttle_max_wait=0, token_cache=False
                ),
                parse_env_config=False,
            )


def test_tokens_dying_while_streams_read_ahead_are_each_replaced_by_one_mint(fresh_tokens):
    """Streams read ahead on threads of their own, so several calls carry a dying token at once.

    Each death must cost one mint, and no thread may send a token Zoho refused again: the cache
    file could hand it back to a thread that read it there before it was cleared. A token dies
    only once the calls that saw the previous death were retried, as tokens die hours apart.
    """
    with ZohoEmulator(profile="demo", seed=11) as zoho:
        config = zoho.tap_config(window_min_records=200)
        catalog = discover(config)
        zoho.stats.reset()
        records = deaths = 0
        recovered_at: int | None = (
            None  # calls Zoho had answered when the last death was minted for
        )

        def expire_tokens(message: dict) -> None:
            nonlocal records, deaths, recovered_at
            if message["type"] != "RECORD":
                return
            records += 1
            answered = sum(zoho.stats.calls.values())
            if recovered_at is None and zoho.stats.calls[TOKEN] == deaths:
                recovered_at = answered
            # Calls in flight with the dead token retried with the new one well before this.
            if recovered_at is not None and answered - recovered_at >= 40:
                deaths += 1
                recovered_at = None
                zoho.clock.advance(7200)

        result = run_sync(config, catalog=catalog, on_message=expire_tokens)
        for module in ("Leads", "Contacts", "Accounts", "Deals"):
            assert set(result.ids(module)) == {int(i) for i in zoho.record_ids(module)}
        # The last death may come after the last call, with nothing left to mint for.
        assert deaths >= 3
        assert deaths - 1 <= zoho.stats.calls[TOKEN] <= deaths
