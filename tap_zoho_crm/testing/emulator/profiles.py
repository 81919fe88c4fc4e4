"""Org profiles: which modules exist and how many records each holds."""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "demo": {
        "user_time_zone": "America/Los_Angeles",
        "modules": {
            "Leads": 1200,
            "Contacts": 600,
            "Accounts": 250,
            "Deals": 400,
            "Tasks": 400,
            "Events": 250,
            "Calls": 300,
            "Products": 60,
            "Campaigns": 20,
            "Vendors": 25,
            "Price_Books": 12,
            "Cases": 150,
            "Solutions": 40,
            "Notes": 300,
            "Quotes": 90,
            "Sales_Orders": 70,
            "Purchase_Orders": 50,
            "Invoices": 70,
            "Installations": 300,
            "Leads_X_Products": 200,
            "Installations_X_Users": 150,
        },
    },
    "minimal": {
        "user_time_zone": "Asia/Kolkata",
        "modules": {
            "Leads": 30,
            "Contacts": 20,
            "Accounts": 10,
            "Deals": 12,
            "Products": 8,
            "Campaigns": 3,
            "Notes": 10,
            "Quotes": 6,
            "Installations": 15,
            "Leads_X_Products": 10,
            "Installations_X_Users": 8,
        },
    },
}
# Metadata-only modules every org lists (no records): two non-API modules, one whose
# settings/fields answers 204, and the consent records consent lookups point at (non-API).
ALWAYS_LISTED = ("Home", "Feeds", "Actions_Performed", "Consents")
