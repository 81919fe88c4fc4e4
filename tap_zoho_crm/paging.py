"""Zoho's pagination quirks, each in one named place.

* ``fields`` is mandatory and capped at 50 names per call          -> `chunk_fields`
* ``ids`` lists are capped (undocumented for Get Records; the smallest documented list cap,
  100, is assumed)                                                    -> `chunk_ids`
* ``page`` reaches only 2,000 records; ``page_token`` reaches 100,000, is bound to the
  other parameters, expires after 24 h, and may be a server-side *position* (records changed
  while paging shift later pages)                                     -> `ModifiedTimeWalk`
* ``converted`` defaults to false, hiding converted leads           -> `CONVERTED_PARAM_MODULES`
* list responses truncate rich text to 500 characters              -> `maybe_truncated`
* COQL's LIMIT + OFFSET reaches only 100,000 rows                   -> `COQL_REACH`

`ModifiedTimeWalk` is keyset pagination: every page is a fresh query sorted by
``Modified_Time`` ascending from the last instant seen, skipping records already emitted. It
never needs ``page_token`` except inside a block of more than one page of records sharing one
instant, so it never meets the 2,000 or 100,000 caps, reads modules of any size, and costs
about one call per page. Whether ``If-Modified-Since`` is inclusive is undocumented: the first
query of a walk asks from a second earlier (`if_modified_since`), which loses nothing under
either reading, and the second query learns the reading (`ModifiedTimeWalk._from`), so that
later queries re-read no more than the records of the last instant.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tap_zoho_crm.bookmarks import utc_key
from tap_zoho_crm.client.errors import ZohoAPIError, ZohoPaginationError
from tap_zoho_crm.records import format_utc, parse_instant

FIELDS_PER_CALL = 50
IDS_PER_CALL = 100
MAX_PER_PAGE = 200
REPLICATION_KEY = "Modified_Time"
#: How far COQL's LIMIT + OFFSET reaches (spec section 9): counts, probes and pages stop there.
COQL_REACH = 100_000

#: How much earlier than the instant wanted the If-Modified-Since header starts (see
#: `if_modified_since`): one tick of Zoho's whole-second datetimes.
IF_MODIFIED_SINCE_OVERLAP = dt.timedelta(seconds=1)

#: List responses cut rich-text values at this many characters; the full value needs a
#: single-record GET.
RICH_TEXT_LIST_LIMIT = 500

#: Modules whose Get Records hides converted records unless asked (``converted=both``).
CONVERTED_PARAM_MODULES = frozenset({"Leads"})

#: How many times a block of records sharing one instant is walked: the first walk follows
#: page_tokens, whose positions shift if a record in the block changes meanwhile (and cut the
#: block differently on every call if Zoho's order within one instant is not stable), so the
#: block is walked again until a walk finds nothing new (at most this many walks). Under a
#: stable order that is two walks.
TIE_BLOCK_MAX_WALKS = 12

#: Walks in a row that must find nothing new before a block whose order proved unstable is
#: taken as read (see `ModifiedTimeWalk._tie_block`).
UNSTABLE_QUIET_WALKS = 3

#: Restarts of a tie-block walk (token expired or capped) allowed without any new record.
TIE_BLOCK_MAX_STALLS = 2


def chunk_fields(
    fields: Sequence[str], *, leading: Sequence[str] = ("id", REPLICATION_KEY)
) -> list[list[str]]:
    """Split field names into calls of at most 50.

    The first chunk drives paging, so it always holds ``id`` and the replication key; every
    later chunk holds ``id`` too, to merge by it.
    """
    lead = ["id", *[name for name in leading if name != "id" and name in fields]]
    rest = [name for name in dict.fromkeys(fields) if name not in lead]
    first_room = FIELDS_PER_CALL - len(lead)
    chunks = [lead + rest[:first_room]]
    rest = rest[first_room:]
    step = FIELDS_PER_CALL - 1
    chunks.extend(["id", *rest[i : i + step]] for i in range(0, len(rest), step))
    return chunks


def chunk_ids(ids: Sequence[int]) -> list[list[int]]:
    """Split ids into ``ids=`` lists Zoho accepts."""
    return [list(ids[i : i + IDS_PER_CALL]) for i in range(0, len(ids), IDS_PER_CALL)]


def maybe_truncated(value: Any) -> bool:
    """Whether a rich-text value from a list response may have been cut at the limit."""
    return isinstance(value, str) and len(value) >= RICH_TEXT_LIST_LIMIT


def at_list_cut(value: Any) -> bool:
    """Whether a value not from a list response (Bulk Read) may still be cut: exactly at the cut.

    Bulk Read's handling of rich text is not documented; a value longer than the cut is whole.
    """
    return isinstance(value, str) and len(value) == RICH_TEXT_LIST_LIMIT


def if_modified_since(instant: dt.datetime | None) -> dict[str, str]:
    """The ``If-Modified-Since`` header that returns every record modified at or after ``instant``.

    Zoho does not say whether the header compares with ``>=`` or ``>``. Sending the instant
    itself would, under ``>``, drop the records of that very second not yet read, so the header
    asks from one second earlier (Zoho's datetimes are whole seconds) and callers drop what they
    already have: under ``>=`` that re-reads the previous second's records, under ``>`` nothing.
    """
    if instant is None:
        return {}
    return {"If-Modified-Since": format_utc(instant - IF_MODIFIED_SINCE_OVERLAP)}


def list_params(module: str) -> dict[str, str]:
    """Parameters every Get Records call of a module needs to see all its records."""
    return {"converted": "both"} if module in CONVERTED_PARAM_MODULES else {}


@dataclass(frozen=True)
class Page:
    """One answer of a list call, records already normalised (int ids, UTC datetimes)."""

    records: list[dict[str, Any]]
    more_records: bool
    next_page_token: str | None = None

    @classmethod
    def from_info(cls, records: list[dict[str, Any]], info: Mapping[str, Any]) -> Page:
        """Build from Zoho's ``info`` object (``more_records``, ``next_page_token``)."""
        token = info.get("next_page_token")
        return cls(
            records=records,
            more_records=bool(info.get("more_records")),
            next_page_token=str(token) if token else None,
        )


#: Fetch one page: (If-Modified-Since instant, page_token, page number) -> page or None
#: (None for 204/304). A fresh query is (instant, None, 1).
FetchPage = Callable[[dt.datetime | None, str | None, int], Page | None]


#: Read the records of one instant whose id is above the given one (all, for None), ascending
#: by id, a page at a time: (instant, after id) -> page (its ``next_page_token`` the last id it
#: listed) or None. A way through a tie block that does not depend on Zoho's order within the
#: instant (see `ModifiedTimeWalk._read_tie`).
TieReader = Callable[[dt.datetime, int | None], Page | None]


@dataclass
class IfModifiedSinceReading:
    """What a walk learned of If-Modified-Since: ``>=`` (True), ``>`` (False) or unknown.

    One per client, so that the walks of one run share it: the reading is the API's, not a
    module's, and learning it costs a call under ``>`` (see `ModifiedTimeWalk._from`).
    """

    inclusive: bool | None = None


class KeysetCursor:
    """The newest instant emitted and the ids emitted at it.

    The instant is kept as the tap's UTC text (`utc_key`), so accepting a normalised record
    compares strings: O(1) per record, no datetime parsing.
    """

    def __init__(self, instant: dt.datetime | None, seen: set[int] | None = None) -> None:
        self._text: str | None = utc_key(instant) if instant is not None else None
        self.seen: set[int] = seen if seen is not None else set()

    @property
    def instant(self) -> dt.datetime | None:
        """The newest instant emitted (or the start), None before any."""
        return parse_instant(self._text) if self._text is not None else None

    def accept(self, record: Mapping[str, Any], key: str) -> bool:
        """Whether the record is new (and, if so, move the cursor to it)."""
        text, record_id = utc_key(record[key]), int(record["id"])
        current = self._text
        if current is not None and (text < current or (text == current and record_id in self.seen)):
            return False
        if current is None or text > current:
            self._text, self.seen = text, {record_id}
        else:
            self.seen.add(record_id)
        return True


class ModifiedTimeWalk:
    """Keyset pagination on Modified_Time with re-anchoring (see the module docstring)."""

    def __init__(
        self,
        fetch: FetchPage,
        *,
        start: dt.datetime | None,
        skip_ids: set[int],
        key: str = REPLICATION_KEY,
        logger: logging.Logger | None = None,
        reading: IfModifiedSinceReading | None = None,
        tie_reader: TieReader | None = None,
        tie_reader_lists_all: bool = True,
        until: dt.datetime | None = None,
    ) -> None:
        self._fetch = fetch
        #: Exclusive upper bound (a window's end, reading/windows.py): records modified at or
        #: after it are left to the next window, and the walk ends at the first of them.
        self.until = until
        self._cursor = KeysetCursor(start, set(skip_ids) if start is not None else set())
        self._key = key
        self._logger = logger or logging.getLogger(__name__)
        self._done = False
        self._reading = reading or IfModifiedSinceReading()
        #: The ``since`` argument of the current query, which its later pages must repeat.
        self._query_since: dt.datetime | None = None
        self._tie_reader = tie_reader
        #: False when the tie reader may leave records out (COQL and converted leads), so a
        #: block it read is walked by token as well.
        self._tie_reader_lists_all = tie_reader_lists_all
        #: Instants read whole (tie reader, or quiet walks off the end): the walk goes past them.
        self._read_whole: set[dt.datetime] = set()

    @property
    def position(self) -> dt.datetime | None:
        """The newest instant the walk has yielded (or its start)."""
        return self._cursor.instant

    def _instant(self, record: Mapping[str, Any]) -> dt.datetime:
        return parse_instant(record[self._key])

    def _from(self, instant: dt.datetime | None) -> Page | None:
        """A fresh query for the records modified at or after ``instant``.

        ``fetch`` sends If-Modified-Since a second before the instant it is given, which is
        right under the ``>`` reading and re-reads a second under ``>=``. Until the reading is
        known, the header is first sent at the instant itself: an answer holding a record of
        that very instant proves ``>=`` (``>`` never returns one), and any other answer is
        replaced by the safe query. The probe costs one call per run under ``>`` (the walks of a
        client share what it learned), none under ``>=``. A wrong "``>``" conclusion (when the
        instant's records all changed meanwhile) only costs the overlap again.
        """
        # Only asked once a record moved the cursor (`pages` starts with `_query`): never None.
        assert instant is not None  # noqa: S101
        reading = self._reading
        if reading.inclusive:
            return self._query(instant + IF_MODIFIED_SINCE_OVERLAP)
        if reading.inclusive is None:
            probe = self._query(instant + IF_MODIFIED_SINCE_OVERLAP)
            if probe is not None and probe.records:
                reading.inclusive = any(self._instant(r) == instant for r in probe.records)
                self._logger.info(
                    "Zoho's If-Modified-Since reads as %s", ">=" if reading.inclusive else ">"
                )
                if reading.inclusive:
                    return probe
        return self._query(instant)

    def _query(self, since: dt.datetime | None) -> Page | None:
        """The first page of a fresh query; later pages of it follow with the same ``since``."""
        self._query_since = since
        return self._fetch(since, None, 1)

    def _is_tie_block(self, page: Page, new: list[dict[str, Any]]) -> bool:
        """Whether a fresh query after this page could not get past the cursor's instant.

        That takes more than one page of records sharing that instant: the next query (from
        the instant) could return nothing but records already read. With the reading known,
        this is foreseen from how many records of the instant were read; otherwise it is seen
        when a page brings nothing new.
        """
        if not page.more_records or self._cursor.instant is None:
            return False
        if not new:
            return True
        known = self._reading.inclusive is not None
        return known and len(self._cursor.seen) >= len(page.records)

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of new records, in Modified_Time order, until the module is read."""
        # The first query asks from a second early (safe under either reading, one call when
        # nothing changed); later ones go through `_from`.
        page = self._query(self._cursor.instant)
        while not self._done:
            page = self._below_until(page)
            if page is None or not page.records:
                return
            new = [record for record in page.records if self._cursor.accept(record, self._key)]
            if new:
                yield new
            tie = self._cursor.instant
            if self._is_tie_block(page, new):
                if tie is not None and tie in self._read_whole:
                    page = self._past_read_block(tie)
                    continue
                yield from self._tie_block(page)
                if tie is not None and tie in self._read_whole:
                    page = self._from(tie + IF_MODIFIED_SINCE_OVERLAP)
                    continue
            elif not page.more_records:
                return
            if not self._done:
                page = self._from(self._cursor.instant)

    def _below_until(self, page: Page | None) -> Page | None:
        """The page without records at or past `until`; a cut page is the walk's last."""
        if page is None or self.until is None:
            return page
        until, key = utc_key(self.until), self._key
        inside = [record for record in page.records if utc_key(record[key]) < until]
        if len(inside) == len(page.records):
            return page
        return Page(inside, more_records=False)

    def _past_read_block(self, tie: dt.datetime) -> Page | None:
        """The query after a block the tie reader read whole, when it came back once more.

        Asked from the next second, a block comes back only under ``>=`` (even if a probe said
        ``>``: one at an instant without records cannot tell); once ``>=``, it means no progress.
        """
        if self._reading.inclusive:
            raise ZohoAPIError(
                status=200,
                code="NO_PROGRESS",
                message=f"records of {tie} came back after If-Modified-Since moved past them",
                path="paging",
            )
        self._reading.inclusive = True
        return self._from(tie + IF_MODIFIED_SINCE_OVERLAP)

    def _read_tie(self, tie: dt.datetime) -> Generator[list[dict[str, Any]], None, bool]:
        """Every record of instant ``tie``, by id through the tie reader: order-proof.

        Returns whether the reader went to the end. A refused reader (COQL scope, edition) is
        not asked again; the block is then walked by page token alone.
        """
        reader = self._tie_reader
        assert reader is not None  # noqa: S101 - only called with a reader
        after: int | None = None
        try:
            while True:
                page = reader(tie, after)
                if page is None:
                    return True
                new = [
                    rec
                    for rec in page.records
                    if self._instant(rec) == tie and self._cursor.accept(rec, self._key)
                ]
                if new:
                    yield new
                if not page.more_records or not page.next_page_token:
                    return True
                after = int(page.next_page_token)
        except ZohoAPIError as exc:
            self._logger.warning(
                "Reading the records of %s by id was refused (%s %s); following page tokens only",
                tie,
                exc.status,
                exc.code,
            )
            self._tie_reader = None
            return False

    def _follow(self, page: Page, page_no: int) -> tuple[Page | None, int]:
        """The next page of the current query: by page_token, else by page number.

        With the query's own If-Modified-Since: Zoho binds the token to it.
        """
        since = self._query_since
        if page.next_page_token:
            return self._fetch(since, page.next_page_token, 1), 1
        return self._fetch(since, None, page_no + 1), page_no + 1

    def _tie_block(self, first: Page) -> Iterator[list[dict[str, Any]]]:
        """Read a block of more than one page of records at (or just before) the cursor.

        Re-querying at the cursor cannot move past such a block, so the query's own
        page_token is followed. The block is walked again until a walk finds nothing new,
        because token positions shift when a record of the block changes during the walk.
        A walk that meets the same record twice shows that Zoho's order within the instant is
        not stable (each call cuts the block differently), and page tokens cannot prove such a
        block complete. The block is then read by id through the tie reader (COQL), which can.
        Without a reader (or for Leads, whose converted records COQL may not list), the block
        is walked until `UNSTABLE_QUIET_WALKS` walks in a row find nothing new, which makes a
        miss rare (about one record in 30,000 under the emulator's reshuffling switch).
        """
        tie = self._cursor.instant
        assert tie is not None  # noqa: S101 - a tie block is only entered at a known instant
        self._logger.info("More than one page of records at %s; following page tokens", tie)
        tail: Page | None = None
        page: Page | None = first
        page_no = 1
        unstable, quiet, read_by_id = False, 0, False
        for walk in range(1, TIE_BLOCK_MAX_WALKS + 1):
            found, stalls, tail = 0, 0, None
            met: set[Any] = set()
            while page is not None and page.records:
                at_tie = [rec for rec in page.records if self._instant(rec) <= tie]
                ids = [rec["id"] for rec in at_tie]
                unstable = unstable or not met.isdisjoint(ids)
                met.update(ids)
                new = [rec for rec in at_tie if self._cursor.accept(rec, self._key)]
                found += len(new)
                if new:
                    stalls = 0
                    yield new
                if len(at_tie) < len(page.records) or not page.more_records:
                    tail = page
                    break
                try:
                    page, page_no = self._follow(page, page_no)
                except ZohoPaginationError as exc:
                    if self._tie_reader is not None and not read_by_id:
                        # Past page_token's reach inside one second: ids reach every record.
                        read_by_id = True
                        self._logger.info(
                            "Paging stopped inside %s (%s); reading by id", tie, exc.code
                        )
                        complete = yield from self._read_tie(tie)
                        if complete and self._tie_reader_lists_all:
                            self._read_whole.add(tie)
                            return
                    stalls += 1
                    if stalls > TIE_BLOCK_MAX_STALLS:
                        raise ZohoAPIError(
                            status=exc.status,
                            code=exc.code,
                            message=f"cannot page past the records sharing Modified_Time {tie}",
                            path=exc.path,
                        ) from exc
                    self._logger.info("Restarting the walk at %s after %s", tie, exc.code)
                    page, page_no = self._from(tie), 1
            if unstable and self._tie_reader is not None and not read_by_id:
                read_by_id = True
                self._logger.info("The order within %s changes between calls; reading by id", tie)
                complete = yield from self._read_tie(tie)
                if complete and self._tie_reader_lists_all:
                    self._read_whole.add(tie)
                    return
            quiet = quiet + 1 if walk > 1 and found == 0 else 0
            if quiet >= (UNSTABLE_QUIET_WALKS if unstable else 1):
                break
            if walk < TIE_BLOCK_MAX_WALKS:
                page, page_no = self._from(tie), 1
        tail = self._below_until(tail)
        if tail is None:  # the last walk ran off the end (204): the walk goes on past the block
            self._read_whole.add(tie)
            return
        after = [
            rec
            for rec in tail.records
            if self._instant(rec) > tie and self._cursor.accept(rec, self._key)
        ]
        if after:
            yield after
        if not tail.more_records:
            self._done = True


#: Fetch one page of a walk without an incremental key: (page_token, page number).
FetchTokenPage = Callable[[str | None, int], Page | None]


def token_walk(fetch: FetchTokenPage) -> Iterator[list[dict[str, Any]]]:
    """Plain pagination: ``page`` until Zoho hands out a ``next_page_token``, then tokens.

    For endpoints without a Modified_Time sort (full-table reads, users); limited to what
    Zoho's page_token reaches (100,000 records).
    """
    token: str | None = None
    page_no = 1
    while True:
        page = fetch(token, page_no)
        if page is None or not page.records:
            return
        yield page.records
        if not page.more_records:
            return
        if page.next_page_token:
            token = page.next_page_token
        elif token is None:
            page_no += 1
        else:
            raise ZohoAPIError(
                status=200,
                code="NO_NEXT_PAGE_TOKEN",
                message="more_records is true but no next_page_token was given",
                path="paging",
            )
