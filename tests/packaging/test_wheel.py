"""The wheel a user installs: built by `pip wheel .`, installed into a fresh venv, run for real.

The runtime wheel must work on its own (`--about`, a sync against the emulator) and must not carry
the emulator, which is a distribution of its own (`packaging/emulator/`,
`tap-zoho-crm[emulator]`). The emulator serving the sync runs in this test process, from the
repository, so the expected records come from its stored data.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.wheels import (
    EMULATOR_PROJECT,
    PROJECT_ROOT,
    FreshVenv,
    build_wheel,
    clean_env,
    project_version,
    run,
)
from tests.support.zoho_truth import live_ids, secrets

SYNC_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {
        "tap": build_wheel(PROJECT_ROOT, out),
        "emulator": build_wheel(EMULATOR_PROJECT, out),
    }


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> FreshVenv:
    fresh = FreshVenv.create(tmp_path_factory.mktemp("fresh") / "venv")
    fresh.install("tap-zoho-crm", find_links=wheels["tap"].parent)
    return fresh


@pytest.fixture
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="demo", seed=7) as emulator:
        yield emulator


def test_the_runtime_wheel_leaves_the_emulator_out(wheels: dict[str, Path]) -> None:
    names = zipfile.ZipFile(wheels["tap"]).namelist()
    assert "tap_zoho_crm/tap.py" in names
    assert "lakeflow_bridge/connector.py" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert not [name for name in names if name.startswith("tap_zoho_crm/testing/")]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "zoho-crm-emulator" not in zipfile.ZipFile(wheels["tap"]).read(entry_points).decode()


def test_about_from_the_installed_wheel(venv: FreshVenv, tmp_path: Path) -> None:
    about = json.loads(
        run([str(venv.bin / "tap-zoho-crm"), "--about", "--format=json"], cwd=tmp_path)
    )
    assert about["name"] == "tap-zoho-crm"
    assert about["version"] == project_version()
    assert {"client_id", "client_secret", "refresh_token"} <= set(about["settings"]["properties"])
    # The installed package is the wheel's copy, and it has no emulator.
    where = run(
        [str(venv.python), "-c", "import tap_zoho_crm; print(tap_zoho_crm.__file__)"], cwd=tmp_path
    )
    assert Path(where.strip()).is_relative_to(venv.root)
    probe = subprocess.run(
        [str(venv.python), "-c", "import tap_zoho_crm.testing.emulator"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0
    assert "ModuleNotFoundError" in probe.stderr


def test_sync_from_the_installed_wheel(venv: FreshVenv, zoho: ZohoEmulator, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(zoho.tap_config(include_modules=["Leads", "Roles"])))
    completed = subprocess.run(
        [str(venv.bin / "tap-zoho-crm"), "--config", str(config)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=SYNC_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    records: dict[str, list[int]] = {}
    for message in messages:
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(int(message["record"]["id"]))
    assert sorted(records["Leads"]) == sorted(live_ids(zoho, "Leads"))
    assert len(records["Roles"]) == len(set(records["Roles"])) > 0
    assert messages[-1]["type"] == "STATE"
    assert "Leads" in messages[-1]["value"]["bookmarks"]
    for secret in secrets(zoho):
        assert secret not in completed.stdout + completed.stderr


def test_the_emulator_extra_installs_the_emulator_distribution(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    assert project_version(EMULATOR_PROJECT / "pyproject.toml") == project_version()
    venv = FreshVenv.create(tmp_path / "venv")
    venv.install("tap-zoho-crm[emulator]", find_links=wheels["tap"].parent)
    usage = run([str(venv.bin / "zoho-crm-emulator"), "--help"], cwd=tmp_path)
    assert "--profile" in usage
    run(
        [str(venv.python), "-c", "from tap_zoho_crm.testing.emulator import ZohoEmulator"],
        cwd=tmp_path,
    )
