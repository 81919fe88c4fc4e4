"""Where the tap's CPU goes per record: each part of the record path timed in-process.

Not a test: ``python tests/benchmarks/record_path_split.py [RECORDS]`` syncs an emulated Leads
module in-process (output to /dev/null) with `time.thread_time` around the HTTP client, the
normaliser, RECORD messages, the keyset cursor and the bookmark, and prints each part's share
(the tap's thread only; the emulator's threads are not counted). See docs/performance.md.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from tap_zoho_crm import paging, records  # noqa: E402
from tap_zoho_crm.client import http  # noqa: E402
from tap_zoho_crm.streams import base  # noqa: E402
from tap_zoho_crm.tap import TapZohoCrm  # noqa: E402
from tap_zoho_crm.testing.emulator import ZohoEmulator  # noqa: E402
from tests.tap.tap_helpers import discover, select_only  # noqa: E402

SPENT: dict[str, float] = {}


def timed(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[label] = SPENT.get(label, 0.0) + time.thread_time() - started

    setattr(owner, name, wrapper)


def main(size: int) -> None:
    timed(http.ZohoClient, "get", "HTTP and JSON parsing")
    timed(records.RecordNormaliser, "take", "normalisation")
    timed(base.ZohoStream, "_write_page", "RECORD messages")
    timed(paging.KeysetCursor, "accept", "keyset cursor")
    timed(base.ZohoStream, "_advance_state", "bookmark")
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": size}) as zoho:
        config = {**zoho.tap_config(), "bulk_read_min_records": 0, "windowed_reads": False}
        catalog = select_only(discover(config), {"Leads"})
        stdout = sys.stdout
        with open(os.devnull, "w", encoding="utf-8") as sink:
            sys.stdout = sink
            tap = TapZohoCrm(config=config, catalog=catalog, parse_env_config=False)
            started = time.thread_time()
            tap.sync_all()
            total = time.thread_time() - started
            sys.stdout = stdout
    print(
        f"{size:,} records: {total:.2f} CPU s in the tap's thread, {total / size * 1e6:.1f} us each"
    )
    for label, spent in [*SPENT.items(), ("the rest", total - sum(SPENT.values()))]:
        print(
            f"{label:<24}{spent:7.2f} s {100 * spent / total:5.1f} % {spent / size * 1e6:6.1f} us"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)
