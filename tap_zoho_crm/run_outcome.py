"""What went wrong in a run without ending it: failed streams and skipped bad records.

A stream that fails (Zoho kept answering errors, a record cannot be keyed) stops alone: its
STATE keeps the last good bookmark, nothing of it is marked complete, and the other streams
still run. The run as a whole then fails with one line naming every failed stream, so no run
that left data behind exits 0.

One exception: when `OUTAGE_STREAMS` streams in a row fail on answers that outlasted every
retry, Zoho (or the way to it) is down, and every further stream would only spend its own retry
budget (minutes each, hours over an org's hundreds of streams). The run then ends at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tap_zoho_crm.client.errors import (
    TapZohoCrmError,
    ZohoAPIError,
    ZohoBadRecordError,
    ZohoBudgetStalledError,
    ZohoConnectionError,
    ZohoCreditsExhaustedError,
    ZohoResponseError,
    ZohoRetriesExhaustedError,
)

#: How many skipped ids the end-of-run summary lists per stream.
LISTED_IDS = 20
#: Streams in a row failing on retries run out that end the run (an outage, not one stream).
OUTAGE_STREAMS = 3


class StreamsFailedError(TapZohoCrmError):
    """One or more streams failed while the others ran: the run must not exit 0."""


def fails_stream_only(exc: BaseException) -> bool:
    """Whether an error ends one stream (the others can still run) rather than the run.

    Errors every stream would meet again (credentials, configuration, a host that does not
    answer, the daily credit budget) end the run at once.
    """
    if isinstance(exc, ZohoCreditsExhaustedError | ZohoConnectionError):
        return False
    return isinstance(
        exc, ZohoAPIError | ZohoResponseError | ZohoBadRecordError | ZohoBudgetStalledError
    )


@dataclass
class RunOutcome:
    """Collected by the streams of one sync, checked once at its end."""

    failures: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    #: Streams in a row that failed on answers outlasting their retries.
    outage_streak: int = 0

    def clear(self) -> None:
        """Forget an earlier sync of the same Tap instance."""
        self.failures.clear()
        self.skipped.clear()
        self.outage_streak = 0

    def stream_finished(self) -> None:
        """A stream read to its end: Zoho answers, so earlier failures were no outage."""
        self.outage_streak = 0

    def stream_failed(self, stream: str, exc: TapZohoCrmError, logger: logging.Logger) -> None:
        """Record a failed stream and say so in one line (the run goes on, short of an outage)."""
        self.failures[stream] = str(exc)
        self.outage_streak = (
            self.outage_streak + 1 if isinstance(exc, ZohoRetriesExhaustedError) else 0
        )
        if self.outage_streak >= OUTAGE_STREAMS:
            names = ", ".join(list(self.failures)[-OUTAGE_STREAMS:])
            raise StreamsFailedError(
                f"{OUTAGE_STREAMS} streams in a row ({names}) failed on answers that outlasted "
                f"every retry, the last: {exc}. Zoho or the network to it looks down, so the run "
                "stops here instead of retrying every stream; each stream's state keeps its last "
                "good bookmark: run again later"
            )
        logger.warning(
            "stream %s stopped: %s. Its state keeps the last good bookmark; the other streams "
            "continue, and the run will exit non-zero",
            stream,
            exc,
        )

    def records_skipped(self, stream: str, where: list[str]) -> None:
        """Record bad records skipped under ``on_bad_record=skip``, each once.

        A keyset walk re-queries from its last good record, so a bad one after it can be met
        (and skipped) twice.
        """
        listed = self.skipped.setdefault(stream, [])
        listed.extend(entry for entry in dict.fromkeys(where) if entry not in listed)

    def finish(self, logger: logging.Logger) -> None:
        """Log the skipped-record summary; raise if any stream failed."""
        for stream, where in self.skipped.items():
            listed = ", ".join(where[:LISTED_IDS]) + (" ..." if len(where) > LISTED_IDS else "")
            logger.warning(
                "Run summary: %d bad record(s) skipped in %s: %s", len(where), stream, listed
            )
        if len(self.failures) == 1:
            ((stream, line),) = self.failures.items()
            raise StreamsFailedError(
                f"stream {stream} failed: {line}. Its state keeps the last good bookmark and "
                "the other streams completed; run again once the cause is fixed"
            )
        if self.failures:
            lines = "; ".join(f"{stream}: {line}" for stream, line in self.failures.items())
            raise StreamsFailedError(
                f"{len(self.failures)} streams failed ({lines}). Their state keeps the last "
                "good bookmark and the other streams completed; run again once the cause is fixed"
            )
