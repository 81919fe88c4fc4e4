"""Connection options (strings) -> tap config, against a settings schema shaped like the tap's."""

from __future__ import annotations

import logging

import pytest

from lakeflow_bridge.options import (
    DEFAULT_MAX_RECORDS_PER_BATCH,
    OptionsError,
    max_records_per_batch,
    tap_config_from_options,
)

SETTINGS = {
    "properties": {
        "client_id": {"type": ["string"]},
        "client_secret": {"type": ["string"], "secret": True},
        "refresh_token": {"type": ["string"], "secret": True},
        "base_url": {"type": ["string", "null"]},
        "start_date": {"type": ["string", "null"], "format": "date-time"},
        "page_size": {"type": ["integer", "null"]},
        "include_subforms": {"type": ["boolean", "null"]},
        "include_modules": {"type": ["array", "null"], "items": {"type": ["string"]}},
        "stream_maps": {"type": ["object", "null"]},
        "request_timeout": {"type": ["number", "null"]},
    }
}
SECRET = "s3cr3t-value"
TOKEN = "1000.refresh-token-value"


def test_seed_option_names_map_to_tap_settings() -> None:
    config = tap_config_from_options(
        {
            "client_id": "1000.ID",
            "client_value_tmp": SECRET,
            "refresh_value_tmp": TOKEN,
            "base_url": "https://accounts.zoho.eu",
            "initial_load_start_date": "2024-01-01T00:00:00Z",
        },
        SETTINGS,
    )
    assert config == {
        "client_id": "1000.ID",
        "client_secret": SECRET,
        "refresh_token": TOKEN,
        "base_url": "https://accounts.zoho.eu",
        "start_date": "2024-01-01T00:00:00Z",
    }


def test_reference_names_typed_settings_and_ignored_spark_options() -> None:
    config = tap_config_from_options(
        {
            "client_id": "1000.ID",
            "client_secret": SECRET,
            "refresh_token": TOKEN,
            "page_size": "150",
            "include_subforms": "TRUE",
            "include_modules": "Leads, Deals",
            "stream_maps": '{"Leads": {"Email": null}}',
            "request_timeout": "12.5",
            "tablename": "Leads",
            "path": "Leads",
            "databricks.connection": "zoho",
            "max_records_per_batch": "500",
        },
        SETTINGS,
    )
    assert config["page_size"] == 150
    assert config["include_subforms"] is True
    assert config["include_modules"] == ["Leads", "Deals"]
    assert config["stream_maps"] == {"Leads": {"Email": None}}
    assert config["request_timeout"] == 12.5
    assert not {"tablename", "path", "databricks.connection", "max_records_per_batch"} & set(config)
    listed = tap_config_from_options(
        {
            "client_id": "x",
            "client_secret": SECRET,
            "refresh_token": TOKEN,
            "include_modules": '["A,B"]',
        },
        SETTINGS,
    )
    assert listed["include_modules"] == ["A,B"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"client_id": "x"}, "client_secret (or client_value_tmp), refresh_token"),
        (
            {"client_id": "x", "client_secret": SECRET, "refresh_token": TOKEN, "page_size": "a"},
            "'page_size' must be an integer",
        ),
        (
            {
                "client_id": "x",
                "client_secret": SECRET,
                "client_value_tmp": SECRET + "-other",
                "refresh_token": TOKEN,
            },
            "both set 'client_secret'",
        ),
        (
            {
                "client_id": "x",
                "client_secret": SECRET,
                "refresh_token": TOKEN,
                "include_subforms": "maybe",
            },
            "must be true or false",
        ),
    ],
)
def test_bad_options_give_one_clear_error_without_secrets(
    options: dict[str, str], message: str
) -> None:
    with pytest.raises(OptionsError) as caught:
        tap_config_from_options(options, SETTINGS)
    text = str(caught.value)
    assert message in text
    assert SECRET not in text
    assert TOKEN not in text


def test_max_records_per_batch_prefers_table_options() -> None:
    assert max_records_per_batch({"max_records_per_batch": "500"}, {"max_records_per_batch": "9"})
    assert max_records_per_batch({"MAX_RECORDS_PER_BATCH": "500"}) == 500
    assert max_records_per_batch({}, {"max_records_per_batch": "9"}) == 9
    assert max_records_per_batch(None, {}) == DEFAULT_MAX_RECORDS_PER_BATCH
    for bad in ("0", "-3", "lots"):
        with pytest.raises(OptionsError, match="positive integer"):
            max_records_per_batch({"max_records_per_batch": bad})


def test_a_misspelt_option_is_named_in_a_warning_but_spark_options_are_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="lakeflow_bridge.options")
    config = tap_config_from_options(
        {
            "client_id": "x",
            "client_secret": SECRET,
            "refresh_token": TOKEN,
            "include_module": "Leads",
            "tablename": "Leads",
            "databricks.connection": "zoho",
            "max_records_per_batch": "10",
        },
        SETTINGS,
    )
    assert "include_modules" not in config
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "option 'include_module' is not a Zoho CRM setting and is ignored "
        "(did you mean 'include_modules'?)"
    ]
    assert SECRET not in caplog.text
