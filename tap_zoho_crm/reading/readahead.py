"""Streams in flight together: the next streams' reads start while the SDK emits the current one.

The SDK syncs one stream at a time in one thread (`Tap.sync_all`), so every small module costs
its round trips one after another. `ReadAhead` starts the reads of the next few streams early,
each on a thread of its own and into a bounded queue, under the client's one limiter. The SDK
then emits each stream in its turn, as usual: SCHEMA first, then the records taken from the
queue, and the STATE messages of its normal flow.

What a read changes besides yielding records must happen when the SDK emits, not when the
read runs ahead: a stream's bookmark, a window marked done, a tombstone sent into another
stream. Reads yield those steps as `Effect` objects, in order among their records, and
`ZohoStream.get_records` runs each one when its turn comes, so each STATE still covers only
what was written before it. Only kinds whose reads follow that rule are read ahead
(`ZohoStream.reads_ahead`).
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tap_zoho_crm.streams.base import ZohoStream

#: Records per hand-over (a page counts as its records, an effect as one), and hand-overs a
#: stream may hold unread: a stream read ahead holds at most about 1,000 records.
BATCH = 200
QUEUE_BATCHES = 4

#: How often a reader blocked on a full queue checks that the run is still on.
PUT_POLL_S = 0.2


class Effect:
    """A step of a read (state, side messages) to run when the records before it are emitted."""

    __slots__ = ("_step",)

    def __init__(self, step: Callable[[], Any]) -> None:
        self._step = step

    def __call__(self) -> None:
        """Take the step."""
        self._step()


class _Reader:
    """One stream's read running ahead on its own thread."""

    def __init__(self, read: Iterable[Any], stop: threading.Event) -> None:
        self._read = read
        self._stop = stop
        self._queue: queue.Queue[list[Any] | BaseException | None] = queue.Queue(QUEUE_BATCHES)
        self.thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run,),
            name="zoho-read-ahead",
            daemon=True,
        )
        self.thread.start()

    def _put(self, item: list[Any] | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=PUT_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        batch: list[Any] = []
        size = 0
        try:
            for item in self._read:
                if self._stop.is_set():  # the run ended: not one more call for this read
                    _close(self._read)
                    return
                batch.append(item)
                # A page of records counts as its records, so a hand-over holds about BATCH.
                size += len(item) if isinstance(item, list) else 1
                if size >= BATCH:
                    if not self._put(batch):
                        return
                    batch, size = [], 0
        except BaseException as exc:  # handed to the SDK's thread, raised in the stream's turn
            if batch:
                self._put(batch)
            self._put(exc)
            return
        if batch and not self._put(batch):
            return
        self._put(None)

    def items(self) -> Iterator[Any]:
        """The read's items, in order, as they come."""
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if isinstance(batch, BaseException):
                raise batch
            yield from batch


class ReadAhead:
    """Starts the reads of the streams after the current one (up to ``ahead`` of them).

    A read never starts ahead of the streams of an earlier tier (`ZohoStream.sync_tier`):
    the per-parent passes of the later tiers share what the run's credit budget has left once
    the streams before them have spent theirs.
    """

    def __init__(
        self,
        streams: Callable[[], Iterable[ZohoStream]],
        ahead: Callable[[], int],
        logger: logging.Logger,
    ) -> None:
        self._streams = streams
        self._ahead = ahead
        self._logger = logger
        self._readers: dict[str, _Reader] = {}
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def turn(self, stream: ZohoStream) -> Iterator[Any] | None:
        """``stream``'s turn has come: its read if it ran ahead; the next reads start."""
        reader = self._readers.pop(stream.name, None)
        ahead = self._ahead()
        if ahead > 0 and not self._stop.is_set():
            order = list(self._streams())
            names = [s.name for s in order]
            after = names.index(stream.name) + 1 if stream.name in names else len(order)
            upcoming = [
                s
                for s in order[after:]
                if s.reads_ahead and s.selected and s.sync_tier == stream.sync_tier
            ][:ahead]
            for later in upcoming:
                if later.name not in self._readers:
                    started = _Reader(later.read_ahead(), self._stop)
                    self._readers[later.name] = started
                    self._threads.append(started.thread)
        return reader.items() if reader is not None else None

    @property
    def stopped(self) -> bool:
        """Whether the run ended and reads still ahead were told to stop."""
        return self._stop.is_set()

    def cancel(self, wait: float = 0.0) -> None:
        """The run ended: readers stop at their next item; wait up to ``wait`` s for them.

        Waiting lets the run's report count every call: a reader stops at its next item, so
        after at most the call it has in flight.
        """
        self._stop.set()
        self._readers.clear()
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            self._logger.debug("a read ahead was still in a call when the run ended")


def _close(read: Iterable[Any]) -> None:
    """Close a generator read (its ``finally`` blocks run in this thread), if it is one."""
    close = getattr(read, "close", None)
    if close is not None:
        close()
