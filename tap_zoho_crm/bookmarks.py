"""PURE: incremental bookmarks that compare instants and remember the ids tied at the bookmark.

State per stream (the contract in docs/ARCHITECTURE.md)::

    {"replication_key": "Modified_Time",
     "replication_key_value": "2024-01-15T05:00:00+00:00",
     "ids_at_replication_key_value": [3652397000009851001]}

A resumed read asks Zoho for everything from the bookmark on (a second earlier, since
``If-Modified-Since`` may be exclusive; see paging.py) and skips what is older and the ids
listed: records sharing the bookmark's instant are neither lost nor re-sent. The SDK's own
bookmark logic compares ISO strings, which breaks as soon as two offsets meet; streams use
this instead (see streams/base.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from tap_zoho_crm.records import format_utc, parse_instant

KEY = "replication_key"
VALUE = "replication_key_value"
TIED_IDS = "ids_at_replication_key_value"


def utc_key(value: str | dt.datetime) -> str:
    """The tap's UTC text of an instant (``YYYY-MM-DDTHH:MM:SS+00:00``), cheaply for such text.

    Texts in that one format order like the instants they name, so bookmarks and cursors
    compare them as strings: O(1) per record, no parsing. A text already in the format is
    checked by ``fromisoformat`` (C) and returned as it is; anything else is parsed and
    formatted. Raises ValueError for a text that is not a datetime.
    """
    if (
        isinstance(value, str)
        and len(value) == 25
        and value[10] == "T"
        and value[0] != "0"
        and value.endswith("+00:00")
    ):
        dt.datetime.fromisoformat(value)
        return value
    # isoformat pads years before 1000 (strftime does not), keeping the order right.
    return parse_instant(value).isoformat(timespec="seconds")


class Bookmark:
    """A stream's bookmark, bound to (and written straight into) its state dict.

    Writing in place keeps every STATE message the SDK emits current, and appending to the
    tied-id list keeps a long run of equal instants linear rather than quadratic. The value is
    kept as UTC text (`utc_key`), so accounting for a record compares strings.
    """

    def __init__(
        self,
        state: MutableMapping[str, Any],
        replication_key: str,
        instant: dt.datetime | None,
        tied_ids: Iterable[int] = (),
    ) -> None:
        self._state = state
        self._key = replication_key
        self._text: str | None = format_utc(instant) if instant is not None else None
        self.tied_ids = set(tied_ids)
        if self._text is not None:
            state[KEY] = replication_key
            state[VALUE] = self._text
            state[TIED_IDS] = sorted(self.tied_ids)

    @property
    def instant(self) -> dt.datetime | None:
        """The bookmark's instant (None before the first record)."""
        return parse_instant(self._text) if self._text is not None else None

    @classmethod
    def bind(cls, state: MutableMapping[str, Any], replication_key: str) -> Bookmark:
        """Read a stream's bookmark (normalising its value to UTC) and bind to the state.

        A bookmark for another replication key, or one that does not parse, counts as none.
        """
        raw = state.get(VALUE)
        instant: dt.datetime | None = None
        if raw and state.get(KEY) in (None, replication_key):
            try:
                instant = parse_instant(str(raw))
            except ValueError:
                instant = None
        tied = _ints(state.get(TIED_IDS) or []) if instant is not None else set()
        return cls(state, replication_key, instant, tied)

    def start(self, start_date: dt.datetime | None) -> tuple[dt.datetime | None, set[int]]:
        """Where a read starts (the later of bookmark and start_date) and which ids to skip."""
        instant = self.instant
        if start_date is not None and (instant is None or start_date > instant):
            return start_date, set()
        return instant, set(self.tied_ids)

    def advance(self, instant: str | dt.datetime, record_id: int) -> bool:
        """Account for one emitted record; False if it is older than the bookmark.

        ``instant`` is the record's replication-key value: the tap's UTC text (compared as
        it is) or any datetime or datetime text (converted first).
        """
        return self._advance_pairs(((instant, record_id),)) == 0

    def advance_all(self, records: Iterable[Mapping[str, Any]], key: str) -> int:
        """`advance` for each record (its ``key`` value and ``id``), in order; how many were older.

        One pass over a page, the state written once: what a record-by-record loop would
        leave, at a fraction of its cost (the record path, issue 13). Records lacking either
        value are passed over.
        """
        return self._advance_pairs((record.get(key), record.get("id")) for record in records)

    def _advance_pairs(self, pairs: Iterable[tuple[Any, Any]]) -> int:
        """Advance over (instant, id) pairs in order; the number older than the bookmark.

        Tracks the newest instant met and the ids met at it (reset when a newer one comes),
        then writes the state once. Every value goes through `utc_key` (a text already in the
        tap's UTC format costs one ``fromisoformat``). Raises ValueError for a value that is not
        a datetime; pairs lacking either part are passed over.
        """
        current = self._text
        top = current
        at_top: list[int] = []
        older = 0
        for value, record_id in pairs:
            if value is None or record_id is None:
                continue
            text = utc_key(value)
            if top is None or text > top:
                top, at_top = text, [int(record_id)]
            elif text == top:
                at_top.append(int(record_id))
            else:
                older += 1
        if top is None:
            return older
        if top != current:
            ids = list(dict.fromkeys(at_top))
            self._text = top
            self.tied_ids = set(ids)
            self._state[KEY] = self._key
            self._state[VALUE] = top
            self._state[TIED_IDS] = ids
            return older
        listed = self._state[TIED_IDS]
        for record_id in at_top:
            if record_id not in self.tied_ids:
                self.tied_ids.add(record_id)
                listed.append(record_id)
        return older


def _ints(values: Iterable[Any]) -> set[int]:
    out: set[int] = set()
    for value in values:
        try:
            out.add(int(value))
        except (TypeError, ValueError):
            continue
    return out
