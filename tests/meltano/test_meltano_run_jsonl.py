"""`meltano run tap-zoho-crm target-jsonl` on the emulator's demo org, then again incrementally.

The second run must start from the state Meltano stored after the first (no state is passed by
the test), and emit exactly what changed in the emulator in between.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import (
    MeltanoProject,
    MeltanoResult,
    ids_of,
    read_jsonl_folder,
    state_id,
)
from tests.support.zoho_truth import (
    instant,
    live_ids,
    modified_times,
    modules_to_mutate,
    mutate,
    secrets,
)

pytestmark = pytest.mark.meltano

STATE_ID = state_id("tap-zoho-crm", "target-jsonl")
SETTINGS_STREAMS = {"Users", "Roles", "Profiles", "Org"}


def run_to_jsonl(meltano: MeltanoProject, env: dict[str, str], folder: Path) -> MeltanoResult:
    result = meltano.run(
        "run",
        "--no-install",
        "tap-zoho-crm",
        "target-jsonl",
        env={**env, "TARGET_JSONL_DESTINATION_PATH": str(folder)},
    )
    print(f"`meltano run tap-zoho-crm target-jsonl` took {result.seconds:.1f} s")
    return result


def assert_no_secret(zoho: ZohoEmulator, *texts: str) -> None:
    tokens = secrets(zoho)
    assert len(tokens) >= 3, "the run should have obtained at least one access token"
    for secret in tokens:
        for text in texts:
            assert secret not in text


def test_full_then_incremental_run_from_meltano_state(
    meltano: MeltanoProject, zoho: ZohoEmulator, zoho_env: dict[str, str], tmp_path: Path
) -> None:
    modules = sorted(zoho.module_names())
    truth = {module: modified_times(zoho, module) for module in modules}

    # -- first run: everything --------------------------------------------------------------------
    first = run_to_jsonl(meltano, zoho_env, tmp_path / "run1")
    loaded = read_jsonl_folder(tmp_path / "run1")

    wrong = {}
    for module in modules:
        got = ids_of(loaded.get(module, []))
        if len(got) != len(set(got)) or set(got) != set(truth[module]):
            wrong[module] = {
                "emitted": len(got),
                "distinct": len(set(got)),
                "expected": len(truth[module]),
                "missing": sorted(set(truth[module]) - set(got))[:5],
                "unexpected": sorted(set(got) - set(truth[module]))[:5],
            }
    assert wrong == {}, f"JSONL output differs from the emulator: {wrong}"
    assert sum(len(t) for t in truth.values()) > 1000, "the demo org should hold thousands of rows"
    assert set(loaded) >= SETTINGS_STREAMS

    # Every datetime is the emulator's instant, written in UTC.
    for module in modules:
        for record in loaded.get(module, []):
            assert record["Modified_Time"].endswith("+00:00"), record["Modified_Time"]
            assert instant(record["Modified_Time"]) == truth[module][int(record["id"])]

    # Meltano stored the target's final state: one bookmark per module at its newest record.
    state = meltano.singer_state(STATE_ID)
    bookmarks = {}
    for module in modules:
        if truth[module]:
            bookmark = state["bookmarks"][module]
            assert bookmark["replication_key"] == "Modified_Time"
            bookmarks[module] = instant(bookmark["replication_key_value"])
            assert bookmarks[module] == max(truth[module].values()), module

    # -- changes in the emulator, then the second run from the stored state ----------------------
    changes = mutate(zoho, modules_to_mutate(zoho))
    second = run_to_jsonl(meltano, zoho_env, tmp_path / "run2")
    reloaded = read_jsonl_folder(tmp_path / "run2")

    for module in modules:
        got = ids_of(reloaded.get(module, []))
        expected = changes.changed(module)
        # The only re-sends the design allows: records sitting exactly on the old bookmark.
        boundary = {i for i, t in truth[module].items() if t == bookmarks.get(module)}
        assert expected <= set(got), f"{module}: changes not picked up"
        assert set(got) - expected <= boundary, f"{module}: re-sent unchanged records"
        assert len(got) == len(set(got)), f"{module}: duplicates in one run"
        assert not set(got) & changes.deleted.get(module, set()), f"{module}: deleted re-sent"
        assert set(got) <= live_ids(zoho, module)
    assert sum(len(ids_of(reloaded.get(m, []))) for m in modules) < 50

    for module, (field_name, values) in changes.values.items():
        by_id = {int(r["id"]): r for r in reloaded[module]}
        assert {i: by_id[i][field_name] for i in values} == values

    new_state = meltano.singer_state(STATE_ID)
    for module in changes.updated:
        newest = max(modified_times(zoho, module).values())
        assert instant(new_state["bookmarks"][module]["replication_key_value"]) == newest

    # No secret in Meltano's output, the stored state, or the data.
    data = "".join(p.read_text() for p in tmp_path.glob("run*/*.jsonl"))
    assert_no_secret(zoho, first.output, second.output, json.dumps(new_state), data)


def test_seed_doc_aliases_and_a_module_list_from_the_environment(
    meltano: MeltanoProject, zoho: ZohoEmulator, tmp_path: Path
) -> None:
    # Only the Databricks connector's option names, as environment variables a user would set.
    leads = modified_times(zoho, "Leads")
    start = sorted(leads.values())[len(leads) // 2]
    env = {
        "TAP_ZOHO_CRM_CLIENT_ID": zoho.client_id,
        "TAP_ZOHO_CRM_CLIENT_VALUE_TMP": zoho.client_secret,
        "TAP_ZOHO_CRM_REFRESH_VALUE_TMP": zoho.refresh_token,
        "TAP_ZOHO_CRM_BASE_URL": zoho.base_url,
        "TAP_ZOHO_CRM_INITIAL_LOAD_START_DATE": start.isoformat(),
        "TAP_ZOHO_CRM_INCLUDE_MODULES": json.dumps(["Leads", "Users"]),
    }
    result = run_to_jsonl(meltano, env, tmp_path / "out")
    loaded = read_jsonl_folder(tmp_path / "out")

    # Users may have nothing modified since the start date; Leads brings its deletes along;
    # no other stream may appear.
    assert "Leads" in loaded
    assert set(loaded) <= {"Leads", "Leads_deleted", "Users"}
    expected = {i for i, t in leads.items() if t >= start}
    assert 0 < len(expected) < len(leads)
    assert sorted(ids_of(loaded["Leads"])) == sorted(expected)
    deleted = {
        int(e["id"]) for e in zoho.deleted_records("Leads") if instant(e["deleted_time"]) >= start
    }
    assert sorted(ids_of(loaded.get("Leads_deleted", []))) == sorted(deleted)
    assert_no_secret(zoho, result.output)


def test_no_secret_in_meltano_output_at_debug_level(
    meltano: MeltanoProject, zoho: ZohoEmulator, zoho_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **zoho_env,
        "TAP_ZOHO_CRM_INCLUDE_MODULES": json.dumps(["Leads"]),
        "TAP_ZOHO_CRM_LOGLEVEL": "DEBUG",
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "out"),
    }
    result = meltano.run(
        "--log-level=debug", "run", "--no-install", "tap-zoho-crm", "target-jsonl", env=env
    )
    # Really at debug level: Meltano and the tap both said a lot.
    assert "[debug" in result.output
    assert len(result.output) > 100_000
    assert_no_secret(zoho, result.output, json.dumps(meltano.singer_state(STATE_ID)))
