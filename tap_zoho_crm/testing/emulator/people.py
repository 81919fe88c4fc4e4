"""The org's people and settings objects: users in several time zones, roles, profiles, org."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ids import SLOT_MISC, SLOT_PROFILES, SLOT_ROLES, SLOT_USERS, make_id

DAY = 86_400
USER_SEEDS = (
    # first, last, time zone (None = the API user's zone), role, profile, status, locale, city
    ("Pat", "Boyle", None, "CEO", "Administrator", "active", "en_US", "San Francisco"),
    ("Amelia", "Burrows", "Europe/Berlin", "Manager", "Standard", "active", "de_DE", "Berlin"),
    ("Ravi", "Iyer", "Asia/Kolkata", "Sales Rep", "Standard", "active", "en_IN", "Chennai"),
    ("Chloe", "Nguyen", "Australia/Sydney", "Sales Rep", "Standard", "active", "en_AU", "Sydney"),
    ("Marcus", "Hale", "America/New_York", "Sales Rep", "Standard", "inactive", "en_US", "NYC"),
    ("Sofia", "Reyes", "America/Sao_Paulo", "Manager", "Administrator", "active", "pt_BR", "Rio"),
    ("Jonas", "Weber", "Europe/Zurich", "Sales Rep", "Standard", "deleted", "de_CH", "Zurich"),
)
ROLE_NAMES = ("CEO", "Manager", "Sales Rep")
PROFILE_NAMES = ("Administrator", "Standard")


@dataclass
class People:
    users: dict[str, dict[str, Any]]
    roles: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    org_info: dict[str, Any]
    api_user_id: str
    owner_user_ids: list[str]


def build_people(*, created_at: int, data_start: int, user_time_zone: str, admin: bool) -> People:
    """Users, roles and profiles of the org (the first user is the API user)."""
    roles: dict[str, dict[str, Any]] = {}
    role_ids = {name: make_id(SLOT_ROLES, n + 1) for n, name in enumerate(ROLE_NAMES)}
    for n, name in enumerate(ROLE_NAMES):
        roles[role_ids[name]] = {
            "id": role_ids[name],
            "name": name,
            "display_label": name,
            "reporting_to": role_ids[ROLE_NAMES[n - 1]] if n else None,
            "share_with_peers": n < 2,
            "description": f"Users with the {name} role",
            "created_time": created_at,
            "modified_time": created_at + n * DAY,
        }
    profile_ids = {name: make_id(SLOT_PROFILES, n + 1) for n, name in enumerate(PROFILE_NAMES)}
    profiles: dict[str, dict[str, Any]] = {
        profile_ids[name]: {
            "id": profile_ids[name],
            "name": name,
            "display_label": name,
            "custom": False,
            "default": name == "Standard",
            "type": "normal_profile",
            "description": f"The {name} profile",
            "created_time": None,
            "modified_time": created_at + 2 * DAY,
        }
        for name in PROFILE_NAMES
    }
    users: dict[str, dict[str, Any]] = {}
    first_id = make_id(SLOT_USERS, 1)
    for n, (first, last, tz, role, profile_name, status, locale, city) in enumerate(USER_SEEDS):
        uid = make_id(SLOT_USERS, n + 1)
        profile = "Standard" if n == 0 and not admin else profile_name
        users[uid] = {
            "id": uid,
            "first_name": first,
            "last_name": last,
            "full_name": f"{first} {last}",
            "email": f"{first}.{last}@zylker-demo.example.com".lower(),
            "status": status,
            "confirm": status != "deleted",
            "role": role_ids[role],
            "profile": profile_ids[profile],
            "Reporting_To": None if n == 0 else first_id,
            "created_by": first_id,
            "created_time": created_at + n * 3 * DAY,
            "Modified_By": first_id,
            "Modified_Time": data_start + n * 37 * DAY,
            "time_zone": tz or user_time_zone,
            "locale": locale,
            "zuid": str(60_040_000 + n),
            "city": city,
            "country": locale.split("_")[1],
            "phone": f"+1 555-010-{1000 + n}",
        }
    api_user_id = first_id
    owner_user_ids = [uid for uid, u in users.items() if u["status"] in ("active", "inactive")]
    org_info = {
        "id": make_id(SLOT_MISC, 1),
        "company_name": "Zylker Demo Inc.",
        "alias": None,
        "domain_name": "org60012345",
        "primary_email": "pat.boyle@zylker-demo.example.com",
        "primary_zuid": "60040000",
        "zgid": "60012345",
        "time_zone": "Europe/London",
        "currency": "US Dollar - USD",
        "currency_symbol": "$",
        "currency_locale": "en_US",
        "iso_code": "USD",
        "type": "production",
        "country": "United States",
        "country_code": "US",
        "street": "4141 Hacienda Drive",
        "city": "Pleasanton",
        "state": "CA",
        "zip": "94588",
        "phone": "+1 925-924-9500",
        "mobile": None,
        "fax": None,
        "website": "https://www.zylker-demo.example.com",
        "employee_count": "120",
        "description": None,
        "mc_status": False,
        "gapps_enabled": False,
        "privacy_settings": True,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "translation_enabled": False,
        "photo_id": None,
        "license_details": {
            "paid": True,
            "paid_type": "enterprise",
            "paid_expiry": None,
            "trial_type": None,
            "trial_expiry": None,
            "trial_action": None,
            "users_license_purchased": 10,
        },
    }
    return People(users, roles, profiles, org_info, api_user_id, owner_user_ids)
