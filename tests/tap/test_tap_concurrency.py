"""Calls in flight: the org's edition sets the limit, a 429 for concurrency lowers it.

Expected limits are Zoho's documented ones (api spec section 11: Free 5, Standard 10,
Professional 15, Enterprise 20, Ultimate 25) less the documented headroom (a tenth, at least
one slot: docs/parallel-reads.md).
"""

from __future__ import annotations

import copy
import logging

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.config import ZohoSettings
from tap_zoho_crm.testing.emulator import ZohoEmulator

ORG_ROUTE = "GET /crm/v8/org"


def _client(config: dict) -> ZohoClient:
    return ZohoClient(
        ZohoSettings.from_config(config, user_agent="test"), logger=logging.getLogger("test")
    )


def _license(zoho: ZohoEmulator, **details: object) -> None:
    license_details = copy.deepcopy(zoho.org.org_info["license_details"])
    license_details.update(details)
    zoho.org.org_info["license_details"] = license_details


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"paid": False, "paid_type": None, "trial_type": None}, 4),  # Free: 5
        ({"paid": True, "paid_type": "standard"}, 9),  # 10
        ({"paid": True, "paid_type": "Starter"}, 9),  # 10
        ({"paid": True, "paid_type": "professional"}, 13),  # 15
        ({"paid": True, "paid_type": "enterprise"}, 18),  # 20
        ({"paid": True, "paid_type": "Ultimate"}, 22),  # 25
        ({"paid": False, "paid_type": None, "trial_type": "professional"}, 13),  # a trial
        ({"paid": True, "paid_type": "some new edition"}, 4),  # unknown: the smallest
    ],
)
def test_max_concurrency_defaults_to_the_editions_limit_less_headroom(details, expected):
    with ZohoEmulator(profile="minimal", seed=1) as zoho:
        _license(zoho, **details)
        client = _client(zoho.tap_config())
        assert client.concurrency() == expected
        assert client.concurrency() == expected
        assert zoho.stats.calls[ORG_ROUTE] == 1  # read once


def test_a_set_max_concurrency_wins_without_reading_the_org():
    with ZohoEmulator(profile="minimal", seed=1) as zoho:
        client = _client(zoho.tap_config(max_concurrency=7))
        assert client.concurrency() == 7
        assert zoho.stats.calls[ORG_ROUTE] == 0


def test_an_org_that_cannot_be_read_counts_as_the_smallest_edition():
    with ZohoEmulator(profile="minimal", seed=1) as zoho:
        token = zoho.issue_refresh_token(scope="ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
        client = _client(zoho.tap_config(refresh_token=token))
        assert client.concurrency() == 4


@pytest.mark.parametrize("pool", ["all", "sub"])
def test_a_429_for_concurrency_lowers_the_limit_for_the_rest_of_the_run(pool):
    """The org says Enterprise (18 in flight), but Zoho lets through only 3 (all calls, or
    heavy ones: sorted Get Records and COQL). The run reads everything and ends at 3."""
    with ZohoEmulator(profile="minimal", seed=2, size={"Leads": 3000}) as zoho:
        config = zoho.tap_config(window_min_records=200)
        catalog = select_only(discover(config), {"Leads"})
        zoho.faults.latency_s = 0.02
        if pool == "all":
            zoho.faults.concurrency_limit = 3
        else:
            zoho.faults.sub_concurrency_limit = 3
        result = run_sync(config, catalog=catalog)
        limiter = result.tap.client.limiter
        truth = {int(i) for i in zoho.record_ids("Leads")}
    assert set(result.ids("Leads")) == truth
    lowered = limiter.limit if pool == "all" else limiter.heavy_limit
    assert 1 <= lowered <= 3
    assert limiter.peak > 3  # it did try more at first


def test_windows_overlap_and_calls_in_flight_stay_within_the_limit():
    with ZohoEmulator(profile="minimal", seed=3, size={"Leads": 5000}) as zoho:
        _license(zoho, paid=True, paid_type="standard")
        config = zoho.tap_config(window_min_records=500)
        catalog = select_only(discover(config), {"Leads"})
        zoho.faults.latency_s = 0.03
        zoho.faults.concurrency_limit = 10
        zoho.limits.reset_peak()
        result = run_sync(config, catalog=catalog)
        peak = zoho.limits.peak_in_flight
        truth = {int(i) for i in zoho.record_ids("Leads")}
    ids = result.ids("Leads")
    assert sorted(ids) == sorted(truth)  # each once
    assert 2 <= peak <= 9, peak
