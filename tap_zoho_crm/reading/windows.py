"""Windows: a wide Modified_Time range read as keyset walks in flight together.

One keyset walk (`ModifiedTimeWalk`) sends one call at a time, so a module with many records to
sync (an initial load without Bulk Read, a large backlog, a full refresh) takes one round trip
per 200 records. Split at instants ``b1 < b2 < ...`` into windows ``[start, b1)``, ``[b1, b2)``,
..., ``[bn, open)``, each is a walk of its own (same tie blocks, order checks, If-Modified-Since
readings and ``converted=both``), bounded above by ``until``, and the walks run on worker threads.

* **The split** comes from the planner (`reading/planner.py`: `ReadPlanner.split_after`,
  COQL's count and one probe per boundary), asked once the ordinary walk has read a quarter of
  a window (5 pages by default) and is not done. A range under two windows' worth stays one
  walk, and so does a module without the COQL scope. Cost: ``w`` calls for ``w`` windows, plus
  one page per window whose last page reaches into the next.
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
from functools import partial
from typing import TYPE_CHECKING, Any

from tap_zoho_crm.bookmarks import Bookmark
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
        self.instant = _instant(state.get("instant"))
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
        if self.instant is None:
            return self.start, set()
        return self.instant, set(self._ids)

    def advance(self, instant: dt.datetime, record_id: int) -> None:
        """Account for one emitted record of this window."""
        if self.instant is None or instant > self.instant:
            self.instant, self._ids = instant, {record_id}
            self.state["instant"] = format_utc(instant)
            self.state["ids"] = [record_id]
        elif instant == self.instant and record_id not in self._ids:
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

    def collapse(self, key: str) -> Bookmark:
        """Every window is done: the plain bookmark of the last one replaces them."""
        self._state.pop(STATE_KEY, None)
        last = self.windows[-1]
        instant, ids = last.resume_point()
        if instant is None:
            return Bookmark(self._state, key, None)
        return Bookmark(self._state, key, instant, ids)


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
        client: ZohoClient,
        plan_after: int,
        complete: Callable[[Records], Records],
        on_collapse: Callable[[Bookmark], None],
        logger: logging.Logger,
    ) -> None:
        self._state = state if state is not None else {}
        self._key = key
        self._walk = walk
        #: The planner's split (`ReadPlanner.split_after`): windows after an instant, or not.
        self._split = split
        self._client = client
        #: Records the first walk reads before a split is considered: smaller reads never pay
        #: for a plan, and the plan's round trips are a small part of larger ones.
        self._plan_after = plan_after
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
        window.advance(parse_instant(record[self._key]), int(record["id"]))
        return True

    def pages(self, start: dt.datetime | None, skip_ids: set[int]) -> Iterator[Records | Effect]:
        """Pages of new records: of the interrupted windows, else of a walk that may split."""
        progress = WindowProgress.load(self._state)
        if progress is not None:
            self._logger.info("Resuming %d windows", sum(not w.done for w in progress.windows))
            sources: dict[int, Callable[[], Iterator[Records]]] = {
                index: self._source(window)
                for index, window in enumerate(progress.windows)
                if not window.done
            }
            yield from self._read(progress, sources)
            return
        first_walk = self._walk(start, skip_ids, None)
        walk_pages = map(self._complete, first_walk.pages())
        read = 0
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
            if read >= self._plan_after:
                break
        else:
            return
        assert last is not None  # noqa: S101 - at least one record was read
        boundaries = list(self._split(last).boundaries)
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
        sources = {0: lambda: walk_pages}
        sources.update({i: self._source(w) for i, w in enumerate(windows) if i > 0})
        yield from self._read(progress, sources)

    def _source(self, window: Window) -> Callable[[], Iterator[Records]]:
        def pages() -> Iterator[Records]:
            start, skip = window.resume_point()
            return map(self._complete, self._walk(start, skip, window.until).pages())

        return pages

    def _read(
        self, progress: WindowProgress, sources: Mapping[int, Callable[[], Iterator[Records]]]
    ) -> Iterator[Records | Effect]:
        """Run the windows' walks on workers and hand their pages over in one thread.

        State changes travel as `Effect` steps among the pages, so that they happen when the
        pages before them are emitted, even when this read runs ahead of its stream's turn.
        """
        workers = max(1, min(len(sources), self._client.concurrency()))
        last = len(progress.windows) - 1
        tail = progress.windows[last].resume_point()
        for index, page in read_concurrently(sources, workers):
            window = progress.windows[index]
            if page is None:
                yield Effect(window.finish)
                continue
            if index == last:
                tail = _cursor_after(tail, page, self._key)
            yield Effect(partial(self._enter, window))
            yield page
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


def _cursor_after(
    cursor: tuple[dt.datetime | None, set[int]], page: Records, key: str
) -> tuple[dt.datetime | None, set[int]]:
    """A walk's (instant, ids at it) after one more page of its records, in Modified_Time order."""
    instant, ids = cursor
    for record in page:
        current = parse_instant(record[key])
        if instant is None or current > instant:
            instant, ids = current, set()
        ids.add(int(record["id"]))
    return instant, ids


#: What a worker hands over: (window index, a page), (index, None) when the window is read,
#: or (index, the exception that ended it).
_Item = tuple[int, Records | BaseException | None]


def read_concurrently(
    sources: Mapping[int, Callable[[], Iterator[Records]]], workers: int
) -> Iterator[tuple[int, Records | None]]:
    """Pages of every source, as workers fetch them; ``(index, None)`` once a source is read.

    Workers run in copies of the caller's context (contextvars such as per-stream call
    attribution follow them). Abandoning the iterator stops the workers at their next page.
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

    def run(index: int) -> None:
        if stop.is_set():
            return
        try:
            pages = sources[index]()
            try:
                for page in pages:
                    if page and not put((index, page)):
                        return
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consuming thread
            put((index, exc))
            return
        put((index, None))

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
            yield index, item
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _instant(value: Any) -> dt.datetime | None:
    return parse_instant(str(value)) if value not in (None, "") else None


def _text(value: dt.datetime | None) -> str | None:
    return format_utc(value) if value is not None else None
