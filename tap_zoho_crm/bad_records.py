"""Records that cannot be keyed: no usable ``id`` or replication key (``Modified_Time``).

A walk orders, resumes and de-duplicates by ``(Modified_Time, id)``, so such a record would
stop every run at the same place with a bare ``KeyError``. `screen` checks each page once,
before the walk sees it, and either fails the stream with one line naming the record (its id,
or its position when the id is the problem) and the field, or, with ``on_bad_record=skip``,
leaves it out with a warning; skipped records are listed in the end-of-run summary. Bookmarks
stay right either way: a skipped record never moves one.

Every read path screens through here, each with its key and the name of what it reads: module
records (``Modified_Time``), ``<Module>_deleted`` entries (``deleted_time``), users, the parent
records of junction, subform and attachment walks (a bad parent is named as such: skipping it
skips its rows), and rows whose only use of a key is their id (subform rows, the ``ids=`` rows
merged into a record, the ids a tie block is listed by).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from tap_zoho_crm.client.errors import ZohoBadRecordError
from tap_zoho_crm.records import UTC_SUFFIX, parse_instant, to_int_id

#: A key absent from a record.
_ABSENT: Any = object()

#: One page screened: (records, whether a read positioned by its last record goes on after it)
#: -> the records that can be keyed (see `screen`).
Screen = Callable[[list[dict[str, Any]], bool], list[dict[str, Any]]]


def problem(record: dict[str, Any], key: str | None) -> tuple[str, str] | None:
    """Why ``record`` cannot be keyed, as (field, what), or None (a digit-string id is usable).

    Run on every record read, so the common case (an int id, a datetime in the tap's UTC
    text) costs one ``fromisoformat``.
    """
    record_id = record.get("id")
    if record_id.__class__ is not int:
        record_id = to_int_id(record_id)
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            return "id", f"a non-numeric id {record_id!r}" if "id" in record else "no id"
    if key is None:
        return None
    value = record.get(key, _ABSENT)
    if value.__class__ is not str:
        if value is _ABSENT:
            return key, f"no {key}"
        return key, f"a null {key}" if value is None else f"a {key} that is not a datetime"
    try:
        if value.endswith(UTC_SUFFIX):
            dt.datetime.fromisoformat(value)  # a UTC instant always converts to one
        else:
            parse_instant(value)
    except ValueError:
        return key, f"an invalid {key} {value[:40]!r}"
    return None


def screen(
    records: list[dict[str, Any]],
    *,
    stream: str,
    key: str | None,
    skip: bool,
    more_records: bool,
    on_skipped: Callable[[list[str]], None],
    logger: logging.Logger,
    subject: str = "record",
) -> list[dict[str, Any]]:
    """The keyable records of one page; a bad one fails the stream unless ``skip``.

    ``subject`` names what the records are in the line (``record``, ``deleted entry``,
    ``parent Quotes record``...). ``more_records``: the page is followed by more and the read
    goes on from its last record (a keyset walk), so a page with nothing kept would end it.
    """
    kept: list[dict[str, Any]] = []
    skipped: list[str] = []
    for position, record in enumerate(records, start=1):
        found = problem(record, key)
        if found is None:
            kept.append(record)
            continue
        field, what = found
        who = (
            f"{subject} {record['id']}"
            if field != "id"
            else f"the {subject} at position {position} of a page of {len(records)}"
        )
        if not skip:
            raise ZohoBadRecordError(
                f"{who} has {what} (field {field}); set on_bad_record to 'skip' to leave such "
                "records out"
            )
        logger.warning("%s: skipping %s: it has %s (field %s)", stream, who, what, field)
        # Listed by its (bad) id when it has one, so that a record met twice is counted once.
        raw_id = record.get("id")
        listed = f"{subject} {raw_id!r}" if field == "id" and raw_id is not None else who
        skipped.append(f"{listed} ({field})")
    if skipped:
        on_skipped(skipped)
        if more_records and not kept:
            # A walk re-queries from its last record: a page of nothing but bad records
            # followed by more would end it early, silently. Fail instead of reading short.
            raise ZohoBadRecordError(
                f"a whole page of {len(records)} {subject}s cannot be keyed (first: {skipped[0]}); "
                "the read cannot move past it"
            )
    return kept
