"""What a run spends, per stream: records, API calls and credits; progress lines and the report.

`ZohoClient` is the only object sending HTTP, so it charges every CRM call here, to the stream
named by the `CURRENT_STREAM` context variable. A stream sets it for the length of its sync
(`UsageLedger.attributed`); the client's thread-pool fan-outs copy the caller's context into
each worker, so a related-list call made on a pool thread is charged to the stream that asked
for it. Calls made outside any stream (discovery, ``plan``'s counts) go to `UNATTRIBUTED`.

Credits follow Zoho's published cost per call (`tap_zoho_crm.client.credits.call_credits`). A
call Zoho refused before doing any work (401, 429, 5xx) is counted as a call but charged no
credit.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from singer_sdk import metrics

from tap_zoho_crm.client.credits import UNCHARGED_STATUSES, call_credits

#: The stream whose sync is making the calls of this thread (None: no stream).
CURRENT_STREAM: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tap_zoho_crm_current_stream", default=None
)

#: Where calls made outside any stream's sync are charged.
UNATTRIBUTED = "(tap)"

#: Default seconds between progress lines.
DEFAULT_PROGRESS_INTERVAL = 30.0


def usage_credit_cost(
    method: str, path: str, params: Mapping[str, Any] | None, body: Any, status: int
) -> int:
    """Credits Zoho charges for one CRM call that answered ``status`` (`call_credits`'s table).

    Refusals before any work (401, 429, 5xx) are not charged, as far as Zoho's documentation
    and the emulator go.
    """
    if status in UNCHARGED_STATUSES or status >= 500:
        return 0
    return call_credits(
        method, path, params=params, body=body if isinstance(body, Mapping) else None
    )


@dataclass
class StreamUsage:
    """What one stream has spent so far in this run."""

    name: str
    records: int = 0
    calls: int = 0
    credits: int = 0
    started: float | None = None
    finished: float | None = None
    #: Records the stream expects to read in all (for an ETA), when known.
    expected_records: int | None = None
    #: Whether the expected total was asked for already (asked once, known or not).
    expected_asked: bool = False

    @property
    def active(self) -> bool:
        """Syncing now."""
        return self.started is not None and self.finished is None

    def elapsed(self, now: float) -> float:
        """Seconds since the stream began (until it finished)."""
        if self.started is None:
            return 0.0
        return (self.finished or now) - self.started

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left at the rate so far, when the total is known and records came."""
        if self.expected_records is None or self.records <= 0:
            return None
        left = max(0, self.expected_records - self.records)
        return left * self.elapsed(now) / self.records


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class UsageLedger:
    """Calls, credits and records per stream for one run of one tap (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, StreamUsage] = {}
        self._clock: Callable[[], float] = time.monotonic

    # -- charging -------------------------------------------------------------------------

    def usage(self, name: str) -> StreamUsage:
        """The usage of one stream (created on first use)."""
        with self._lock:
            found = self._streams.get(name)
            if found is None:
                found = self._streams[name] = StreamUsage(name)
            return found

    def charge_call(self, credits: int) -> None:
        """Count one CRM call that reached Zoho, charged to the current stream."""
        usage = self.usage(CURRENT_STREAM.get() or UNATTRIBUTED)
        with self._lock:
            usage.calls += 1
            usage.credits += credits

    @contextmanager
    def attributed(self, name: str) -> Iterator[StreamUsage]:
        """Charge the calls of this block (and of its fan-outs) to stream ``name``."""
        token = CURRENT_STREAM.set(name)
        try:
            yield self.usage(name)
        finally:
            CURRENT_STREAM.reset(token)

    def begin(self, name: str) -> StreamUsage:
        """Mark a stream's sync as started (it shows in progress lines from now)."""
        usage = self.usage(name)
        with self._lock:
            usage.started = self._clock()
            usage.finished = None
        return usage

    def end(self, name: str) -> None:
        """Mark a stream's sync as done."""
        usage = self.usage(name)
        with self._lock:
            usage.finished = self._clock()

    def set_expected(self, name: str, total: int | None) -> None:
        """Record a stream's expected total (None: asked, not known)."""
        usage = self.usage(name)
        with self._lock:
            usage.expected_asked = True
            usage.expected_records = total

    # -- reading ------------------------------------------------------------------------------

    def snapshot(self) -> list[StreamUsage]:
        """Copies of every stream's usage, in the order they were first charged."""
        with self._lock:
            return [StreamUsage(**vars(usage)) for usage in self._streams.values()]

    def totals(self) -> tuple[int, int, int]:
        """(records, calls, credits) of the whole run so far."""
        rows = self.snapshot()
        return (
            sum(row.records for row in rows),
            sum(row.calls for row in rows),
            sum(row.credits for row in rows),
        )

    def progress_lines(self) -> list[str]:
        """One line per stream syncing now: records so far, calls, credits, ETA if known."""
        now = self._clock()
        lines = []
        for usage in self.snapshot():
            if not usage.active:
                continue
            of = f" of {usage.expected_records:,}" if usage.expected_records is not None else ""
            eta = usage.eta_seconds(now)
            lines.append(
                f"Progress {usage.name}: {usage.records:,}{of} records, {usage.calls:,} API "
                f"calls, {usage.credits:,} credits in {_duration(usage.elapsed(now))}"
                + (f", ETA {_duration(eta)}" if eta is not None else "")
            )
        return lines

    def report_lines(self, credits_remaining: int | None) -> list[str]:
        """The end-of-run report: one line per stream, the total, and the credits remaining."""
        now = self._clock()
        lines = [
            f"Run report {usage.name}: {usage.records:,} records, {usage.calls:,} API calls, "
            f"{usage.credits:,} credits in {_duration(usage.elapsed(now))}"
            for usage in self.snapshot()
            if usage.calls or usage.records or usage.started is not None
        ]
        records, calls, credits = self.totals()
        remaining = (
            f"{credits_remaining:,}"
            if credits_remaining is not None
            else "not reported (Zoho sends X-API-CREDITS-REMAINING once half are used)"
        )
        lines.append(
            f"Run report total: {records:,} records, {calls:,} API calls, {credits:,} credits; "
            f"credits remaining today: {remaining}"
        )
        return lines


class ProgressTicker:
    """A daemon thread logging `UsageLedger.progress_lines` every ``interval`` seconds.

    A stream still running at a tick is asked once for its expected total
    (``expected_records(name)``, one cheap count, charged to it), so the line can show an ETA;
    a stream done within one interval never spends a call on that.
    """

    def __init__(
        self,
        ledger: UsageLedger,
        logger: logging.Logger,
        interval: float,
        expected_records: Callable[[str], int | None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.logger = logger
        self.interval = interval
        self.expected_records = expected_records
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start ticking (no-op when the interval is not positive)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="tap-zoho-crm-progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for the thread (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.interval))
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._ask_expected_totals()
                for line in self.ledger.progress_lines():
                    self.logger.info("%s", line)
            except Exception as exc:  # a progress line must never break the sync
                self.logger.debug("progress line failed: %s", exc)

    def _ask_expected_totals(self) -> None:
        if self.expected_records is None:
            return
        for usage in self.ledger.snapshot():
            if not usage.active or usage.expected_asked:
                continue
            self.ledger.set_expected(usage.name, None)
            with self.ledger.attributed(usage.name):
                total = self.expected_records(usage.name)
            if total is not None:
                self.ledger.set_expected(usage.name, total)


class LedgerRecordCounter(metrics.Counter):
    """The SDK's record counter of one stream's sync, also feeding the run's ledger.

    The SDK enters it around the whole sync of the stream (`Stream.get_record_counter`, a
    public hook), so it is also where the stream's calls start being charged to it, and it
    counts each record the SDK emits without adding a step to the record path.
    """

    def __init__(
        self,
        ledger: UsageLedger,
        stream: str,
        *,
        endpoint: str | None = None,
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
    ) -> None:
        tags: dict[str, Any] = {metrics.Tag.STREAM: stream}
        if endpoint:
            tags[metrics.Tag.ENDPOINT] = endpoint
        super().__init__(metrics.Metric.RECORD_COUNT, tags, log_interval=log_interval)
        self.ledger = ledger
        self.stream = stream
        self._usage: StreamUsage | None = None
        self._token: contextvars.Token[str | None] | None = None

    def __enter__(self) -> LedgerRecordCounter:
        """Start charging this thread's calls to the stream."""
        self._usage = self.ledger.begin(self.stream)
        self._token = CURRENT_STREAM.set(self.stream)
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        """Stop charging; the stream is done (or failed)."""
        try:
            super().__exit__(*exc)
        finally:
            if self._token is not None:
                CURRENT_STREAM.reset(self._token)
                self._token = None
            self.ledger.end(self.stream)

    def increment(self, value: int = 1) -> None:
        """One more record emitted."""
        if self._usage is not None:
            self._usage.records += value
        super().increment(value)
