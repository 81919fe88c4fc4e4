"""A 120,000-record module, read completely at about one Get Records call per 200 records.

Past Zoho's page cap (2,000) and page_token cap (100,000): keyset re-anchoring on
Modified_Time never needs either, so the read costs about ceil(N/200) calls.
"""

from __future__ import annotations

import math
import time

import pytest
from singer_sdk.singerlib.encoding import GenericSingerWriter
from singer_sdk.singerlib.messages import Message
from tap_helpers import discover, select_only

from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

N = 120_000


class IdWriter(GenericSingerWriter[str, Message]):
    """Keeps only record ids (120k full records would not fit a test's memory budget)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.states = 0

    def serialize_message(self, message: Message) -> str:
        return ""

    def write_message(self, message: Message) -> None:
        payload = message.to_dict()
        if payload["type"] == "RECORD":
            self.ids.append(int(payload["record"]["id"]))
        elif payload["type"] == "STATE":
            self.states += 1


@pytest.mark.slow
def test_120k_records_read_completely_within_5_percent_of_the_minimum_calls():
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": N}) as zoho:
        config = {**zoho.tap_config(), "bulk_read_min_records": 0}  # the Get Records walk
        catalog = select_only(discover(config), {"Leads"})
        zoho.stats.reset()
        writer = IdWriter()
        started = time.monotonic()
        TapZohoCrm(
            config=config, catalog=catalog, parse_env_config=False, message_writer=writer
        ).sync_all()
        elapsed = time.monotonic() - started
        calls = zoho.stats.calls["GET /crm/v8/{module}"]
        truth = {int(i) for i in zoho.record_ids("Leads")}
    minimum = math.ceil(N / 200)
    print(
        f"\n{N} records in {elapsed:.1f} s: {calls} Get Records calls (minimum {minimum}), "
        f"{writer.states} STATE messages"
    )
    assert len(truth) == N
    assert len(writer.ids) == len(set(writer.ids))
    assert set(writer.ids) == truth
    assert minimum <= calls <= minimum * 1.05
    assert writer.states >= N // 1000
