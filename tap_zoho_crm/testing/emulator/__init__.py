"""A Zoho CRM v8 emulator for tests, demos and benchmarks (see docs/EMULATOR.md)."""

from .emulator import ZohoEmulator

__all__ = ["ZohoEmulator"]
