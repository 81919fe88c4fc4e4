"""Users, Roles, Profiles and Org: the org's settings, read from their own endpoints.

Users is incremental: ``If-Modified-Since`` narrows the read to changed users (``start_date``
does not apply: the first sync reads every user), and since the endpoint cannot sort, one
read's users (a few hundred at most, licensed seats) are sorted by Modified_Time here so the
bookmark stays resumable. ``type=AllUsers`` lists active and inactive
users only, so ``DeletedUsers`` is read too: a user's deletion reaches the warehouse as
``status: deleted``. The others are tiny full-table reads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.paging import MAX_PER_PAGE, KeysetCursor, Page, if_modified_since, token_walk
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since
from tap_zoho_crm.records import parse_instant
from tap_zoho_crm.settings_schemas import SETTINGS_ENDPOINTS, USERS
from tap_zoho_crm.streams.base import ZohoStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


#: ``type`` values that together list every user: active and inactive, then deleted.
USER_TYPES = ("AllUsers", "DeletedUsers")


class SettingsStream(ZohoStream):
    """One settings endpoint; keys outside the fixed schema are dropped."""

    kind: ClassVar[str] = "settings"
    #: The reads change no state: Users' bookmark moves as its records are emitted.
    reads_ahead: ClassVar[bool] = True

    @property
    def honours_start_date(self) -> bool:
        """No: every Owner, Created_By and Modified_By must resolve, however old the user.

        Users are a few hundred rows read in a call or two, so the first sync reads them all.
        """
        return False

    @property
    def endpoint(self) -> tuple[str, str]:
        """(path, response key) of this stream's endpoint."""
        path, key, _schema, _replication_key = SETTINGS_ENDPOINTS[self.definition.module]
        return path, key

    def normalise(self, record: dict[str, Any]) -> dict[str, Any]:
        """Normalise, keeping only the schema's properties (the schema is fixed, not discovered)."""
        properties = self.schema.get("properties", {})
        return {k: v for k, v in super().normalise(record).items() if k in properties}

    def read_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Users: all types, changed since the bookmark, in Modified_Time order. Others: all."""
        path, key = self.endpoint
        if self.definition.module == USERS:
            yield from self._read_users(path, key)
            return
        response = self.client.get(path)
        yield from (self.normalise(item) for item in response.items(key))

    def _read_users(self, path: str, key: str) -> Iterable[dict[str, Any]]:
        start, skip_ids = self.starting_point()
        headers = if_modified_since(start)

        def fetch(kind: str, token: str | None, page: int) -> Page | None:
            params: dict[str, Any] = {"type": kind, "per_page": MAX_PER_PAGE}
            if token:
                params["page_token"] = token
            else:
                params["page"] = page
            response = self.client.get(path, params=params, headers=headers)
            if response.is_empty:
                return None
            return Page.from_info([self.normalise(u) for u in response.items(key)], response.info)

        by_id: dict[int, dict[str, Any]] = {}
        for kind in USER_TYPES:
            for page in token_walk(functools.partial(fetch, kind)):
                # Paged by token, and sorted here: a page of bad users ends nothing.
                for user in self.screener(self.replication_key, "user")(page, False):
                    by_id.setdefault(int(user["id"]), user)
        users = list(by_id.values())
        if self.replication_key is None:
            yield from users
            return
        rk = self.replication_key
        dated = sorted(users, key=lambda user: (parse_instant(user[rk]), int(user["id"])))
        cursor = KeysetCursor(start, skip_ids if start is not None else set())
        yield from (user for user in dated if cursor.accept(user, rk))

    # -- plan (read_plan.py) ----------------------------------------------------------------------

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """Users: one call per user type (more past 200 users); the others: one call."""
        del counts
        if self.definition.module == USERS:
            since, _ = self.planned_start()
            mode = "users changed " + describe_since(since)
            return ReadPlan(self.name, mode, calls=len(USER_TYPES), credits=len(USER_TYPES))
        return ReadPlan(self.name, "full table", calls=1, credits=1)
