"""The Hub-style plugin definition adds the tap to a user's own, fresh Meltano project.

`meltano init` makes a new project outside the repository; `meltano add --from-ref` reads the
repository's `plugins/extractors/tap-zoho-crm--tap-zoho-crm.yml` unchanged. Its `pip_url` names
the PyPI package, which uv finds among the wheels this test builds (`UV_FIND_LINKS`), as it
would on PyPI once published. The tap then runs into target-jsonl against the emulator, and the
records are compared with the emulator's stored data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import PROJECT_ROOT, MeltanoProject, ids_of, read_jsonl_folder, tap_env
from tests.support.wheels import build_wheel, project_version
from tests.support.zoho_truth import live_ids, secrets

DEFINITION = PROJECT_ROOT / "plugins" / "extractors" / "tap-zoho-crm--tap-zoho-crm.yml"
STREAMS = ["Leads", "Campaigns", "Campaigns_Leads"]


def repo_plugin(kind: str, name: str) -> dict[str, Any]:
    project = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    definition: dict[str, Any] = next(p for p in project["plugins"][kind] if p["name"] == name)
    return definition


def test_the_definition_is_generated_from_meltano_yml() -> None:
    check = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "plugin_definition.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    definition = yaml.safe_load(DEFINITION.read_text())
    extractor = repo_plugin("extractors", "tap-zoho-crm")
    assert definition["settings"] == extractor["settings"]
    assert definition["capabilities"] == extractor["capabilities"]
    # Hub fields: installable from PyPI by name, no Hub needed.
    assert definition["pip_url"] == "tap-zoho-crm"
    assert {"name", "variant", "namespace", "executable", "label", "description"} <= set(definition)


@pytest.mark.meltano
def test_a_fresh_meltano_project_adds_the_tap_from_the_definition_and_runs_it(
    tmp_path: Path, zoho: ZohoEmulator
) -> None:
    wheelhouse = tmp_path / "wheels"
    build_wheel(PROJECT_ROOT, wheelhouse)
    env = {"UV_FIND_LINKS": str(wheelhouse)}
    outside = MeltanoProject(tmp_path / "sys", tmp_path / "meltano.db", tmp_path, env)
    outside.run("init", "--no-usage-stats", "project")
    user = MeltanoProject(tmp_path / "sys", tmp_path / "meltano.db", tmp_path / "project", env)

    added = user.run("add", "--from-ref", str(DEFINITION), "tap-zoho-crm")
    assert "Added extractor 'tap-zoho-crm'" in added.output
    # A custom loader, from a definition file too (the Hub is not reachable from the tests).
    loader_file = tmp_path / "target-jsonl.yml"
    loader_file.write_text(yaml.safe_dump(repo_plugin("loaders", "target-jsonl")))
    user.run("add", "--from-ref", str(loader_file), "target-jsonl")
    # The tap Meltano installed is the wheel just built (uv found it by the definition's pip_url).
    installed = next((tmp_path / "sys").rglob("bin/tap-zoho-crm"))
    version = subprocess.run(
        [str(installed), "--version"], capture_output=True, text=True, check=False
    )
    assert project_version() in version.stdout + version.stderr

    jsonl = {"TARGET_JSONL_DESTINATION_PATH": "output", "TARGET_JSONL_DO_TIMESTAMP_FILE": "false"}
    tap = tap_env(zoho.tap_config(include_modules=STREAMS))
    result = user.run("run", "tap-zoho-crm", "target-jsonl", env={**tap, **jsonl})
    records = read_jsonl_folder(tmp_path / "project" / "output")
    assert sorted(ids_of(records["Leads"])) == sorted(live_ids(zoho, "Leads"))
    assert records["Campaigns_Leads"]
    # target-jsonl does not support ACTIVATE_VERSION, and by default the tap sends none, so
    # there is no "Unknown message type" warning a user could do nothing about.
    assert "ACTIVATE_VERSION" not in result.output
    # Nor any other warning from the tap or the target on a clean run: only Meltano's own note
    # that this first run has no state.
    warnings = [
        line
        for line in result.output.splitlines()
        if ("[warning" in line or "[error" in line) and "No state was found" not in line
    ]
    assert not warnings, "\n".join(warnings)
    for secret in secrets(zoho):
        assert secret not in result.output
    # The project file carries the definition's settings.
    project = yaml.safe_load((tmp_path / "project" / "meltano.yml").read_text())
    settings = {s["name"]: s for s in project["plugins"]["extractors"][0]["settings"]}
    # Meltano 4 writes `kind: password` + `sensitive: true` as a sensitive string.
    assert settings["client_secret"]["sensitive"] is True
    assert settings["client_value_tmp"]["hidden"] is True
    assert settings["start_date"]["kind"] == "date_iso8601"
