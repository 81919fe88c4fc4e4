"""Shared fixtures for the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[ZohoEmulator]:
    """A started demo-profile org shared by the session: read it, never mutate it.

    Tests that mutate data, move the clock or set faults start their own ``ZohoEmulator``.
    """
    with ZohoEmulator(profile="demo", seed=7) as zoho:
        yield zoho
