"""The garbage collector of a ``tap-zoho-crm`` CLI process, tuned for a stream of records.

A sync allocates a few dicts and lists per record and drops them at once: reference counting
frees them, so the cyclic collector finds nothing. Left at its defaults it still runs a young
collection every 700 allocations and, now and then, a full one over every object the process
holds: the SDK, its imports, the catalog and the schemas, tens of thousands of objects that
live as long as the process. ``make bench`` (test_record_path_bench.py) measured that at about
a tenth of the tap's CPU per record.

So, once the streams are built and before the first record: the objects alive then are
frozen (`gc.freeze`: full collections skip them), and young collections run every
`YOUNG_THRESHOLD` allocations instead of 700. Both only delay collection: cyclic garbage is
still collected, and memory stays flat (young objects are at most a few MB).

Only a process that exists for one run is tuned (the CLI asks for it, `tune_for_one_run`): a
long-lived host, such as a reused Spark Python worker that runs the tap in-process, would keep
frozen garbage of earlier runs for good, so it keeps its own settings.
"""

from __future__ import annotations

import gc
from typing import Final

#: Allocations between young collections while records flow (CPython's default is 700).
YOUNG_THRESHOLD: Final = 20_000


class _ThisProcess:
    one_run = False


def tune_for_one_run() -> None:
    """Mark this process as one that runs one sync and exits (the CLI)."""
    _ThisProcess.one_run = True


def before_records() -> None:
    """Freeze what is alive and space out young collections, in a one-run process only."""
    if not _ThisProcess.one_run:
        return
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:  # 0 means disabled by whoever hosts us: leave that alone
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
