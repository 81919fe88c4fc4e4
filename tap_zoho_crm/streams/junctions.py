"""Junction streams: ``Campaigns_Leads``, ``Campaigns_Contacts`` and ``Deals_Contact_Roles``.

Zoho exposes these relations only as related lists of the parent record
(``GET /Campaigns/{id}/Leads``, ``/Deals/{id}/Contact_Roles``), one call per parent. Zoho does not
document whether adding or removing a member, or changing a member status or a contact role,
changes the parent's or the member's ``Modified_Time``, nor what the related list's
``If-Modified-Since`` compares (docs/junctions.md). Under the least forgiving reading no
incremental signal sees every change, so the read that is correct under every reading is a
*complete pass*: every parent's whole related list.

A complete pass is a snapshot: its rows carry a new table version, and once the pass is complete the
stream sends ``ACTIVATE_VERSION`` (with ``emit_activate_version_messages``), so targets that
support it drop (hard delete) or mark (``_sdc_deleted_at``) the rows of earlier versions: a
removed member disappears. The message comes at the end, not at the start as the SDK would send
it, so a pass that fails half-way leaves the previous rows in place instead of a half-empty table.

Cost of a pass over P parents with m rows each: the parent walk, ``ceil(P / 200)`` Get Records
calls (plus part of a page where a page boundary falls inside records sharing one
Modified_Time, see `ModifiedTimeWalk`), and ``max(1, ceil(m / 200))`` related-list calls per
parent; 1 credit each, ``max_concurrency`` in flight at a time.

A pass is resumable. After each batch of parents the stream's state records how far the pass
got (the last parent's Modified_Time and the parent ids at it, as a module bookmark does), and
a STATE message goes out; a run that stops half-way (killed, or the daily credit budget spent)
is continued by the next run, rows carrying the same table version, instead of starting again
from the first parent. A pass over a million Deals therefore completes over several nights
rather than never. Junctions sync after the module streams (`TapZohoCrm.load_streams`), so a
pass that spends the budget cannot starve them.

Between complete passes (``junction_full_pass_hours``, default 24) a run re-reads only the parents
modified (or created) since the previous run, their whole current related list upserted, without
``ACTIVATE_VERSION``: a no-change run costs one Get Records call per junction. What this sees
depends on whether Zoho stamps the parent's Modified_Time when a member or a role changes, which
it does not document; docs/junctions.md gives the freshness under each reading. Removals, and
changes under parents no timestamp shows as changed, wait for the next complete pass.

A pass spends from the run's credit budget (``max_credits_per_run``, by default a share of the
org's remaining daily credits; client/credits.py). Before a complete pass the stream counts the
parents (1 credit) and estimates the pass; one that does not fit reads what fits, says so in one
log line and resumes in the next run, like a pass stopped by exhausted credits. Only a pass
that finds no credit at all `MAX_STALLED_RUNS` runs in a row fails its stream (and so the run).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from tap_zoho_crm.bookmarks import Bookmark
from tap_zoho_crm.client.credits import per_parent_pass_credits
from tap_zoho_crm.client.errors import ZohoBudgetStalledError, ZohoModuleUnavailableError
from tap_zoho_crm.discovery import StreamDefinition
from tap_zoho_crm.paging import REPLICATION_KEY
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan, describe_since, pages
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import format_utc, parse_instant, to_utc
from tap_zoho_crm.schema import DATA_TYPE, JSON_TYPE
from tap_zoho_crm.streams.base import WholePassStream
from tap_zoho_crm.streams.derived import wanted
from tap_zoho_crm.streams.parents import (
    Parent,
    lookup_id,
    parent_count,
    related_rows,
    single_record,
    walk_parents,
)

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_zoho_crm.discovery import Discovery

KIND_JUNCTION = "junction"
PARENT_ID = "_parent_id"
PARENT_MODULE = "_parent_module"

#: Stream state keys (the stream is FULL_TABLE for the SDK; these are ours).
LAST_FULL_PASS = "last_full_pass"  # noqa: S105 - a state key, not a secret
PARENTS_SINCE = "parents_modified_since"
#: The parents read at ``parents_modified_since`` (If-Modified-Since returns them again).
PARENTS_SINCE_IDS = "parents_at_since"
#: In ``pass_in_progress``: how many parents the pass has read, over all its runs.
PARENTS_READ = "parents_read"
#: The pass under way: ``full``, ``version``, ``started`` and a parent bookmark; gone once the
#: pass is complete.
PASS_IN_PROGRESS = "pass_in_progress"  # noqa: S105 - a state key, not a secret

#: In ``pass_in_progress``: runs in a row that found no credit for a single parent.
STALLED_RUNS = "stalled_runs"
#: Runs in a row without progress after which the stream fails the run (non-zero exit): one
#: such run is a tight night; several mean the pass would never finish, its rows going stale.
MAX_STALLED_RUNS = 3

#: Parents whose related lists are read per batch (bounds memory; calls are concurrent).
PARENT_BATCH = 200
#: Credits kept back within a budget for the next page of the parent walk.
WALK_RESERVE = 1
#: How long a pass at the end of its share waits for the passes before it to end (`room`),
#: and how often it looks.
EARLIER_PASS_WAIT_S = 3600.0
EARLIER_PASS_POLL_S = 0.05


@dataclass(frozen=True)
class JunctionSpec:
    """One junction: the parent module, its related list and the member column."""

    name: str
    parent: str
    related_list: str
    member_module: str
    member_key: str
    roles: bool = False

    @property
    def modules(self) -> tuple[str, str]:
        """Modules that must both be readable for the junction to exist."""
        return self.parent, self.member_module


JUNCTIONS: Mapping[str, JunctionSpec] = {
    spec.name: spec
    for spec in (
        JunctionSpec("Campaigns_Leads", "Campaigns", "Leads", "Leads", "Lead_Id"),
        JunctionSpec("Campaigns_Contacts", "Campaigns", "Contacts", "Contacts", "Contact_Id"),
        JunctionSpec(
            "Deals_Contact_Roles", "Deals", "Contact_Roles", "Contacts", "Contact_Id", roles=True
        ),
    )
}


def _int(data_type: str = "bigint", *, nullable: bool = False) -> dict[str, Any]:
    types = ["integer", "null"] if nullable else ["integer"]
    return {"type": types, DATA_TYPE: data_type, JSON_TYPE: "string"}


def _datetime() -> dict[str, Any]:
    return {"type": ["string", "null"], "format": "date-time", DATA_TYPE: "datetime"}


def junction_schema(spec: JunctionSpec) -> dict[str, Any]:
    """The fixed schema of a junction stream."""
    props: dict[str, Any] = {
        PARENT_ID: _int(),
        PARENT_MODULE: {"type": ["string"]},
        spec.member_key: _int(),
    }
    if spec.roles:
        props["Contact_Role"] = {"type": ["string", "null"], DATA_TYPE: "picklist"}
        props["Contact_Role_Id"] = _int(nullable=True)
    else:
        props["Member_Status"] = {"type": ["string", "null"], DATA_TYPE: "picklist"}
        props["Member_Created_Time"] = _datetime()
        props["Member_Modified_Time"] = _datetime()
        props["Membership_Id"] = _int(nullable=True)
    return {"type": ["object"], "properties": props}


def junction_definition(spec: JunctionSpec) -> StreamDefinition:
    """The definition of a junction stream; its key makes a row unique: (parent, member)."""
    return StreamDefinition(
        name=spec.name,
        kind=KIND_JUNCTION,
        module=spec.parent,
        schema=junction_schema(spec),
        primary_keys=(PARENT_ID, spec.member_key),
        replication_key=None,
    )


def junction_row(spec: JunctionSpec, parent_id: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """One related-list row -> one junction row (``$member_info`` / ``Contact_Role`` unpacked)."""
    row: dict[str, Any] = {
        PARENT_ID: parent_id,
        PARENT_MODULE: spec.parent,
        spec.member_key: lookup_id(raw.get("id")),
    }
    if spec.roles:
        role = raw.get("Contact_Role")
        row["Contact_Role"] = role.get("name") if isinstance(role, Mapping) else role
        row["Contact_Role_Id"] = lookup_id(role)
    else:
        info = raw.get("$member_info")
        info = info if isinstance(info, Mapping) else {}
        row["Member_Status"] = info.get("Member_Status")
        row["Member_Created_Time"] = to_utc(info.get("Created_Time"))
        row["Member_Modified_Time"] = to_utc(info.get("Modified_Time"))
        row["Membership_Id"] = lookup_id(info.get("id"))
    return row


class JunctionStream(WholePassStream):
    """One junction, read parent by parent (see the module docstring for the cost)."""

    kind: ClassVar[str] = KIND_JUNCTION
    #: Last, after ``Attachments`` (tier 1), which is read in its turn and keeps to no share of
    #: the budget: junction passes get what the streams before them left.
    sync_tier: ClassVar[int] = 2
    #: Read ahead of their turn, but only alongside each other (`ReadAhead` never crosses a
    #: tier): every stream before them has spent what it spends before a pass starts.
    reads_ahead: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = JUNCTIONS[self.definition.name]
        self._full_pass: bool | None = None
        self._started = dt.datetime.now(dt.UTC)
        #: Set once this run's pass is over (complete or spread): the budget is then shared by
        #: the junction streams still to sync.
        self.pass_over = False
        self._budget: PassBudget | None = None

    @classmethod
    def derived_names(cls, discovery: Discovery) -> list[str]:
        """The junctions whose parent and member modules are record modules of the org."""
        return [
            spec.name
            for spec in JUNCTIONS.values()
            if all(module in discovery.modules for module in spec.modules)
        ]

    @classmethod
    def derive_definitions(
        cls, discovery: Discovery, definitions: Sequence[StreamDefinition]
    ) -> list[StreamDefinition]:
        """Each junction whose parent and member modules are streams; no API call."""
        return [
            junction_definition(spec)
            for spec in JUNCTIONS.values()
            if wanted(discovery.settings, spec.name, spec.modules, definitions, discovery.logger)
        ]

    # -- full pass or changed parents ----------------------------------------------------------

    @property
    def full_pass(self) -> bool:
        """Whether this run reads every parent (decided once, from the stream's state)."""
        if self._full_pass is None:
            resumed = self._pass_in_progress()
            self._full_pass = bool(resumed["full"]) if resumed else self._full_pass_due()
        return self._full_pass

    def _full_pass_due(self) -> bool:
        hours = self.settings.junction_full_pass_hours
        last = self.stream_state.get(LAST_FULL_PASS)
        since = self.stream_state.get(PARENTS_SINCE)
        if hours <= 0 or not last or not since:
            return True
        try:
            age = self._started - parse_instant(str(last))
            parse_instant(str(since))
        except ValueError:
            return True
        return age >= dt.timedelta(hours=hours)

    def _pass_in_progress(self) -> dict[str, Any] | None:
        """The unfinished pass of an earlier run, if its state is intact (else start afresh)."""
        saved = self.stream_state.get(PASS_IN_PROGRESS)
        if not isinstance(saved, dict) or not isinstance(saved.get("full"), bool):
            return None
        try:
            parse_instant(str(saved.get("started")))
            if saved["full"]:
                int(saved["version"])
            else:
                parse_instant(str(self.stream_state.get(PARENTS_SINCE)))
        except (KeyError, TypeError, ValueError):
            return None
        return saved

    def _begin_pass(self) -> tuple[dict[str, Any], Bookmark]:
        """This run's pass (a resumed one, or a new one) and the bookmark of its progress.

        The pass's progress is a copy, published to the state only by `_checkpoint` steps, so
        a pass read ahead of its turn changes no state before its rows are emitted. A new
        changed-parents pass starts at ``parents_modified_since`` and skips the parents the
        previous pass read at that instant, as a module bookmark skips its tied ids.
        """
        saved = self._pass_in_progress()
        if saved is not None:
            self.logger.info(
                "%s: resuming the %s pass begun at %s",
                self.name,
                "full" if saved["full"] else "changed-parents",
                saved["started"],
            )
            progress = copy.deepcopy(saved)
            return progress, Bookmark.bind(progress, REPLICATION_KEY)
        progress = {"full": self.full_pass, "started": format_utc(self._started), PARENTS_READ: 0}
        if self.full_pass:
            progress["version"] = int(self._started.timestamp() * 1000)
            return progress, Bookmark.bind(progress, REPLICATION_KEY)
        since = parse_instant(str(self.stream_state[PARENTS_SINCE]))
        tied = {
            int(value)
            for value in self.stream_state.get(PARENTS_SINCE_IDS) or []
            if str(value).isdigit()
        }
        return progress, Bookmark(progress, REPLICATION_KEY, since, tied)

    def _checkpoint(self, progress: Mapping[str, Any], *, write: bool = True) -> Effect:
        """The step that publishes the pass's progress so far (and sends a STATE)."""
        snapshot = copy.deepcopy(dict(progress))

        def publish() -> None:
            self.stream_state[PASS_IN_PROGRESS] = snapshot
            if write:
                self.state_manager.is_flushed = False  # sent even after a batch of no rows
                self._write_state_message()

        return Effect(publish)

    @property
    def emit_activate_version_messages(self) -> bool:
        """Never at the start (the SDK's place): a full pass activates its version at the end."""
        return False

    @property
    def activates_versions(self) -> bool:
        """Whether the target wants ACTIVATE_VERSION (the setting the SDK reads for full tables)."""
        return bool(super().emit_activate_version_messages)

    # -- reading ------------------------------------------------------------------------------

    def read_records(self, context: Context | None) -> Iterator[dict[str, Any] | Effect]:
        """The current related-list rows of every parent in this run's pass (or as many as fit).

        The pass is chosen here, from the state, before the read starts: a junction's read may
        run ahead of its turn (`reads_ahead`), on another thread, while the state is the SDK
        thread's.
        """
        try:
            progress, cursor = self._begin_pass()
        except Exception as exc:  # raised in this stream's turn, not in the one reading ahead
            self.pass_over = True
            return _raising(exc)
        return self._read_pass(progress, cursor)

    def _read_pass(self, progress: dict[str, Any], cursor: Bookmark) -> Iterator[Any]:
        try:
            yield from self._pass(progress, cursor)
        finally:
            self.pass_over = True

    def _pass(self, progress: dict[str, Any], cursor: Bookmark) -> Iterator[Any]:
        full = bool(progress["full"])
        version = int(progress["version"]) if full else None
        # Rows of this pass carry its version (the SDK stamps RECORD messages with it).
        if version is not None:
            yield Effect(partial(setattr, self, "_stream_version", version))
        yield self._checkpoint(progress, write=False)  # under way, before its first row
        start, skip_ids = cursor.start(None)
        budget = self._budget = PassBudget(self)
        told = (
            full
            and budget.allowance is not None
            and self._tell_if_pass_will_not_fit(progress, budget.allowance)
        )
        parents = gone = 0
        refused: Parent | None = None
        room = budget.room()
        stopped = room is not None and room <= 0  # not even one parent fits
        pages = (
            ()
            if stopped
            else walk_parents(
                self.client,
                self.spec.parent,
                page_size=self.settings.page_size,
                since=start,
                skip_ids=skip_ids,
                logger=self.logger,
                screen=self.screener(REPLICATION_KEY, f"parent {self.spec.parent} record"),
            )
        )
        for page in pages:
            pending = list(page)
            while pending:
                room = budget.room()
                size = PARENT_BATCH if room is None else min(PARENT_BATCH, room)
                if size <= 0:
                    stopped = True
                    break
                batch, pending = pending[:size], pending[size:]
                results = self.client.map_concurrent(self._rows_of, batch)
                for parent, rows in zip(batch, results, strict=True):
                    parents += 1
                    if rows is None:
                        gone += 1
                        refused = refused or parent
                        continue
                    yield from rows
                for parent in batch:
                    cursor.advance(parent.modified, parent.id)
                progress[PARENTS_READ] = int(progress.get(PARENTS_READ) or 0) + len(batch)
                # Every row of these parents is out: a run stopped from here on resumes after them.
                yield self._checkpoint(progress)
            if stopped:
                break
        if stopped:
            stalled = self._count_stall(progress, parents)
            yield self._checkpoint(progress)
            if stalled:
                raise stalled
            if not told:
                self.logger.warning(
                    "%s: the %s pass did not fit the %d credit(s) this run may spend on it; it "
                    "read %d %s record(s) and resumes in the next run",
                    self.name,
                    "complete" if full else "changed-parents",
                    budget.allowance,
                    parents,
                    self.spec.parent,
                )
            return
        if refused is not None and gone == parents:
            # Never activate a version of no rows.
            yield Effect(self._drop_pass)
            if single_record(self.client, self.spec.parent, refused.id) is not None:
                # The parent is there, so Zoho refuses the list itself (hidden, or no access):
                # an empty table would read as "every member removed".
                raise ZohoModuleUnavailableError(
                    status=400,
                    code="RELATED_LIST_REFUSED",
                    message=(
                        f"Zoho refused the {self.spec.related_list} related list of every "
                        f"{self.spec.parent} record, for existing records too (is it hidden?)"
                    ),
                    path=f"/crm/v8/{self.spec.parent}/{{id}}/{self.spec.related_list}",
                )
            self.logger.warning(
                "%s: every %s record listed was deleted before its %s list was read; "
                "the previous rows are kept",
                self.name,
                self.spec.parent,
                self.spec.related_list,
            )
            return
        self.logger.info(
            "%s: %s pass over %d %s record(s)",
            self.name,
            "full" if full else "changed-parents",
            parents,
            self.spec.parent,
        )
        since = None if cursor.instant is None else (cursor.instant, sorted(cursor.tied_ids))
        yield Effect(partial(self._close_pass, str(progress["started"]) if full else None, since))

    def _drop_pass(self) -> None:
        self.stream_state.pop(PASS_IN_PROGRESS, None)

    def _close_pass(
        self, full_pass_started: str | None, since: tuple[dt.datetime, list[int]] | None
    ) -> None:
        """Every row of the pass is out: activate its version, and the next pass starts here.

        ``full_pass_started`` is when a complete pass began (None for a changed-parents pass);
        ``since`` is the newest parent instant read and the parent ids at it.
        """
        if full_pass_started is not None:
            if self._stream_version is not None and self.activates_versions:
                # Every current row is out with this version: targets may now drop older rows.
                self._write_activate_version_message(self._stream_version)
            elif LAST_FULL_PASS not in self.stream_state:
                # The first complete pass, once in a stream's life: say what the target misses.
                # Info, not a warning: with a target that cannot take them there is nothing to
                # do.
                self.logger.info(
                    "%s: complete pass done without activate-version messages, so rows removed "
                    "in Zoho will stay in the target; set emit_activate_version_messages to "
                    "true if the target supports them (target-postgres does)",
                    self.name,
                )
        state = self.stream_state
        if full_pass_started is not None:
            state[LAST_FULL_PASS] = full_pass_started
        if since is not None:
            state[PARENTS_SINCE] = format_utc(since[0])
            state[PARENTS_SINCE_IDS] = since[1]
        state.pop(PASS_IN_PROGRESS, None)

    # -- the credit budget ----------------------------------------------------------------------

    def _count_stall(self, progress: dict[str, Any], parents: int) -> ZohoBudgetStalledError | None:
        """Count runs in a row whose budget left nothing for this pass; the error at the limit.

        A budget that module streams use up every night would otherwise hold the pass (and
        every removal it would show) back for ever behind warnings and exit code 0. The
        caller publishes the count before it raises the error.
        """
        stalled = 0 if parents else int(progress.get(STALLED_RUNS) or 0) + 1
        progress[STALLED_RUNS] = stalled
        if stalled < MAX_STALLED_RUNS:
            return None
        return ZohoBudgetStalledError(
            f"{stalled} runs in a row left no credit for the {self.spec.related_list} "
            f"related lists of {self.spec.parent} (max_credits_per_run, after the module "
            "streams): raise max_credits_per_run, or sync this stream in a run of its own"
        )

    def allowance(self) -> int | None:
        """Credits this stream's pass may spend in all; None when the run has no budget.

        What the run has left, plus what the passes under way have spent of it, is shared
        evenly among the junction streams still to sync. Passes read one after another get
        what they got before (a share of what the earlier ones left). Passes read together
        (`reads_ahead`) each keep to their share, and a share grows as soon as another pass
        ends, so together they never spend more than the run had left.
        """
        sharing = [
            stream
            for stream in self._tap.streams.values()
            if isinstance(stream, JunctionStream) and stream.selected and not stream.pass_over
        ]
        # What the passes spent is read before what the run has left: a call charged in
        # between (the run's meter first, then the stream's ledger) then lowers the share by
        # its credits instead of raising it.
        spent = sum(stream.pass_spent() for stream in sharing)
        left = self.client.run_credits_left()
        if left is None:
            return None
        return (left + spent) // max(1, len(sharing))

    def pass_spent(self) -> int:
        """Credits this run's pass has spent so far (0 before it starts)."""
        return self._budget.spent() if self._budget is not None else 0

    def earlier_pass_under_way(self) -> bool:
        """Whether a junction before this one in sync order has not ended its pass."""
        for stream in self._tap.streams.values():
            if stream is self:
                return False
            if isinstance(stream, JunctionStream) and stream.selected and not stream.pass_over:
                return True
        return False

    def _tell_if_pass_will_not_fit(self, progress: Mapping[str, Any], allowance: int) -> bool:
        """Estimate a complete pass from the parent count; say in one line if it will not fit."""
        total = parent_count(self.client, self.spec.parent)
        if total is None:
            return False
        left = max(0, total - int(progress.get(PARENTS_READ) or 0))
        estimate = per_parent_pass_credits(left, self.settings.page_size)
        if estimate <= allowance:
            return False
        runs = -(-estimate // max(1, allowance - WALK_RESERVE))
        self.logger.warning(
            "%s: the complete pass has about %d %s record(s) left to read, about %d credits, "
            "more than the %d this run may spend on it (max_credits_per_run); it reads what "
            "fits now and resumes in the next run(s), about %d in all",
            self.name,
            left,
            self.spec.parent,
            estimate,
            allowance,
            runs,
        )
        return True

    def _rows_of(self, parent: Parent) -> list[dict[str, Any]] | None:
        params: dict[str, Any] = {"fields": "id,Contact_Role" if self.spec.roles else "id"}
        if self.spec.member_module == "Leads":
            params["converted"] = "both"  # converted leads stay campaign members
        raw = related_rows(
            self.client, self.spec.parent, parent.id, self.spec.related_list, params=params
        )
        if raw is None:
            return None
        # The member's id is half the row's key: a row without a usable one cannot be sent.
        subject = f"{self.spec.member_module} row of {self.spec.parent} record {parent.id}"
        rows = self.screener(None, subject)(raw, False)
        return [junction_row(self.spec, parent.id, row) for row in rows]

    # -- plan (read_plan.py) ----------------------------------------------------------------------

    def read_plan(self, counts: CheapCounts) -> ReadPlan:
        """The junction's next pass; see `junction_pass_plan`."""
        return self.junction_pass_plan(counts)

    def junction_pass_plan(self, counts: CheapCounts) -> ReadPlan:
        """The parent walk plus one related-list call per parent (more past 200 members).

        Follows `full_pass` / `_pass_in_progress`: a complete pass counts every parent
        (``actions/count``), a changed-parents pass those modified since the last run, and a
        resumed pass those after its saved position. Kept in this one method so it follows the
        junction read when that changes.
        """
        resumed = self._pass_in_progress()
        full = self.full_pass
        since = None if full else parse_instant(str(self.stream_state[PARENTS_SINCE]))
        if resumed is not None:
            since = Bookmark.bind(dict(resumed), REPLICATION_KEY).start(since)[0]
        parents = counts.since(self.spec.parent, since)
        calls = pages(parents, self.settings.page_size) + parents
        if resumed is not None:
            mode = (
                f"resumed {'complete' if full else 'changed-parents'} pass {describe_since(since)}"
            )
        elif full:
            mode = "complete pass over every parent"
        else:
            mode = "changed-parents pass " + describe_since(since)
        return ReadPlan(
            self.name,
            mode,
            calls=calls,
            credits=calls,
            concurrent_calls=parents,
            note=f"{parents} {self.spec.parent} record(s)",
        )


class PassBudget:
    """What one pass may spend: the stream's share of the run's budget (`allowance`).

    Counted from this stream's own calls (client/usage.py), so passes read together do not
    charge each other. ``allowance`` is the share when the pass began (for its log lines);
    `room` follows the share as it grows.
    """

    def __init__(self, stream: JunctionStream) -> None:
        self._stream = stream
        self._usage = stream.client.usage.usage(stream.name)
        self._spent_before = self._usage.credits
        #: The run's reads ahead: told to stop when the run ends early.
        self._reads = stream._zoho_tap.read_ahead
        self.allowance = stream.allowance()

    def spent(self) -> int:
        """Credits spent since the pass began."""
        return self._usage.credits - self._spent_before

    def room(self) -> int | None:
        """Parents the pass may still read (one credit each), the next walk page kept back.

        A pass at the end of its share while a pass before it (in sync order) is still under
        way waits for that one to end, and its share grows by what it left: passes read
        together end as they would one after another. It never waits for a pass after it,
        whose read may be held until this stream is emitted.
        """
        deadline = time.monotonic() + EARLIER_PASS_WAIT_S
        while True:
            allowance = self._stream.allowance()
            if allowance is None:
                return None
            if self.allowance is None:
                self.allowance = allowance  # Zoho reported what the org has left only now
            room = allowance - self.spent() - WALK_RESERVE
            if room > 0 or not self._stream.earlier_pass_under_way():
                return room
            if time.monotonic() >= deadline or self._reads.stopped:
                return room
            time.sleep(EARLIER_PASS_POLL_S)


def _raising(exc: Exception) -> Iterator[Any]:
    """A read that raises ``exc`` when it is first asked for an item."""
    raise exc
    yield  # pragma: no cover - makes this a generator
