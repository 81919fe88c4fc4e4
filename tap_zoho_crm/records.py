"""PURE: a Zoho record -> a Singer record (UTC datetimes, integer ids, no ``$`` keys).

Zoho writes datetimes in the API user's time zone, whose offset changes with DST inside one
result set, so values are parsed to instants and re-emitted as ``YYYY-MM-DDTHH:MM:SS+00:00``.
Ids are digit strings; the seed maps them to Long, so they become integers, including the ids
inside lookups and nested rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from tap_zoho_crm.schema import datetime_properties, integer_id_properties

#: A Zoho datetime: seconds precision (fractions tolerated) with a numeric offset or ``Z``.
ZOHO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$")
_DIGITS = re.compile(r"^-?\d+$")
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


def parse_instant(value: str | dt.datetime) -> dt.datetime:
    """Parse a Zoho (or our UTC) datetime string into an aware UTC datetime.

    A value without an offset is taken as UTC.
    """
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_utc(value: dt.datetime) -> str:
    """The one datetime format the tap emits (and the one ``If-Modified-Since`` gets)."""
    return parse_instant(value).strftime(UTC_FORMAT)


def to_utc(value: Any) -> Any:
    """Normalise a datetime string to UTC; anything else is returned unchanged."""
    if not isinstance(value, str) or not ZOHO_DATETIME.match(value):
        return value
    try:
        return format_utc(parse_instant(value))
    except ValueError:
        return value


def to_int_id(value: Any) -> Any:
    """A digit-string id as an int; other values unchanged."""
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    return value


def normalise_nested(value: Any) -> Any:
    """Normalise lookups, tags, file rows...: ``id`` keys to int, datetimes to UTC."""
    if isinstance(value, list):
        return [normalise_nested(item) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "id":
                out[key] = to_int_id(item)
            elif isinstance(item, dict | list):
                out[key] = normalise_nested(item)
            else:
                out[key] = to_utc(item)
        return out
    return value


class RecordNormaliser:
    """Turns raw Zoho records of one stream into Singer records, per that stream's schema."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._datetimes = datetime_properties(schema)
        self._ids = integer_id_properties(schema)

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Normalise one record; keys starting with ``$`` (Zoho system flags) are dropped."""
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key.startswith("$"):
                continue
            if value is None:
                out[key] = None
            elif key in self._datetimes:
                out[key] = to_utc(value)
            elif key in self._ids:
                out[key] = to_int_id(value)
            elif isinstance(value, dict | list):
                out[key] = normalise_nested(value)
            else:
                out[key] = value
        return out
