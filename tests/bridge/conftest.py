"""Fixtures for the lakeflow_bridge tests: one local SparkSession, and emulated Zoho orgs.

Spark starts once per test session (it costs seconds); the Python workers it forks must run
this interpreter, which has the bridge and the tap installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest
from bridge_helpers import DEMO_SEED, TableRead, connection_options, read_to_end

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.datasource import register
from lakeflow_bridge.demo import local_spark

if TYPE_CHECKING:
    from tap_zoho_crm.testing.emulator import ZohoEmulator


#: Under ``coverage run`` (which sets COVERAGE_RUN), Spark's Python workers each run one task
#: and exit through ``os._exit``, where coverage (``patch = ["_exit", "fork"]``) saves what they
#: ran. A reused worker is killed by its daemon instead (SIGHUP or SIGKILL), and its coverage
#: is lost. Workers that plan reads are still killed before saving; tests/bridge/
#: test_bridge_branches_reads.py drives those reader methods in this process.
_COVERAGE_CONF = {"spark_python_worker_reuse": "false"} if os.environ.get("COVERAGE_RUN") else {}


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    scratch = tmp_path_factory.mktemp("spark")
    session = local_spark(
        "lakeflow-bridge-tests",
        spark_sql_warehouse_dir=str(scratch / "warehouse"),
        spark_local_dir=str(scratch / "local"),
        **_COVERAGE_CONF,
    )
    register(session)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_zoho() -> Iterator[ZohoEmulator]:
    """The demo org, read-only: tests that mutate data use ``fresh_zoho`` instead."""
    from tap_zoho_crm.testing.emulator import ZohoEmulator  # noqa: PLC0415

    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        yield zoho


@pytest.fixture
def fresh_zoho() -> Iterator[Callable[..., ZohoEmulator]]:
    """A factory of private emulated orgs, stopped at the end of the test."""
    from tap_zoho_crm.testing.emulator import ZohoEmulator  # noqa: PLC0415

    with ExitStack() as stack:

        def start(**kwargs: Any) -> ZohoEmulator:
            kwargs.setdefault("profile", "demo")
            kwargs.setdefault("seed", DEMO_SEED)
            return stack.enter_context(ZohoEmulator(**kwargs))

        yield start


@pytest.fixture(scope="session")
def demo_connector(demo_zoho: ZohoEmulator) -> ZohoCrmLakeflowConnect:
    """One connector on the demo org: it discovers once and serves every table."""
    return ZohoCrmLakeflowConnect(connection_options(demo_zoho))


@pytest.fixture(scope="session")
def demo_reads(demo_connector: ZohoCrmLakeflowConnect) -> dict[str, TableRead]:
    """Every table of the demo org read from ``{}`` until its offset stops moving."""
    return {table: read_to_end(demo_connector, table) for table in demo_connector.list_tables()}
