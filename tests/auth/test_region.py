"""The ``region`` setting: a data centre by name, in the tap and in the Lakeflow bridge."""

from __future__ import annotations

import pytest

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.options import OptionsError
from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.config import REGIONS, ZohoSettings

CREDENTIALS = {"client_id": "1000.ID", "client_secret": "s", "refresh_token": "r"}


def settings(**config: str) -> ZohoSettings:
    return ZohoSettings.from_config({**CREDENTIALS, **config}, user_agent="test")


def test_every_region_names_its_accounts_url() -> None:
    assert set(REGIONS) == {"us", "eu", "in", "au", "cn", "jp", "ca", "sa"}
    assert settings(region="eu").accounts_url == "https://accounts.zoho.eu"
    assert settings(region="CA").accounts_url == "https://accounts.zohocloud.ca"
    assert settings().accounts_url == "https://accounts.zoho.com"


def test_region_and_base_url_must_agree() -> None:
    both = settings(region="eu", base_url="https://accounts.zoho.eu/")
    assert both.accounts_url == "https://accounts.zoho.eu"
    with pytest.raises(ZohoConfigError, match=r"'region' eu means https://accounts\.zoho\.eu"):
        settings(region="eu", base_url="https://accounts.zoho.com")
    with pytest.raises(ZohoConfigError, match="'region' must be one of us, eu"):
        settings(region="uk")


def test_the_bridge_accepts_region_and_refuses_a_conflict() -> None:
    connector = ZohoCrmLakeflowConnect({**CREDENTIALS, "region": "jp"})
    assert connector._zoho_settings().accounts_url == "https://accounts.zoho.jp"
    with pytest.raises(OptionsError, match="region"):
        ZohoCrmLakeflowConnect(
            {**CREDENTIALS, "region": "jp", "base_url": "https://accounts.zoho.eu"}
        )
