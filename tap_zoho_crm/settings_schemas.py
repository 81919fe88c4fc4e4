"""PURE: fixed JSON Schemas of the settings streams (Users, Roles, Profiles, Org).

These endpoints have no field metadata to discover from, so their shapes are written down
here, annotated like module fields (``x-zoho-data-type``) so the bridge maps them the same way.
Keys Zoho adds beyond these are dropped (see streams/settings.py).
"""

from __future__ import annotations

from typing import Any

from tap_zoho_crm.schema import DATA_TYPE, lookup_schema

USERS = "Users"
ROLES = "Roles"
PROFILES = "Profiles"
ORG = "Org"


def _prop(data_type: str) -> dict[str, Any]:
    if data_type == "bigint":
        prop: dict[str, Any] = {"type": ["integer", "null"]}
    elif data_type == "lookup":
        prop = lookup_schema()
    elif data_type == "datetime":
        prop = {"type": ["string", "null"], "format": "date-time"}
    elif data_type == "date":
        prop = {"type": ["string", "null"], "format": "date"}
    elif data_type == "boolean":
        prop = {"type": ["boolean", "null"]}
    elif data_type == "integer":
        prop = {"type": ["integer", "null"]}
    elif data_type == "jsonobject":
        prop = {"type": ["object", "null"], "properties": {}, "additionalProperties": True}
    elif data_type == "jsonarray":
        prop = {
            "type": ["array", "null"],
            "items": {"type": ["object"], "properties": {}, "additionalProperties": True},
        }
    else:
        prop = {"type": ["string", "null"]}
    prop[DATA_TYPE] = data_type
    return prop


def _schema(fields: dict[str, str]) -> dict[str, Any]:
    properties = {"id": {"type": ["integer"], DATA_TYPE: "bigint"}}
    properties.update({name: _prop(kind) for name, kind in fields.items() if name != "id"})
    return {"type": ["object"], "properties": properties}


USERS_SCHEMA = _schema(
    {
        "first_name": "text",
        "last_name": "text",
        "full_name": "text",
        "email": "email",
        "alias": "text",
        "status": "text",
        "confirm": "boolean",
        "type__s": "text",
        "role": "lookup",
        "profile": "lookup",
        "Reporting_To": "lookup",
        "created_by": "lookup",
        "created_time": "datetime",
        "Modified_By": "lookup",
        "Modified_Time": "datetime",
        "time_zone": "text",
        "locale": "text",
        "language": "text",
        "country": "text",
        "city": "text",
        "country_locale": "text",
        "date_format": "text",
        "time_format": "text",
        "phone": "phone",
        "mobile": "phone",
        "zuid": "text",
        "Isonline": "boolean",
        "status_reason__s": "text",
        "name_format__s": "text",
        "sort_order_preference__s": "text",
        "sandboxDeveloper": "boolean",
        "personal_account": "boolean",
        "microsoft": "boolean",
        "territories": "jsonarray",
    }
)

ROLES_SCHEMA = _schema(
    {
        "name": "text",
        "display_label": "text",
        "description": "textarea",
        "reporting_to": "lookup",
        "share_with_peers": "boolean",
        "forecast_manager": "lookup",
        "admin_user": "boolean",
        "created_by__s": "lookup",
        "modified_by__s": "lookup",
        "created_time__s": "datetime",
        "modified_time__s": "datetime",
    }
)

PROFILES_SCHEMA = _schema(
    {
        "name": "text",
        "display_label": "text",
        "description": "textarea",
        "custom": "boolean",
        "default": "boolean",
        "type": "text",
        "category": "boolean",
        "permission_type": "text",
        "delete": "boolean",
        "created_by": "lookup",
        "modified_by": "lookup",
        "created_time": "datetime",
        "modified_time": "datetime",
    }
)

ORG_SCHEMA = _schema(
    {
        "company_name": "text",
        "alias": "text",
        "domain_name": "text",
        "primary_email": "email",
        "primary_zuid": "text",
        "zgid": "text",
        "type": "text",
        "time_zone": "text",
        "currency": "text",
        "currency_symbol": "text",
        "currency_locale": "text",
        "iso_code": "text",
        "country": "text",
        "country_code": "text",
        "city": "text",
        "state": "text",
        "street": "text",
        "zip": "text",
        "phone": "phone",
        "mobile": "phone",
        "fax": "phone",
        "website": "website",
        "employee_count": "text",
        "description": "textarea",
        "mc_status": "boolean",
        "gapps_enabled": "boolean",
        "hipaa_compliance_enabled": "boolean",
        "privacy_settings": "boolean",
        "lite_users_enabled": "boolean",
        "translation_enabled": "boolean",
        "photo_id": "text",
        "license_details": "jsonobject",
    }
)

#: Stream name -> (endpoint path, response key, schema, incremental key or None).
SETTINGS_ENDPOINTS: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    USERS: ("users", "users", USERS_SCHEMA, "Modified_Time"),
    ROLES: ("settings/roles", "roles", ROLES_SCHEMA, None),
    PROFILES: ("settings/profiles", "profiles", PROFILES_SCHEMA, None),
    ORG: ("org", "org", ORG_SCHEMA, None),
}
