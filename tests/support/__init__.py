"""Test-only helpers shared by several test folders (real services, no mocks)."""
