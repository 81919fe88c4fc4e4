"""The datetime fast path (`tap_zoho_crm.records.utc_text`) against the standard library.

The demo org's zone has whole-hour offsets; Zoho users in India (+05:30), Nepal (+05:45) or
Newfoundland (-03:30) carry minutes into the next or previous hour, across days and years.
The reference is ``fromisoformat`` + ``astimezone`` + ``strftime``, written here, over a grid of
instants and offsets; strings that are not Zoho datetimes must come back unchanged.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from tap_zoho_crm.records import to_utc
from tap_zoho_crm.records import utc_text as fast_utc_text

OFFSETS = ["+00:00", "-00:00", "+05:30", "+05:45", "-03:30", "-08:00", "+14:00", "-12:00",
           "+09:30", "+23:59", "-23:59"]  # fmt: skip
LOCAL_TIMES = [
    "2024-01-01T00:00:00",
    "2024-01-01T00:29:59",
    "2024-01-01T00:30:00",
    "2023-12-31T23:59:59",
    "2024-02-29T23:45:00",
    "2024-03-10T02:15:30",
    "2024-06-30T12:14:59",
    "2024-06-30T12:15:00",
    "1000-01-01T00:00:00",
    "9999-12-31T23:59:59",
]
_ZOHO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")


def reference(value: str) -> str:
    if not _ZOHO.fullmatch(value):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    except (ValueError, OverflowError):
        return value


def test_every_offset_and_minute_carry_matches_the_standard_library():
    checked = 0
    for local, offset in itertools.product(LOCAL_TIMES, OFFSETS):
        value = local + offset
        try:
            expected = reference(value)
        except OverflowError:
            continue
        assert fast_utc_text(value) == expected, value
        assert fast_utc_text(value) == expected, value  # again, from the caches
        checked += 1
    for minute, second in itertools.product(range(60), (0, 59)):
        value = f"2024-05-31T23:{minute:02d}:{second:02d}+05:45"
        assert fast_utc_text(value) == reference(value), value
        checked += 1
    assert checked > 200


def test_other_shapes_take_the_general_path_or_stay_unchanged():
    for value in [
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00.250+05:30",
        "2024-01-15T10:30:00+0530",
        "2024-01-15T10:60:00+05:30",
        "2024-01-15T10:30:60+05:30",
        "2024-13-15T10:30:00+05:30",
        "2024-01-15T24:00:00+05:30",
        "2024-01-15T10:30:00+24:00",
        "2024-01-15 10:30:00+05:30",
        "2024-W03-1T10:30:00+05:30",
        "0999-06-01T10:30:00+05:30",
        "2024-01-15",
        "Tomorrow, 10:30 +05:30 ok",
        "",
    ]:
        assert fast_utc_text(value) == reference(value), value
    assert to_utc(None) is None
    assert to_utc(42) == 42
