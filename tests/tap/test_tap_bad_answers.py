"""Every answer read by one rule: a bad answer is retried, or fails its stream alone.

Each bad-answer kind of the emulator (badanswers.py) is met once (retried, nothing lost) and
persistently in the middle of a module walk (that stream fails with one line naming the
endpoint and the code, its STATE stays at the last record sent, nothing marks it complete,
the other streams complete, the run fails, and a resumed run loses nothing).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tap_helpers import CollectingWriter, discover, instant, run_sync, select_only

from tap_zoho_crm.run_outcome import StreamsFailedError
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.badanswers import BAD_ANSWER_KINDS

LEADS = "/crm/v8/Leads"
#: The code each kind is reported under (Zoho's own, or the client's for non-Zoho bodies).
CODES = {
    "error_body_200": "INTERNAL_ERROR",
    "data_entry_error": "INTERNAL_ERROR",
    "html_200": "NOT_JSON",
    "malformed_json": "NOT_JSON",
    "truncated_json": "NOT_JSON",
    "empty_200": "NOT_JSON",
    "no_data": "NO_ITEMS",
}
STREAMS = {"Installations", "Leads", "Products"}


@pytest.fixture(scope="module")
def org() -> Any:
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 400}) as zoho:
        yield zoho


@pytest.fixture(scope="module")
def catalog(org: ZohoEmulator) -> dict[str, Any]:
    return select_only(discover(org.tap_config()), STREAMS)


@pytest.fixture(autouse=True)
def _faults_off(org: ZohoEmulator) -> Any:
    yield
    org.faults.update(
        {
            "bad_answer_kind": None,
            "bad_answer_rate": 1.0,
            "bad_answer_path": None,
            "bad_answer_after": 0,
            "bad_answer_times": None,
        }
    )


def _config(org: ZohoEmulator) -> dict[str, Any]:
    return org.tap_config(max_retries=2, page_size=50)


def sync_allowing_failure(
    config: dict[str, Any], catalog: dict[str, Any], state: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], StreamsFailedError | None]:
    writer = CollectingWriter()
    tap = TapZohoCrm(
        config=dict(config),
        catalog=catalog,
        state=state,
        parse_env_config=False,
        message_writer=writer,
    )
    try:
        tap.sync_all()
    except StreamsFailedError as exc:
        return writer.messages, exc
    return writer.messages, None


def _ids(messages: list[dict[str, Any]], stream: str) -> list[int]:
    return [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def _truth(org: ZohoEmulator, module: str) -> set[int]:
    return {int(i) for i in org.record_ids(module)}


@pytest.mark.parametrize("kind", BAD_ANSWER_KINDS)
def test_a_bad_answer_once_is_retried_and_nothing_is_lost(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    org.faults.update(
        {
            "bad_answer_kind": kind,
            "bad_answer_path": LEADS,
            "bad_answer_after": 2,
            "bad_answer_times": 1,
        }
    )
    injected = org.faults.injected[kind]
    caplog.set_level(logging.WARNING)
    result = run_sync(_config(org), catalog=catalog)
    assert org.faults.injected[kind] == injected + 1
    for module in STREAMS:
        assert sorted(result.ids(module)) == sorted(_truth(org, module))
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert any(f"HTTP 200 {CODES[kind]}" in line and LEADS in line for line in retries), retries


@pytest.mark.parametrize("kind", BAD_ANSWER_KINDS)
def test_a_persistent_bad_answer_fails_its_stream_alone_and_keeps_the_last_good_bookmark(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str
) -> None:
    org.faults.update({"bad_answer_kind": kind, "bad_answer_path": LEADS, "bad_answer_after": 3})
    messages, failure = sync_allowing_failure(_config(org), catalog)
    # The run fails, with one line naming the stream, the endpoint and the code.
    assert failure is not None
    line = str(failure)
    assert "stream Leads failed" in line, line
    assert LEADS in line, line
    assert CODES[kind] in line, line
    assert "\n" not in line
    # The other streams ran, before and after Leads.
    for module in ("Installations", "Products"):
        assert sorted(_ids(messages, module)) == sorted(_truth(org, module))
    # Leads stopped short, and nothing marks it complete.
    leads = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "Leads"]
    assert 0 < len(leads) < len(_truth(org, "Leads"))
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]
    # The last STATE keeps the bookmark of the last Leads record sent.
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    bookmark = state["bookmarks"]["Leads"]
    newest = max(instant(r["Modified_Time"]) for r in leads)
    assert instant(bookmark["replication_key_value"]) == newest
    at_newest = {r["id"] for r in leads if instant(r["Modified_Time"]) == newest}
    assert set(bookmark["ids_at_replication_key_value"]) == at_newest
    # Resumed from that STATE once Zoho answers well again, nothing is lost.
    org.faults.bad_answer_kind = None
    resumed, again = sync_allowing_failure(_config(org), catalog, state)
    assert again is None
    assert {r["id"] for r in leads} | set(_ids(resumed, "Leads")) == _truth(org, "Leads")
