"""The emulator's clock: real time plus an offset that tests can push forward.

Token expiry, page-token expiry, retention windows and every stamped ``Modified_Time`` read this
clock, so a test can make 24 hours pass in a millisecond.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.started_at = int(time.time())

    def time(self) -> float:
        """Seconds since the epoch, emulated."""
        with self._lock:
            return time.time() + self._offset

    def timestamp(self) -> int:
        """Whole seconds since the epoch: Zoho datetimes carry no fractions."""
        return int(self.time())

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward; it never goes back, so stamped times stay ordered."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset
