"""Fixtures for the emulator's own tests: a read-only demo org and private minimal orgs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emu_helpers import Api

from tap_zoho_crm.testing.emulator import ZohoEmulator


@pytest.fixture(scope="module")
def api(emulator: ZohoEmulator) -> Api:
    return Api(emulator)


@pytest.fixture
def fresh() -> Iterator[ZohoEmulator]:
    """A private minimal org for tests that mutate data, move the clock or set faults."""
    with ZohoEmulator(profile="minimal", seed=11) as zoho:
        yield zoho


@pytest.fixture
def fresh_api(fresh: ZohoEmulator) -> Api:
    return Api(fresh)
