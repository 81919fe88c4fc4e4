"""Fixtures for the tap tests: emulated orgs and a clean token cache per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tap_helpers import DEMO_SEED

from tap_zoho_crm.client.auth import TOKEN_CACHE
from tap_zoho_crm.testing.emulator import ZohoEmulator


@pytest.fixture
def fresh_tokens() -> Iterator[None]:
    """Empty the process-wide access-token cache, for tests that count token mints."""
    TOKEN_CACHE.clear()
    yield
    TOKEN_CACHE.clear()


@pytest.fixture(scope="module")
def demo() -> Iterator[ZohoEmulator]:
    """A demo org per test module (read-only tests share it)."""
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        yield zoho


@pytest.fixture
def fresh_demo() -> Iterator[ZohoEmulator]:
    """A private demo org for a test that mutates data or sets faults."""
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        yield zoho
