"""The pure rules behind issue 16: what a success answer is, masking, local-input checks."""

from __future__ import annotations

import socket

import pytest
import requests

from tap_zoho_crm.bad_records import problem
from tap_zoho_crm.client.errors import (
    ErrorKind,
    ZohoAPIError,
    ZohoBadRecordError,
    ZohoConnectionError,
    ZohoCreditsExhaustedError,
    ZohoResponseError,
    classify,
)
from tap_zoho_crm.client.http import is_connect_failure, success_problem
from tap_zoho_crm.local_inputs import LocalInputError, check_env, check_state, cli_files
from tap_zoho_crm.masking import mask_secrets
from tap_zoho_crm.run_outcome import fails_stream_only
from tap_zoho_crm.tap import TapZohoCrm

ERROR = {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": [{"id": "1"}], "info": {"more_records": False}}, None),
        ({"data": []}, None),
        ({"modules": [{"api_name": "Leads"}]}, None),
        ({"users": [], "info": {}}, None),
        ({**ERROR, "status": "error"}, "INTERNAL_ERROR"),
        ({"code": "INVALID_MODULE", "message": "no"}, "INVALID_MODULE"),
        ({"data": [{**ERROR, "status": "error"}]}, "INTERNAL_ERROR"),
        (
            {"data": [{"id": "1"}, {**ERROR, "code": "NO_PERMISSION", "status": "error"}]},
            "NO_PERMISSION",
        ),
        ({"info": {"more_records": False}}, "NO_ITEMS"),
        ({"data": None}, "NO_ITEMS"),
        ({}, "NO_ITEMS"),
    ],
)
def test_a_success_is_a_json_object_with_its_items_and_no_error(body, code):
    found = success_problem(body)
    assert (found[0] if found else None) == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"count": 20000}, None),
        ({"count": 0}, None),
        ({"count": "12"}, "NO_ITEMS"),
        ({}, "NO_ITEMS"),
        ({**ERROR, "status": "error"}, "INTERNAL_ERROR"),
    ],
)
def test_a_count_answer_is_an_integer_count(body, code):
    found = success_problem(body, "/crm/v8/Leads/actions/count")
    assert (found[0] if found else None) == code


def test_zoho_transient_codes_are_retried_whatever_the_status():
    assert classify(200, "INTERNAL_ERROR", credits_remaining=None) is ErrorKind.RETRY
    assert classify(200, "INVALID_DATA", credits_remaining=None) is ErrorKind.FATAL
    assert classify(200, "NO_PERMISSION", credits_remaining=None) is ErrorKind.MODULE_UNAVAILABLE


def test_which_errors_stop_one_stream_and_which_stop_the_run():
    api = ZohoAPIError(status=200, code="INTERNAL_ERROR", message="x", path="/crm/v8/Leads")
    assert fails_stream_only(api)
    assert fails_stream_only(ZohoBadRecordError("record 1 has no id"))
    assert fails_stream_only(ZohoResponseError("not JSON"))
    assert not fails_stream_only(ZohoConnectionError("cannot connect"))
    assert not fails_stream_only(ZohoCreditsExhaustedError("spent"))
    assert not fails_stream_only(ValueError("a bug"))


def test_connect_failures_are_told_from_resets():
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    except requests.ConnectionError as exc:
        refused = exc
    assert is_connect_failure(refused)
    assert not is_connect_failure(requests.ConnectionError("Connection aborted."))
    assert not is_connect_failure(requests.ReadTimeout("read timed out"))


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": 1, "Modified_Time": "2024-01-01T00:00:00+00:00"}, None),
        ({"id": "x1", "Modified_Time": "2024-01-01T00:00:00+00:00"}, "id"),
        ({"Modified_Time": "2024-01-01T00:00:00+00:00"}, "id"),
        ({"id": True, "Modified_Time": "2024-01-01T00:00:00+00:00"}, "id"),
        ({"id": 1}, "Modified_Time"),
        ({"id": 1, "Modified_Time": None}, "Modified_Time"),
        ({"id": 1, "Modified_Time": "soon"}, "Modified_Time"),
        ({"id": 1, "Modified_Time": 12}, "Modified_Time"),
    ],
)
def test_a_record_is_keyable_with_an_integer_id_and_a_datetime_key(record, field):
    found = problem(record, "Modified_Time")
    assert (found[0] if found else None) == field


def test_secrets_of_any_json_type_are_masked():
    config = {
        "client_secret": ["s3cr3t-value"],
        "refresh_token": {"nested": 1234567890},
        "client_id": "visible-id",
    }
    message = "['s3cr3t-value'] is not of type 'string'; {'nested': 1234567890}; visible-id"
    masked = mask_secrets(message, config)
    assert "s3cr3t-value" not in masked
    assert "1234567890" not in masked
    assert "visible-id" in masked


def test_state_and_env_checks():
    check_state("s.json", {"bookmarks": {"Leads": {}}, "currently_syncing": None})
    check_state("s.json", {})
    for bad in ([], {"bookmarks": None}, {"bookmarks": []}, {"bookmarks": {"Leads": 3}}):
        with pytest.raises(LocalInputError, match=r"^state file s\.json: "):
            check_state("s.json", bad)
    schema = TapZohoCrm.config_jsonschema
    check_env({"TAP_ZOHO_CRM_MAX_CONCURRENCY": "3", "TAP_ZOHO_CRM_REQUEST_TIMEOUT": "2.5"}, schema)
    with pytest.raises(LocalInputError, match="TAP_ZOHO_CRM_REQUEST_TIMEOUT"):
        check_env({"TAP_ZOHO_CRM_REQUEST_TIMEOUT": "soon"}, schema)
    assert cli_files(["--config", "a.json", "--state=s.json", "--catalog", "c.json"]) == [
        ("config", "a.json"),
        ("state", "s.json"),
        ("catalog", "c.json"),
    ]
