"""Fixtures for end-to-end runs of the real Meltano project against the emulator.

- `meltano`: the repository's meltano.yml with every plugin installed once per session (into a
  temporary `MELTANO_SYS_DIR_ROOT`, see tests/support/meltano.py) and a system database, hence
  Meltano state, of the test's own.
- `postgres_server` / `postgres_db`: one real PostgreSQL server per session (tests/support/
  postgres.py) and a fresh, empty database per test.
- `zoho` / `zoho_env`: the emulator's demo org, fresh per test, and the `TAP_ZOHO_CRM_*` variables
  that point the tap at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import MeltanoProject, tap_env
from tests.support.postgres import PostgresDatabase, PostgresServer

DEMO_SEED = 7


@pytest.fixture(scope="session")
def meltano_installed(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    sys_dir = tmp_path_factory.mktemp("meltano-sys")
    project = MeltanoProject(sys_dir=sys_dir, database=sys_dir / "install.db")
    result = project.install()
    print(f"\n`meltano install` took {result.seconds:.1f} s")
    return project


@pytest.fixture
def meltano(meltano_installed: MeltanoProject, tmp_path: Path) -> Iterator[MeltanoProject]:
    project_file = meltano_installed.root / "meltano.yml"
    before = project_file.read_text()
    yield meltano_installed.with_database(tmp_path / "meltano.db")
    # Runs must never edit the repository's project file (Meltano rewrites it on some commands).
    assert project_file.read_text() == before, "a meltano command modified meltano.yml"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> PostgresDatabase:
    return postgres_server.create_database()


@pytest.fixture
def zoho() -> Iterator[ZohoEmulator]:
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as emulator:
        yield emulator


@pytest.fixture
def zoho_env(zoho: ZohoEmulator) -> dict[str, str]:
    """For other settings: `tap_env(zoho.tap_config(include_modules=[...]))`."""
    return tap_env(zoho.tap_config())
