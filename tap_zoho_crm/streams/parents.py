"""Fan-out helpers: walk a parent module's ids, and read one related list of one parent.

Junctions, subforms and attachments all have the same shape: list the parent records (all, or
those modified since a bookmark), then make one call per parent. The parent list is the cheapest
Get Records walk there is (``fields=id,Modified_Time``, 200 per call, keyset re-anchored by
`ModifiedTimeWalk`, so any number of parents is reached); the per-parent calls go through
`ZohoClient.map_concurrent`, so at most ``max_concurrency`` are in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tap_zoho_crm.bad_records import Screen
from tap_zoho_crm.client.errors import ZohoAPIError, ZohoPaginationError
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.paging import (
    CONVERTED_PARAM_MODULES,
    MAX_PER_PAGE,
    REPLICATION_KEY,
    FetchPage,
    ModifiedTimeWalk,
    Page,
    if_modified_since,
    list_params,
    token_walk,
)
from tap_zoho_crm.records import format_utc, parse_instant, to_int_id

#: Zoho's answer to a related-list call for a record id it does not know (deleted meanwhile).
RECORD_GONE_CODES = frozenset({"INVALID_DATA", "INVALID_URL_PATTERN"})


@dataclass(frozen=True)
class Parent:
    """One parent record: its id and its Modified_Time (a UTC instant)."""

    id: int
    modified: dt.datetime


def walk_parents(
    client: ZohoClient,
    module: str,
    *,
    page_size: int = MAX_PER_PAGE,
    since: dt.datetime | None = None,
    skip_ids: set[int] | None = None,
    logger: logging.Logger | None = None,
    screen: Screen,
) -> Iterator[list[Parent]]:
    """Pages of parent records in Modified_Time order (those modified since ``since``, if set).

    Costs one Get Records call per ``page_size`` parents, and one call when there are none.
    ``screen`` (the stream's, naming the parent module) decides what a parent without a usable
    id or Modified_Time does: fail the stream, or be skipped, its rows with it, and counted.
    """
    params = {"fields": f"id,{REPLICATION_KEY}", "per_page": page_size, **list_params(module)}
    fetch = sorted_fetch(client, module, params, screen=screen)
    walk = ModifiedTimeWalk(
        fetch,
        start=since,
        skip_ids=set(skip_ids or ()),
        logger=logger,
        reading=client.if_modified_since,
        tie_reader=lambda instant, after: rows_at_instant(
            client, module, instant, after, columns=("id", REPLICATION_KEY), screen=screen
        ),
        tie_reader_lists_all=module not in CONVERTED_PARAM_MODULES,
    )
    for page in walk.pages():
        yield [Parent(int(row["id"]), parse_instant(row[REPLICATION_KEY])) for row in page]


def parent_count(client: ZohoClient, module: str) -> int | None:
    """How many records ``module`` has (``GET /{module}/actions/count``, 1 credit).

    What a pass over the module's parents will cost is estimated from it; None when Zoho gives
    no usable answer (the pass then runs without an estimate).
    """
    try:
        response = client.get(f"{module}/actions/count", params=list_params(module))
    except ZohoAPIError:
        return None
    count = response.body.get("count") if not response.is_empty else 0
    return count if isinstance(count, int) and count >= 0 else None


def rows_at_instant(
    client: ZohoClient,
    module: str,
    instant: dt.datetime,
    after: int | None,
    *,
    columns: tuple[str, ...] = ("id",),
    screen: Screen,
) -> Page | None:
    """Up to 200 rows of one Modified_Time with ids above ``after``, ordered by id (COQL).

    The order-proof way through a block of records sharing one second (`TieReader`): COQL
    orders by id, which Get Records cannot within one instant. The page's ``next_page_token``
    is the last id listed. 1 credit per call; needs the ``ZohoCRM.coql.READ`` scope.
    ``screen``: what a row without a usable id (or Modified_Time, if selected) does.
    """
    where = f"Modified_Time = '{format_utc(instant)}'"
    if after is not None:
        where = f"{where} and id > {after}"
    select = ", ".join(columns)
    # A module API name, field names, an instant and an integer: nothing user-supplied.
    query = f"select {select} from {module} where {where} order by id asc limit {MAX_PER_PAGE}"  # noqa: S608
    response = client.post_json("coql", {"select_query": query})
    rows = [] if response.is_empty else [keyed(row) for row in response.items("data")]
    more = bool(response.info.get("more_records"))
    # What a row without a usable id (or Modified_Time, if selected) does is the stream's call.
    rows = screen(rows, more)
    rows = [row for row in rows if isinstance(row.get("id"), int)]
    if not rows:
        return None
    last = max(int(row["id"]) for row in rows)
    return Page(records=rows, more_records=more, next_page_token=str(last))


def keyed(row: dict[str, Any]) -> dict[str, Any]:
    """A raw row with its digit-string id as an int (what a walk and `Screen` compare)."""
    return {**row, "id": to_int_id(row["id"])} if "id" in row else row


def sorted_fetch(
    client: ZohoClient, path: str, params: Mapping[str, Any], *, screen: Screen | None = None
) -> FetchPage:
    """How `ModifiedTimeWalk` reads ``path``: sorted by Modified_Time ascending, from an instant.

    Rows without a usable id or Modified_Time cannot be placed in the walk: ``screen`` says
    what they do; without one (a related list read by keyset) they are dropped.
    """

    def fetch(instant: dt.datetime | None, token: str | None, page: int) -> Page | None:
        query: dict[str, Any] = {**params, "sort_by": REPLICATION_KEY, "sort_order": "asc"}
        if token:
            query["page_token"] = token
        elif page > 1:
            query["page"] = page
        response = client.get(path, params=query, headers=if_modified_since(instant))
        if response.is_empty:
            return None
        rows = [keyed(row) for row in response.items("data")]
        if screen is not None:
            rows = screen(rows, bool(response.info.get("more_records")))
        return Page.from_info(
            [row for row in rows if row.get("id") and row.get(REPLICATION_KEY)], response.info
        )

    return fetch


def related_rows(
    client: ZohoClient,
    parent_module: str,
    parent_id: int,
    related_list: str,
    *,
    params: Mapping[str, Any],
    since: dt.datetime | None = None,
) -> list[dict[str, Any]] | None:
    """Every row of one parent's related list, raw (``$`` keys kept); None if the parent is gone.

    ``since``: only rows whose own Modified_Time is at or after it (``If-Modified-Since``).
    Zoho answers 204 (or 304 under ``If-Modified-Since``) when the list is empty, and 400
    ``INVALID_DATA`` for a record id it no longer knows: a parent deleted after it was listed.
    A list longer than ``page_token`` reaches (100,000 rows: a big campaign) is read again by
    keyset on the rows' Modified_Time, which has no cap (`related_rows_by_keyset`).
    """
    path = f"{parent_module}/{parent_id}/{related_list}"

    def fetch(token: str | None, page: int) -> Page | None:
        query: dict[str, Any] = {"per_page": MAX_PER_PAGE, **params}
        if token:
            query["page_token"] = token
        elif page > 1:
            query["page"] = page
        response = client.get(path, params=query, headers=if_modified_since(since))
        if response.is_empty:
            return None
        return Page.from_info(response.items("data"), response.info)

    try:
        try:
            return [row for page in token_walk(fetch) for row in page]
        except ZohoPaginationError:
            return related_rows_by_keyset(client, path, params=params, since=since)
    except ZohoAPIError as exc:
        if gone(exc):
            return None
        raise


def related_rows_by_keyset(
    client: ZohoClient, path: str, *, params: Mapping[str, Any], since: dt.datetime | None
) -> list[dict[str, Any]]:
    """A related list read as module records are: sorted by Modified_Time, re-anchored per page.

    The fallback for lists past page_token's reach. Costs about one call per 200 rows, like the
    token walk, but pays them again from the start, so it is not the first choice.
    """
    names = [name for name in str(params.get("fields", "id")).split(",") if name]
    fields = ",".join(dict.fromkeys([*names, "id", REPLICATION_KEY]))
    fetch = sorted_fetch(client, path, {**params, "fields": fields, "per_page": MAX_PER_PAGE})
    walk = ModifiedTimeWalk(fetch, start=since, skip_ids=set())
    return [row for page in walk.pages() for row in page]


def gone(exc: ZohoAPIError) -> bool:
    """Whether an error answers a per-record call for a record deleted meanwhile."""
    return exc.status in {400, 404} and exc.code in RECORD_GONE_CODES


def single_record(
    client: ZohoClient, module: str, record_id: int, *, params: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """One record by its id (raw), or None if Zoho no longer has it.

    Zoho answers a single-record GET for an id it does not know (a record deleted since it was
    listed) with 204 or with 400 ``INVALID_DATA``; the docs leave it open, so both mean gone.
    """
    try:
        response = client.get(f"{module}/{record_id}", params=dict(params or {}))
    except ZohoAPIError as exc:
        if gone(exc):
            return None
        raise
    rows = response.items("data")
    return rows[0] if rows else None


def lookup_id(value: Any) -> int | None:
    """The integer id inside a lookup value (``{"id": "123", ...}``) or a bare id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    value = to_int_id(value)
    return value if isinstance(value, int) else None
