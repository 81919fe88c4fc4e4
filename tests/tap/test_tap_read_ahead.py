"""Streams in flight together (reading/readahead.py): valid Singer output, nothing lost when killed.

The next streams' reads run ahead of their turn; their state must still move only as their
records are emitted. A sync of several modules and their deleted lists is killed at random
points and resumed from its last STATE each time; at the end every record version and every
deletion must have been emitted, checked id by id against the emulator's store.
"""

from __future__ import annotations

import random

from tap_helpers import discover, instant, kill_and_resume, run_sync, select_only

from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator

MODULES = ("Accounts", "Contacts", "Deals", "Leads", "Products")
SIZE = 900
KILLS = 6


def test_streams_read_ahead_keep_schema_first_and_state_behind_emitted_records():
    with ZohoEmulator(profile="minimal", seed=23, size=dict.fromkeys(MODULES, 400)) as zoho:
        config = zoho.tap_config()
        names = set(MODULES) | {f"{m}_deleted" for m in MODULES}
        catalog = select_only(discover(config), names)
        zoho.faults.latency_s = 0.02
        result = run_sync(config, catalog=catalog)
        truth = {m: {int(i) for i in zoho.record_ids(m)} for m in MODULES}
        peak = result.tap.client.limiter.peak
    seen_schema: set[str] = set()
    for message in result.messages:
        if message["type"] == "SCHEMA":
            seen_schema.add(message["stream"])
        elif message["type"] == "RECORD":
            assert message["stream"] in seen_schema
    for module in MODULES:
        assert sorted(result.ids(module)) == sorted(truth[module])
    assert peak > 1  # streams were read together


def test_a_multi_stream_sync_killed_at_random_points_loses_nothing():
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    with ZohoEmulator(profile="minimal", seed=29, size=dict.fromkeys(MODULES, SIZE)) as zoho:
        config = zoho.tap_config()
        names = set(MODULES) | {f"{m}_deleted" for m in MODULES}
        catalog = select_only(discover(config), names)
        for module in MODULES:
            for record_id in rng.sample(sorted(zoho.record_ids(module)), 5):
                zoho.delete_record(module, record_id)
        zoho.clock.advance(5)

        def change_between_runs() -> None:
            module = rng.choice(MODULES)
            ids = sorted(zoho.record_ids(module))
            zoho.update_records(module, rng.sample(ids, 50))
            gone = rng.choice(MODULES)
            zoho.delete_record(gone, rng.choice(sorted(zoho.record_ids(gone))))
            zoho.clock.advance(rng.randint(1, 5))

        durable, kills = kill_and_resume(
            config, catalog, lambda: rng.randint(1, 1500), KILLS, change_between_runs
        )
        truth = {
            m: {(int(r["id"]), instant(r["Modified_Time"])) for r in zoho.iter_records(m)}
            for m in MODULES
        }
        deleted = {m: {int(r["id"]) for r in zoho.deleted_records(m)} for m in MODULES}

    print(f"{kills} kills")
    records = [m for m in durable if m["type"] == "RECORD"]
    for module in MODULES:
        emitted = {
            (int(m["record"]["id"]), instant(m["record"]["Modified_Time"]))
            for m in records
            if m["stream"] == module
        }
        missing = truth[module] - emitted
        assert not missing, f"{module}: {len(missing)} record versions lost"
        emitted_deleted = {
            int(m["record"]["id"]) for m in records if m["stream"] == f"{module}_deleted"
        }
        assert deleted[module] <= emitted_deleted, f"{module}_deleted lost entries"


def test_streams_in_flight_defaults_to_twice_the_calls_in_flight_at_most_25():
    with ZohoEmulator(profile="minimal", seed=23) as zoho:
        license_details = dict(zoho.org.org_info["license_details"])
        license_details.update(paid=True, paid_type="standard")  # 10 allowed, 9 used
        zoho.org.org_info["license_details"] = license_details
        cases = [({}, 18), ({"max_concurrency": 3}, 6), ({"max_concurrency": 20}, 25)]
        cases.append(({"max_concurrency": 20, "streams_in_flight": 1}, 1))
        for settings, streams in cases:
            tap = TapZohoCrm(config=zoho.tap_config(**settings), parse_env_config=False)
            # The stream in its turn, and the reads started ahead of theirs.
            assert 1 + tap._streams_ahead() == streams, settings
