"""Fixtures for the derived-stream tests (deleted records, junctions, subforms, attachments)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import DEMO_SEED, discover


@pytest.fixture(scope="module")
def demo() -> Iterator[ZohoEmulator]:
    """A demo org shared by the read-only tests of one module."""
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        yield zoho


@pytest.fixture(scope="module")
def demo_catalog(demo: ZohoEmulator) -> dict[str, Any]:
    """The demo org's catalog with the default settings."""
    return discover(demo.tap_config())


@pytest.fixture
def fresh() -> Iterator[ZohoEmulator]:
    """A private demo org for a test that mutates data or moves the clock."""
    with ZohoEmulator(profile="demo", seed=DEMO_SEED) as zoho:
        yield zoho
