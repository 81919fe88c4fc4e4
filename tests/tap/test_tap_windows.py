"""Windowed reads (tap_zoho_crm/reading/windows.py): killed anywhere, resumed, nothing lost.

A run is killed by its message writer after a random number of records; only what a target
would have made durable counts (the records before the run's last STATE), and the next run
starts from that STATE. Between runs the org keeps changing (blocks of records updated in one
second, i.e. tie blocks larger than a page). At the end every record must have been emitted
with its current Modified_Time, checked id by id against the emulator's store.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from singer_sdk.singerlib.encoding import GenericSingerWriter
from singer_sdk.singerlib.messages import Message
from tap_helpers import KilledError, discover, instant, select_only, sync_until_killed

from tap_zoho_crm.client.errors import ZohoCreditsExhaustedError
from tap_zoho_crm.streams.base import ZohoStream
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

SIZE = 8000
KILLS = 10
#: STATE every this many records, and kills within this many: 9 killed runs make at most
#: 9 x 800 records durable, fewer than SIZE, so every kill lands inside the windowed read.
STATE_EVERY = 200
KILL_WITHIN = 800
WINDOW = 400  # records per window at least: 8,000 records make 9 windows (the tap's limit)


class KillingWriter(GenericSingerWriter[str, Message]):
    """Keeps (id, Modified_Time) of records and the last STATE; dies after ``kill_after``."""

    def __init__(
        self, stream: str, kill_after: int | None, *, kill_past_windows: int | None = None
    ) -> None:
        self.stream = stream
        self.kill_after = kill_after
        #: With ``kill_after`` (counted from then): die only once a STATE lists more windows.
        self.kill_past_windows = kill_past_windows
        self.records: list[tuple[int, Any]] = []
        #: Records written before the last STATE: what a target had made durable.
        self.durable = 0
        self.state: dict[str, Any] | None = None
        self.window_counts: list[int] = []

    def serialize_message(self, message: Message) -> str:
        return ""

    def write_message(self, message: Message) -> None:
        payload = message.to_dict()
        if payload["type"] == "RECORD" and payload["stream"] == self.stream:
            armed = self.kill_past_windows is None
            if armed and self.kill_after is not None and len(self.records) >= self.kill_after:
                raise KilledError
            record = payload["record"]
            self.records.append((int(record["id"]), instant(record["Modified_Time"])))
        elif payload["type"] == "STATE":
            self.state = json.loads(json.dumps(payload["value"]))
            self.durable = len(self.records)
            windows = self.state["bookmarks"].get(self.stream, {}).get("windows") or []
            self.window_counts.append(len(windows))
            past = self.kill_past_windows
            if past is not None and len(windows) > past and self.kill_after is not None:
                self.kill_past_windows = None
                self.kill_after += len(self.records)


def _run(
    config: dict[str, Any], catalog: dict[str, Any], state: Any, writer: KillingWriter
) -> bool:
    """One run; whether it was killed."""
    return sync_until_killed(config, catalog, state, writer)


@pytest.mark.parametrize(
    ("module", "exclusive", "unstable"),
    [("Leads", False, False), ("Contacts", True, True)],
    ids=["leads-ims-inclusive", "contacts-ims-exclusive-unstable-order"],
)
def test_a_windowed_walk_killed_at_10_random_points_loses_nothing(
    module, exclusive, unstable, monkeypatch
):
    monkeypatch.setattr(ZohoStream, "STATE_MSG_FREQUENCY", STATE_EVERY)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    with ZohoEmulator(profile="minimal", seed=17, size={module: SIZE}) as zoho:
        zoho.faults.if_modified_since_exclusive = exclusive
        zoho.faults.unstable_tie_order = unstable
        zoho.faults.fault_seed = seed
        config = zoho.tap_config(window_min_records=WINDOW)
        catalog = select_only(discover(config), {module})
        ids = sorted(zoho.record_ids(module))
        # Blocks of more than a page in one second, spread over the range the windows cut.
        for _ in range(3):
            zoho.update_records(module, rng.sample(ids, 450))
            zoho.clock.advance(rng.randint(1, 30))
        state: Any = None
        durable: set[tuple[int, Any]] = set()
        window_counts: list[int] = []
        kills = 0
        while kills < KILLS:
            writer = KillingWriter(module, kill_after=rng.randint(1, KILL_WITHIN))
            killed = _run(config, catalog, state, writer)
            durable.update(writer.records[: writer.durable] if killed else writer.records)
            window_counts += writer.window_counts
            state = writer.state or state
            kills += killed
            # The org changes between runs: a tie block, and records moved ahead.
            zoho.clock.advance(rng.randint(1, 5))
            zoho.update_records(module, rng.sample(ids, rng.choice([30, 250])))
            zoho.clock.advance(rng.randint(1, 5))
            if not killed:
                break
        final = KillingWriter(module, kill_after=None)
        # The run's outcome as a plain name: a failing assert must not print the config.
        final_killed = _run(config, catalog, state, final)
        assert not final_killed
        durable.update(final.records)
        truth = {(int(r["id"]), instant(r["Modified_Time"])) for r in zoho.iter_records(module)}

    print(f"{kills} kills; windows in STATE: {sorted(set(window_counts))}")
    assert kills == KILLS, "every run before the last must be killed mid-read"
    assert max(window_counts) >= 2, "the read was split into windows"
    missing = truth - durable
    assert not missing, f"{len(missing)} record versions lost, e.g. {sorted(missing)[:3]}"
    assert {record_id for record_id, _ in durable} == {record_id for record_id, _ in truth}
    final_bookmark = final.state["bookmarks"][module] if final.state else {}
    assert "windows" not in final_bookmark
    newest = max(modified for _, modified in truth)
    assert instant(final_bookmark["replication_key_value"]) == newest


def test_a_window_cut_for_an_idle_worker_is_killed_resumed_and_loses_nothing(monkeypatch):
    """The open window holds a block of records in one second (walked twice) and newer records
    after it, so the other windows finish first and an idle worker takes the newer half of
    what it has left (`_Cutter`). The run dies after the cut reached a STATE; later runs,
    killed at random points, resume every window, the cut ones included.
    """
    monkeypatch.setattr(ZohoStream, "STATE_MSG_FREQUENCY", STATE_EVERY)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    with ZohoEmulator(profile="minimal", seed=23, size={"Leads": SIZE}) as zoho:
        config = zoho.tap_config(window_min_records=WINDOW)
        catalog = select_only(discover(config), {"Leads"})
        ids = rng.sample(sorted(zoho.record_ids("Leads")), 1200)
        zoho.clock.advance(5)
        zoho.update_records("Leads", ids[:600])  # three pages in one second
        for chunk in range(600, 1200, 10):  # then 600 records over 60 seconds
            zoho.clock.advance(1)
            zoho.update_records("Leads", ids[chunk : chunk + 10])
        first = KillingWriter("Leads", kill_after=rng.randint(0, 300), kill_past_windows=9)
        # The run's outcome as a plain name: a failing assert must not print the config.
        first_killed = _run(config, catalog, None, first)
        assert first_killed, "the run dies once a cut is in the STATE"
        assert max(first.window_counts) > 9, "an idle worker's window was cut"
        durable = set(first.records[: first.durable])
        state = first.state
        for _ in range(3):
            writer = KillingWriter("Leads", kill_after=rng.randint(1, 400))
            killed = _run(config, catalog, state, writer)
            durable.update(writer.records[: writer.durable] if killed else writer.records)
            state = writer.state or state
            if not killed:
                break
        final = KillingWriter("Leads", kill_after=None)
        final_killed = _run(config, catalog, state, final)
        assert not final_killed
        durable.update(final.records)
        truth = {(int(r["id"]), instant(r["Modified_Time"])) for r in zoho.iter_records("Leads")}
    missing = truth - durable
    assert not missing, f"{len(missing)} record versions lost, e.g. {sorted(missing)[:3]}"
    assert "windows" not in final.state["bookmarks"]["Leads"]


def test_credits_running_out_mid_windows_stop_with_a_state_that_resumes_every_window():
    with ZohoEmulator(profile="minimal", seed=19, size={"Leads": 6000}) as zoho:
        config = zoho.tap_config(window_min_records=500, max_retries=3)
        catalog = select_only(discover(config), {"Leads"})
        zoho.faults.daily_credits = zoho.stats.credits + 20  # the read needs about 45
        stopped = KillingWriter("Leads", kill_after=None)
        with pytest.raises(ZohoCreditsExhaustedError):
            TapZohoCrm(
                config=config, catalog=catalog, parse_env_config=False, message_writer=stopped
            ).sync_all()
        assert stopped.state is not None
        assert len(stopped.state["bookmarks"]["Leads"]["windows"]) >= 2
        zoho.faults.daily_credits = None
        resumed = KillingWriter("Leads", kill_after=None)
        resumed_killed = _run(config, catalog, stopped.state, resumed)
        assert not resumed_killed
        truth = {int(i) for i in zoho.record_ids("Leads")}
    durable = {record_id for record_id, _ in stopped.records[: stopped.durable]}
    again = {record_id for record_id, _ in resumed.records}
    assert durable | again == truth
    assert len(again) < len(truth)  # resumed, not restarted
