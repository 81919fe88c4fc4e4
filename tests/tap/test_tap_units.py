"""Pure parts of the tap: config, schema mapping, record normalisation, bookmarks, chunking."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_zoho_crm.bookmarks import TIED_IDS, VALUE, Bookmark
from tap_zoho_crm.client.errors import ErrorKind, ZohoConfigError, classify
from tap_zoho_crm.config import (
    ZohoSettings,
    apply_aliases,
    check_module_names,
    check_url,
    parse_start_date,
)
from tap_zoho_crm.paging import FIELDS_PER_CALL, IDS_PER_CALL, chunk_fields, chunk_ids
from tap_zoho_crm.records import RecordNormaliser, format_utc, parse_instant, to_utc
from tap_zoho_crm.schema import DATA_TYPE, field_property, module_schema

# -- config -------------------------------------------------------------------------------


def test_seed_aliases_are_moved_onto_our_names():
    config = {
        "client_id": "c",
        "client_value_tmp": "s",
        "refresh_value_tmp": "r",
        "initial_load_start_date": "2024-01-01",
    }
    apply_aliases(config)
    assert config == {
        "client_id": "c",
        "client_secret": "s",
        "refresh_token": "r",
        "start_date": "2024-01-01",
    }


def test_conflicting_alias_is_refused_without_echoing_values():
    config = {"client_secret": "one-secret", "client_value_tmp": "other-secret"}
    with pytest.raises(ZohoConfigError) as info:
        apply_aliases(config)
    assert "client_value_tmp" in str(info.value)
    assert "one-secret" not in str(info.value)
    assert "other-secret" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["https://accounts.zoho.eu", "http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"],
)
def test_https_or_loopback_urls_are_accepted(url):
    assert check_url(url + "/", "base_url") == url


@pytest.mark.parametrize(
    "url", ["http://accounts.zoho.com", "ftp://x", "accounts.zoho.com", "http://10.0.0.1"]
)
def test_other_urls_are_refused(url):
    with pytest.raises(ZohoConfigError, match="base_url"):
        check_url(url, "base_url")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00+00:00"),
        ("2024-07-01T10:00:00-07:00", "2024-07-01T17:00:00+00:00"),
        ("2024-07-01T10:00:00", "2024-07-01T10:00:00+00:00"),
    ],
)
def test_start_date_forms(text, expected):
    assert format_utc(parse_start_date(text)) == expected


def test_malformed_start_date_is_a_clear_error():
    with pytest.raises(ZohoConfigError, match="start_date"):
        parse_start_date("last tuesday")


def test_missing_credentials_name_the_aliases():
    with pytest.raises(ZohoConfigError) as info:
        ZohoSettings.from_config({"client_id": "x"}, user_agent="t")
    assert "client_secret (or client_value_tmp)" in str(info.value)
    assert "refresh_token (or refresh_value_tmp)" in str(info.value)


def test_settings_repr_hides_secrets():
    settings = ZohoSettings.from_config(
        {"client_id": "id", "client_secret": "top-secret", "refresh_token": "1000.refresh"},
        user_agent="t",
    )
    assert "top-secret" not in repr(settings)
    assert "1000.refresh" not in repr(settings)


def test_unknown_module_names_suggest_close_ones():
    with pytest.raises(ZohoConfigError) as info:
        check_module_names(["Lead", "Deals"], ["Leads", "Deals", "Users"])
    assert "Lead (did you mean Leads?)" in str(info.value)


# -- error policy ---------------------------------------------------------------------------


def test_error_classification():
    assert classify(500, "INTERNAL_ERROR", credits_remaining=None) is ErrorKind.RETRY
    assert (
        classify(429, "TOO_MANY_REQUESTS", message="concurrency limit", credits_remaining=None)
        is ErrorKind.RETRY
    )
    assert classify(429, "TOO_MANY_REQUESTS", credits_remaining=0) is ErrorKind.CREDITS_EXHAUSTED
    assert (
        classify(
            429,
            "TOO_MANY_REQUESTS",
            message="API requests for the 24 hour period",
            credits_remaining=None,
        )
        is ErrorKind.CREDITS_EXHAUSTED
    )
    assert classify(401, "INVALID_TOKEN", credits_remaining=None) is ErrorKind.REFRESH_TOKEN
    for code in ("INVALID_MODULE", "NO_PERMISSION", "NOT_SUPPORTED", "FEATURE_NOT_ENABLED"):
        assert classify(400, code, credits_remaining=None) is ErrorKind.MODULE_UNAVAILABLE
    assert (
        classify(401, "OAUTH_SCOPE_MISMATCH", credits_remaining=None)
        is ErrorKind.MODULE_UNAVAILABLE
    )
    assert (
        classify(400, "PAGINATION_LIMIT_EXCEEDED", credits_remaining=None)
        is ErrorKind.PAGINATION_RESET
    )
    assert classify(400, "INVALID_DATA", credits_remaining=None) is ErrorKind.FATAL


# -- schema ----------------------------------------------------------------------------------


def _field(api_name, data_type, json_type, **extra):
    return {"api_name": api_name, "data_type": data_type, "json_type": json_type, **extra}


def test_field_types_map_to_json_schema_with_annotations():
    cases = {
        ("Email", "email", "string"): ["string", "null"],
        ("No_of_Employees", "integer", "integer"): ["integer", "null"],
        ("Big", "bigint", "string"): ["integer", "null"],
        ("Amount", "currency", "double"): ["number", "null"],
        ("Probability", "percent", "double"): ["number", "null"],
        ("Email_Opt_Out", "boolean", "boolean"): ["boolean", "null"],
        ("Owner", "ownerlookup", "jsonobject"): ["object", "null"],
        ("Tags", "multiselectpicklist", "jsonarray"): ["array", "null"],
        ("Tag", "text", "jsonarray"): ["array", "null"],
        ("Remind_At", "ALARM", "jsonobject"): ["object", "null"],
    }
    for (name, data_type, json_type), types in cases.items():
        prop = field_property(_field(name, data_type, json_type))
        assert prop["type"] == types, name
        assert prop[DATA_TYPE] == data_type
        assert prop["x-zoho-json-type"] == json_type
    created = field_property(_field("Created_Time", "datetime", "string"))
    assert created["format"] == "date-time"
    birthday = field_property(_field("Date_of_Birth", "date", "string"))
    assert birthday["format"] == "date"


def test_lookup_ids_are_integers_and_formula_follows_return_type():
    lookup = field_property(
        _field("Account_Name", "lookup", "jsonobject", lookup={"module": {"api_name": "Accounts"}})
    )
    assert lookup["properties"]["id"]["type"] == ["integer", "null"]
    assert lookup["x-zoho-lookup-module"] == "Accounts"
    formula = field_property(
        _field("Score", "formula", "double", formula={"return_type": "double"})
    )
    assert formula["type"] == ["number", "null"]
    assert formula["x-zoho-return-type"] == "double"


def test_unknown_data_type_falls_back_to_json_type_and_id_is_required_integer():
    schema = module_schema(
        [
            _field("id", "bigint", "string"),
            _field("Future", "hologram", "jsonobject"),
            _field("Rows", "subform", "jsonarray"),
            _field("Linked", "multiselectlookup", "jsonarray"),
        ]
    )
    assert schema["properties"]["id"]["type"] == ["integer"]
    assert schema["properties"]["Future"]["type"] == ["object", "null"]
    assert schema["properties"]["Future"][DATA_TYPE] == "hologram"
    # Served only by single-record GETs: not part of the list-call stream.
    assert "Rows" not in schema["properties"]
    assert "Linked" not in schema["properties"]


# -- records -----------------------------------------------------------------------------------


def test_datetimes_across_dst_become_utc():
    # America/Los_Angeles: -08:00 before 2024-03-10 02:00, -07:00 after.
    assert to_utc("2024-03-10T01:59:59-08:00") == "2024-03-10T09:59:59+00:00"
    assert to_utc("2024-03-10T03:00:00-07:00") == "2024-03-10T10:00:00+00:00"
    assert to_utc("2024-11-03T01:30:00-07:00") == "2024-11-03T08:30:00+00:00"
    assert to_utc("2024-11-03T01:30:00-08:00") == "2024-11-03T09:30:00+00:00"
    assert to_utc("not a date") == "not a date"


def test_record_normaliser():
    schema = module_schema(
        [
            _field("id", "bigint", "string"),
            _field("Modified_Time", "datetime", "string"),
            _field("Owner", "ownerlookup", "jsonobject"),
            _field("Tag", "text", "jsonarray"),
            _field("Description", "textarea", "string"),
        ]
    )
    record = {
        "id": "3652397000009851001",
        "Modified_Time": "2024-01-15T10:30:00+05:30",
        "Owner": {"name": "Pat", "id": "3652397000000186017", "email": "p@example.com"},
        "Tag": [{"name": "vip", "id": "3652397000000999001"}],
        "Description": "2024-01-15T10:30:00+05:30",
        "$currency_symbol": "$",
    }
    out = RecordNormaliser(schema)(record)
    assert out == {
        "id": 3652397000009851001,
        "Modified_Time": "2024-01-15T05:00:00+00:00",
        "Owner": {"name": "Pat", "id": 3652397000000186017, "email": "p@example.com"},
        "Tag": [{"name": "vip", "id": 3652397000000999001}],
        "Description": "2024-01-15T10:30:00+05:30",  # text stays text
    }


# -- bookmarks ----------------------------------------------------------------------------------


def test_bookmark_compares_instants_and_keeps_tied_ids():
    state = {
        "replication_key": "Modified_Time",
        VALUE: "2024-01-15T10:30:00+05:30",
        TIED_IDS: ["7"],
    }
    mark = Bookmark.bind(state, "Modified_Time")
    assert state[VALUE] == "2024-01-15T05:00:00+00:00"
    start, skip = mark.start(None)
    assert start == parse_instant("2024-01-15T05:00:00Z")
    assert skip == {7}
    # The same instant written with another offset is a tie, not a newer value.
    assert mark.advance(parse_instant("2024-01-14T21:00:00-08:00"), 8)
    assert state[TIED_IDS] == [7, 8]
    assert mark.advance(parse_instant("2024-01-15T05:00:01+00:00"), 9)
    assert state[VALUE] == "2024-01-15T05:00:01+00:00"
    assert state[TIED_IDS] == [9]
    assert not mark.advance(parse_instant("2024-01-01T00:00:00+00:00"), 10)
    later = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert mark.start(later) == (later, set())


# -- chunking ----------------------------------------------------------------------------------


def test_field_chunks_respect_the_cap_and_lead_with_the_keys():
    fields = ["id", *[f"F{i}" for i in range(120)], "Modified_Time"]
    chunks = chunk_fields(fields)
    assert chunks[0][:2] == ["id", "Modified_Time"]
    assert all(len(chunk) <= FIELDS_PER_CALL for chunk in chunks)
    assert all(chunk[0] == "id" for chunk in chunks)
    covered = [name for chunk in chunks for name in chunk]
    assert set(covered) == set(fields)
    assert len(covered) - len(fields) == len(chunks) - 1  # only id repeats
    assert chunk_fields(["id", "A", "Modified_Time"]) == [["id", "Modified_Time", "A"]]


def test_id_chunks():
    ids = list(range(250))
    chunks = chunk_ids(ids)
    assert [len(c) for c in chunks] == [IDS_PER_CALL, IDS_PER_CALL, 50]
    assert [i for c in chunks for i in c] == ids
