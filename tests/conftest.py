"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tap_zoho_crm.client.token_cache import CACHE_DIR_ENV
from tap_zoho_crm.testing.emulator import ZohoEmulator

#: The token cache directory of processes started by the JVM (Spark's Python workers inherit
#: the environment Spark starts with), set before any test runs so nothing uses the real home.
SESSION_TOKEN_CACHE = tempfile.mkdtemp(prefix="tap-zoho-crm-tokens-")
os.environ[CACHE_DIR_ENV] = SESSION_TOKEN_CACHE


@pytest.fixture(scope="session")
def session_token_cache() -> str:
    """The token cache directory Spark's Python workers use (see SESSION_TOKEN_CACHE)."""
    return SESSION_TOKEN_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's token cache directory."""
    shutil.rmtree(SESSION_TOKEN_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_token_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A token cache directory of each test's own, so tests never share access tokens."""
    directory = str(tmp_path_factory.mktemp("token-cache"))
    monkeypatch.setenv(CACHE_DIR_ENV, directory)
    return directory


@pytest.fixture(scope="session")
def emulator() -> Iterator[ZohoEmulator]:
    """A started demo-profile org shared by the session: read it, never mutate it.

    Tests that mutate data, move the clock or set faults start their own ``ZohoEmulator``.
    """
    with ZohoEmulator(profile="demo", seed=7) as zoho:
        yield zoho
