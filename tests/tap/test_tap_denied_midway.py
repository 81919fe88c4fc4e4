"""A module refused before its first record is skipped; one refused midway has failed.

Zoho answers 403 ``NO_PERMISSION`` for a module the API user's profile cannot read (section
3). Before any record was sent, that is an unavailable module: skipped with one warning
(``skip_unavailable_streams``). After some were sent (an admin changed the profile during the
run), the stream is incomplete: the run must not exit 0, and its state keeps the bookmark of
the last record sent, from which a later run continues without loss.
"""

from __future__ import annotations

from typing import Any

import pytest
from tap_helpers import discover, run_sync, select_only

from tap_zoho_crm.run_outcome import StreamsFailedError
from tap_zoho_crm.testing.emulator import ZohoEmulator


def test_refused_before_any_record_is_a_skip(caplog: pytest.LogCaptureFixture) -> None:
    with ZohoEmulator(profile="minimal", seed=8, size={"Leads": 600}) as zoho:
        config = zoho.tap_config(streams_in_flight=1)
        catalog = select_only(discover(config), {"Leads", "Contacts"})
        zoho.faults.denied_modules = {"Leads"}
        result = run_sync(config, catalog=catalog)
        assert not result.ids("Leads")
        assert {str(i) for i in result.ids("Contacts")} == zoho.record_ids("Contacts")
        assert "Skipping stream Leads: Zoho answered NO_PERMISSION" in caplog.text


def test_refused_midway_fails_the_run_and_the_state_resumes_without_loss() -> None:
    with ZohoEmulator(profile="minimal", seed=8, size={"Leads": 1200}) as zoho:
        config = zoho.tap_config(streams_in_flight=1, windowed_reads=False)
        catalog = select_only(discover(config), {"Leads"})
        zoho.faults.denied_modules = {"Leads"}
        zoho.faults.denied_after = 2  # two pages go out, then the profile loses Leads
        messages: list[dict[str, Any]] = []
        with pytest.raises(StreamsFailedError, match="Leads"):
            run_sync(config, catalog=catalog, on_message=messages.append)
        first = {str(m["record"]["id"]) for m in messages if m["type"] == "RECORD"}
        assert 0 < len(first) < 1200
        state = next(m["value"] for m in reversed(messages) if m["type"] == "STATE")

        zoho.faults.denied_modules = set()
        resumed = run_sync(config, catalog=catalog, state=state)
        second = {str(i) for i in resumed.ids("Leads")}
        assert first | second == zoho.record_ids("Leads")
