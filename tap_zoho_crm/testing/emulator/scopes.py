"""OAuth scopes: which scope a CRM route needs (else 401 ``OAUTH_SCOPE_MISMATCH``).

A token minted for the default refresh token has every scope; tokens from
``ZohoEmulator.issue_refresh_token(scope=...)`` or the consent flow carry what was asked for.
"""

from __future__ import annotations

import re

from .errors import ApiError

SETTINGS_KINDS = {
    "/settings/modules": "modules",
    "/settings/fields": "fields",
    "/settings/related_lists": "related_lists",
    "/settings/roles": "roles",
    "/settings/profiles": "profiles",
}


def parse(scope: str) -> set[str]:
    return {part.lower() for part in re.split(r"[\s,]+", scope) if part}


def required(route: str, module: str | None) -> list[str]:
    """Scopes any one of which grants the route (lower case)."""
    path = route.split(" ", 1)[1]
    if path.startswith("/crm/bulk/"):
        return ["zohocrm.bulk.all", "zohocrm.bulk.read"]
    if path == "/crm/v8/coql":
        return ["zohocrm.coql.read", "zohocrm.coql.all"]
    if path.startswith("/crm/v8/users"):
        return ["zohocrm.users.all", "zohocrm.users.read"]
    if path == "/crm/v8/org":
        return ["zohocrm.org.all", "zohocrm.org.read"]
    if path.startswith("/crm/v8/settings/") or path == "/crm/v8/Contacts/roles":
        out = ["zohocrm.settings.all", "zohocrm.settings.read"]
        for prefix, kind in SETTINGS_KINDS.items():
            if path.startswith(f"/crm/v8{prefix}"):
                out += [f"zohocrm.settings.{kind}.read", f"zohocrm.settings.{kind}.all"]
        return out
    out = ["zohocrm.modules.all", "zohocrm.modules.read"]
    if module:
        out += [f"zohocrm.modules.{module.lower()}.read", f"zohocrm.modules.{module.lower()}.all"]
    return out


def check(granted: str, route: str, module: str | None) -> None:
    if not parse(granted) & set(required(route, module)):
        raise ApiError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})
