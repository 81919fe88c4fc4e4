"""Windows: a wide Modified_Time range read as keyset walks in flight together.

One keyset walk (`ModifiedTimeWalk`) sends one call at a time, so a module with many records to
sync (an initial load without Bulk Read, a large backlog, a full refresh) takes one round trip
per 200 records. Split at instants ``b1 < b2 < ...`` into windows ``[start, b1)``, ``[b1, b2)``,
..., ``[bn, open)``, each is a walk of its own (same tie blocks, order checks, If-Modified-Since
readings and ``converted=both``), bounded above by ``until``, and the walks run on worker threads.

* **The split** comes from the planner (`reading/planner.py`: `ReadPlanner.split_after`,
  COQL's count and one probe per boundary), asked once the ordinary walk has read a quarter of
  a window (5 pages by default), or its first page foretells much more, and is not done. A
  range under two windows' worth stays one walk, and so does a module without the COQL scope.
  Cost: ``w`` calls for ``w`` windows, plus one page per window whose last page reaches into
  the next.
* **Idle workers** take the upper half of the window expected to have the most left
  (`_Cutter`, `ReadPlanner.halve`), so the read does not end one call at a time.
* **Output** stays the SDK's: workers put pages in one bounded queue and the stream's generator
  takes them from it, in the consuming thread, so records are written, counted and covered by
  STATE in the order they are emitted. Records of different windows interleave; within a window
  they come in Modified_Time order.
* **State** (`WindowProgress`) lists every window with the newest instant emitted in it and the
  ids emitted at that instant, so a killed run resumes each window where its emitted records end.
  ``replication_key_value`` stays at or before every unread record meanwhile (a reader that knows
  nothing of windows re-reads, never skips). Once every window is done, the windows collapse into
  the plain bookmark of the last one, and one more walk from it reads what changed meanwhile.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from tap_zoho_crm.bookmarks import Bookmark, utc_key
from tap_zoho_crm.reading.planner import window_workers
from tap_zoho_crm.reading.readahead import Effect
from tap_zoho_crm.records import format_utc, parse_instant

if TYPE_CHECKING:
    from tap_zoho_crm.client.http import ZohoClient
    from tap_zoho_crm.paging import ModifiedTimeWalk
    from tap_zoho_crm.reading.planner import ReadStrategy

#: The stream-state key holding the windows of a windowed read in progress.
STATE_KEY = "windows"

#: Pages waiting for the consuming thread, per worker: enough to keep every worker busy while
#: the consumer writes, few enough to bound memory.
QUEUE_PAGES_PER_WORKER = 2

#: How often a worker blocked on a full queue checks that the read was not abandoned.
PUT_POLL_S = 0.2

Records = list[dict[str, Any]]


class Window:
    """One window ``[start, until)`` and how far its emitted records reach (in its state dict)."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self.state = state
        self.start = _instant(state.get("start"))
        self.until = _instant(state.get("until"))
        instant = state.get("instant")
        #: The newest instant emitted, as the tap's UTC text: records compare by string.
        self._text = utc_key(str(instant)) if instant not in (None, "") else None
        self._ids = set(state.get("ids") or ())

    @classmethod
    def new(
        cls,
        start: dt.datetime | None,
        until: dt.datetime | None,
        instant: dt.datetime | None = None,
        ids: set[int] | frozenset[int] = frozenset(),
    ) -> Window:
        """A window not yet read (or, for the first, read up to ``instant``)."""
        return cls(
            {
                "start": _text(start),
                "until": _text(until),
                "instant": _text(instant),
                "ids": sorted(ids),
                "done": False,
            }
        )

    @property
    def done(self) -> bool:
        """Whether every record of the window was emitted."""
        return bool(self.state.get("done"))

    def finish(self) -> None:
        """Mark the window read (after its last record was emitted)."""
        self.state["done"] = True

    def resume_point(self) -> tuple[dt.datetime | None, set[int]]:
        """Where the window's walk (re)starts and the ids it skips there."""
        if self._text is None:
            return self.start, set()
        return parse_instant(self._text), set(self._ids)

    def advance(self, text: str, record_id: int) -> None:
        """Account for one emitted record of this window, modified at ``text`` (`utc_key`)."""
        current = self._text
        if current is None or text > current:
            self._text, self._ids = text, {record_id}
            self.state["instant"] = text
            self.state["ids"] = [record_id]
        elif text == current and record_id not in self._ids:
            self._ids.add(record_id)
            self.state["ids"].append(record_id)


class WindowProgress:
    """The windows of one read, bound to (and written straight into) the stream's state dict."""

    def __init__(self, state: MutableMapping[str, Any], windows: list[Window]) -> None:
        self._state = state
        self.windows = windows
        state[STATE_KEY] = [window.state for window in windows]

    @classmethod
    def load(cls, state: MutableMapping[str, Any]) -> WindowProgress | None:
        """The windows of an interrupted read, if the state holds some."""
        saved = state.get(STATE_KEY)
        if not isinstance(saved, list) or not saved:
            return None
        return cls(state, [Window(dict(item)) for item in saved if isinstance(item, Mapping)])

    def cut(self, window: Window, upper: Window) -> None:
        """``upper`` was cut from ``window``'s end: the window stops where it starts."""
        window.until = upper.start
        window.state["until"] = upper.state["start"]
        position = self.windows.index(window) + 1
        self.windows.insert(position, upper)
        self._state[STATE_KEY] = [w.state for w in self.windows]

    def collapse(self, key: str) -> Bookmark:
        """Every window is done: the plain bookmark of the last one replaces them."""
        self._state.pop(STATE_KEY, None)
        last = self.windows[-1]
        instant, ids = last.resume_point()
        if instant is None:
            return Bookmark(self._state, key, None)
        return Bookmark(self._state, key, instant, ids)


#: The planner's cut of what a window has left after an instant (below its end), given an
#: estimate of how much that is: (the instant, the records counted), or None.
Halve = Callable[[dt.datetime, dt.datetime | None, int], tuple[dt.datetime, int] | None]

#: Build the walk of ``[start, until)``: (start, ids to skip at start, until) -> walk.
WalkFactory = Callable[[dt.datetime | None, set[int], dt.datetime | None], "ModifiedTimeWalk"]


class WindowedRead:
    """A Modified_Time read that splits into windows when there is much to read.

    `pages` yields pages in emission order; the stream routes each emitted record to `account`,
    which keeps the state of the window the record came from.
    """

    def __init__(
        self,
        *,
        state: MutableMapping[str, Any] | None,
        key: str,
        walk: WalkFactory,
        split: Callable[[dt.datetime], ReadStrategy],
        halve: Halve | None,
        client: ZohoClient,
        plans_now: Callable[[int, dt.datetime, dt.datetime], bool],
        complete: Callable[[Records], Records],
        on_collapse: Callable[[Bookmark], None],
        logger: logging.Logger,
    ) -> None:
        self._state = state if state is not None else {}
        self._key = key
        self._walk = walk
        #: The planner's split (`ReadPlanner.split_after`): windows after an instant, or not.
        self._split = split
        #: The planner's cut of a window in two for an idle worker (`ReadPlanner.halve`).
        self._halve = halve
        self._client = client
        #: Whether the first walk, having read so many records between two instants, asks for
        #: a split now (`ReadSettings.plans_now`): smaller reads never pay for a plan.
        self._plans_now = plans_now
        #: Finishes a page (other field chunks, full rich text) in the thread that fetched it.
        self._complete = complete
        #: Hands the plain bookmark to the stream, which advances it from then on.
        self._on_collapse = on_collapse
        self._logger = logger
        self._current: Window | None = None
        #: The plain bookmark the windows collapsed into, once they did.
        self.bookmark: Bookmark | None = None

    def account(self, record: Mapping[str, Any]) -> bool:
        """Advance the emitting window's state; False when no window is being read."""
        window = self._current
        if window is None:
            return False
        window.advance(utc_key(record[self._key]), int(record["id"]))
        return True

    def pages(self, start: dt.datetime | None, skip_ids: set[int]) -> Iterator[Records | Effect]:
        """Pages of new records: of the interrupted windows, else of a walk that may split."""
        progress = WindowProgress.load(self._state)
        if progress is not None:
            self._logger.info("Resuming %d windows", sum(not w.done for w in progress.windows))
            # What a resumed window holds is not known: it is not cut for idle workers.
            readings = {
                index: _Reading(window, expected=0)
                for index, window in enumerate(progress.windows)
                if not window.done
            }
            yield from self._read(progress, readings)
            return
        first_walk = self._walk(start, skip_ids, None)
        walk_pages = map(self._complete, first_walk.pages())
        read = 0
        first: dt.datetime | None = None
        last: dt.datetime | None = None
        tied: set[int] = set()
        for page in walk_pages:
            yield page
            read += len(page)
            for record in page:
                instant = parse_instant(record[self._key])
                if instant != last:
                    last, tied = instant, set()
                tied.add(int(record["id"]))
            first = first or parse_instant(page[0][self._key])
            if last is not None and self._plans_now(read, first, last):
                break
        else:
            return
        assert last is not None  # noqa: S101 - at least one record was read
        plan = self._split(last)
        boundaries = list(plan.boundaries)
        if not boundaries:
            yield from walk_pages
            return
        first_walk.until = boundaries[0]
        if last == start:
            tied |= skip_ids
        windows = [Window.new(start, boundaries[0], last, tied)]
        ends = [*boundaries[1:], None]
        windows += [Window.new(low, high) for low, high in zip(boundaries, ends, strict=True)]
        progress = WindowProgress(self._state, windows)
        share = (plan.records or 0) // len(windows)
        readings = {index: _Reading(window, share) for index, window in enumerate(windows)}
        readings[0].walk = first_walk
        readings[0].pages = walk_pages
        yield from self._read(progress, readings)

    def _pages(self, reading: _Reading) -> Iterator[Records]:
        """A window's pages, counted as its walk fetches them (the first window's walk runs)."""
        reading.claimed = True
        pages = reading.pages
        if pages is None:
            start, skip = reading.window.resume_point()
            reading.walk = self._walk(start, skip, reading.window.until)
            pages = map(self._complete, reading.walk.pages())
        for page in pages:
            reading.fetched += len(page)
            yield page
        reading.finished = True

    def _read(
        self, progress: WindowProgress, readings: dict[int, _Reading]
    ) -> Iterator[Records | Effect]:
        """Run the windows' walks on workers and hand their pages over in one thread.

        State changes travel as `Effect` steps among the pages, so that they happen when the
        pages before them are emitted, even when this read runs ahead of its stream's turn.
        """
        workers = max(1, min(len(readings), window_workers(self._client.concurrency())))
        cutter = _Cutter(readings, self._halve, self._pages, workers, self._logger)
        sources = {index: partial(self._pages, reading) for index, reading in readings.items()}
        open_window = progress.windows[-1]
        tail = open_window.resume_point()
        more = cutter.cut if self._halve is not None else None
        for index, item in read_concurrently(sources, workers, more=more):
            window = readings[index].window
            if item is None:
                yield Effect(window.finish)
                continue
            if isinstance(item, _Cut):
                yield Effect(partial(progress.cut, item.victim, window))
                if item.victim is open_window:
                    # The open window is the new one now; the walk after the windows starts
                    # from where its records end.
                    open_window, tail = window, window.resume_point()
                continue
            if window is open_window:
                tail = _cursor_after(tail, item, self._key)
            yield Effect(partial(self._enter, window))
            yield item
            yield Effect(partial(self._enter, None))
        yield Effect(partial(self._collapse, progress))
        # Records changed while the windows were read moved past the last window's end, or
        # past all of it if that window finished early: one more walk catches up (a call).
        start, skip = tail
        yield from map(self._complete, self._walk(start, skip, None).pages())

    def _enter(self, window: Window | None) -> None:
        self._current = window

    def _collapse(self, progress: WindowProgress) -> None:
        self.bookmark = progress.collapse(self._key)
        self._on_collapse(self.bookmark)


class _Reading:
    """A window being read: its walk once started, and what it held against what it yielded.

    ``fetched`` is written by the window's worker only; the cutter reads it.
    """

    def __init__(self, window: Window, expected: int) -> None:
        self.window = window
        #: Records the window held when it was made (0: not known, never cut).
        self.expected = expected
        self.fetched = 0
        self.walk: ModifiedTimeWalk | None = None
        #: The first window's pages, whose walk ran before the split.
        self.pages: Iterator[Records] | None = None
        #: Whether a worker has taken the window (or was given it with its cut).
        self.claimed = False
        self.finished = False
        self.cuttable = True

    @property
    def left(self) -> int:
        """Records the window is expected still to yield."""
        return self.expected - self.fetched


@dataclass(frozen=True)
class _Cut:
    """A worker's notice: it now reads a new window, cut from ``victim``'s upper part."""

    victim: Window


class _Cutter:
    """Gives an idle worker the upper half of the window with the most left to read.

    Windows hold equal shares when they are made, but do not take equal times: a block of
    records sharing one second is walked twice, and threads do not share the interpreter lock
    evenly. Without this, the last windows are read one call at a time while the other
    workers wait. The cut (`ReadPlanner.halve`: a count and a probe) is made on the idle
    worker's thread; the victim's walk stops at the cut from its next page on, and the state
    learns of it (`WindowProgress.cut`) in emission order, through the `_Cut` notice.
    A page the victim fetched past the cut before its ``until`` moved is read again by the new
    window: sent twice, never lost.
    """

    def __init__(
        self,
        readings: dict[int, _Reading],
        halve: Halve | None,
        pages: Callable[[_Reading], Iterator[Records]],
        max_cuts: int,
        logger: logging.Logger,
    ) -> None:
        self._logger = logger
        self._readings = readings
        self._halve = halve
        self._pages = pages
        self._cuts_left = max_cuts
        self._lock = threading.Lock()
        self._next_index = max(readings, default=-1) + 1

    def cut(self, done: int) -> tuple[int, Callable[[], Iterator[Records]], _Cut] | None:
        """After window ``done`` was read: a new window for the idle worker, or None."""
        halve = self._halve
        with self._lock:
            self._readings[done].finished = True
            if halve is None or self._cuts_left <= 0:
                return None
            readings = [r for r in self._readings.values() if not r.finished]
            if not all(r.claimed for r in readings):
                return None  # a window waits for a worker: this one takes it
            victim = max(
                (r for r in readings if r.cuttable and r.walk is not None),
                key=lambda r: r.left,
                default=None,
            )
            if victim is None or victim.walk is None:
                return None
            walk = victim.walk
            after = walk.position
            if after is None:
                return None
            cut = halve(after, walk.until, victim.left)
            position = walk.position
            if cut is None or (position is not None and cut[0] <= position):
                victim.cuttable = False
                return None
            instant, counted = cut
            old_until = walk.until
            walk.until = instant
            self._cuts_left -= 1
            victim.expected = victim.fetched + counted // 2
            window = Window.new(instant, old_until)
            reading = _Reading(window, counted - counted // 2)
            reading.claimed = True
            index = self._next_index
            self._next_index += 1
            self._readings[index] = reading
        self._logger.info(
            "An idle worker reads the records from %s of a window with about %d left",
            format_utc(instant),
            counted,
        )
        return index, partial(self._pages, reading), _Cut(victim.window)


def _cursor_after(
    cursor: tuple[dt.datetime | None, set[int]], page: Records, key: str
) -> tuple[dt.datetime | None, set[int]]:
    """A walk's (instant, ids at it) after one more page of its records, in Modified_Time order."""
    instant, ids = cursor
    newest = utc_key(instant) if instant is not None else None
    for record in page:
        text = utc_key(record[key])
        if newest is None or text > newest:
            newest, ids = text, set()
        ids.add(int(record["id"]))
    return (parse_instant(newest) if newest is not None else None), ids


#: What a worker hands over: (window index, a page), (index, None) when the window is read,
#: (index, a notice) when the worker starts a new source, or (index, the exception that ended
#: it).
_Item = tuple[int, Any]

#: After source ``index`` was read: a new source for the idle worker, as (its index, its
#: pages, the notice handed over before them), or None.
More = Callable[[int], "tuple[int, Callable[[], Iterator[Records]], Any] | None"]


def read_concurrently(
    sources: Mapping[int, Callable[[], Iterator[Records]]],
    workers: int,
    more: More | None = None,
) -> Iterator[tuple[int, Any]]:
    """Pages of every source, as workers fetch them; ``(index, None)`` once a source is read.

    A worker whose source is read asks ``more`` for another, whose notice it hands over first
    (``(index, notice)``) and whose pages follow. Workers run in copies of the caller's context
    (contextvars such as per-stream call attribution follow them). Abandoning the iterator stops
    the workers at their next page.
    """
    items: queue.Queue[_Item] = queue.Queue(maxsize=QUEUE_PAGES_PER_WORKER * workers)
    stop = threading.Event()

    def put(item: _Item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=PUT_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def read(index: int, source: Callable[[], Iterator[Records]]) -> bool:
        pages = source()
        try:
            for page in pages:
                if page and not put((index, page)):
                    return False
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
        return put((index, None))

    def run(index: int) -> None:
        source = sources[index]
        try:
            while not stop.is_set() and read(index, source):
                following = more(index) if more is not None else None
                if following is None:
                    return
                index, source, notice = following
                if not put((index, notice)):
                    return
        except BaseException as exc:  # handed to the consuming thread
            put((index, exc))

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoho-window")
    try:
        for index in sources:
            pool.submit(contextvars.copy_context().run, run, index)
        remaining = len(sources)
        while remaining:
            index, item = items.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                remaining -= 1
            elif not isinstance(item, list):
                remaining += 1  # a notice: a new source started
            yield index, item
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _instant(value: Any) -> dt.datetime | None:
    return parse_instant(str(value)) if value not in (None, "") else None


def _text(value: dt.datetime | None) -> str | None:
    return format_utc(value) if value is not None else None
