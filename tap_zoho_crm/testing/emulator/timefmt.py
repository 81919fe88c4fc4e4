"""Zoho's datetime dialect: ISO-8601, whole seconds, the API user's numeric offset."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo


class TimeFormatter:
    """Renders epoch seconds in one user's time zone (offsets follow DST per value)."""

    def __init__(self, tz_name: str) -> None:
        self.tz_name = tz_name
        self.tz = ZoneInfo(tz_name)

    def datetime(self, ts: int | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, self.tz).isoformat()


def format_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def parse_datetime(value: str) -> int:
    """Epoch seconds of an ISO-8601 value with an offset (``Z`` allowed) or an HTTP-date.

    Raises:
        ValueError: the value has no offset or is not a date at all.
    """
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"not a datetime: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without offset: {value!r}")
    return int(parsed.timestamp())
