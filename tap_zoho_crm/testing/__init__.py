"""Test support for tap-zoho-crm: the Zoho CRM emulator. The tap never imports this package."""
