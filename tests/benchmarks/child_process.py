"""One child process of a benchmark: run to completion, with its own CPU time and peak RSS.

CPU seconds (user + system) come from ``os.wait4``, so nothing of this process (the emulator)
is counted; peak RSS from the child's own ``VmHWM`` (``peak_rss.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.tap.tap_helpers import REPO

PEAK_RSS = Path(__file__).with_name("peak_rss.py")


@dataclass
class Child:
    """What a finished child left: its stdout file (if kept), stderr, and what it cost."""

    stdout: Path | None
    stderr: str
    cpu_s: float
    wall_s: float
    peak_rss_mb: float


def run_child(
    args: list[str], workdir: Path, *, keep_stdout: bool, extra_env: dict[str, str] | None = None
) -> Child:
    """Run ``python [peak_rss.py] *args`` in ``workdir``'s files; fail on a non-zero exit.

    Without ``keep_stdout`` the child writes to /dev/null: the cost of writing is in, no
    reader's cost is.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ZOHO_CRM_")}
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    rss_path = workdir / "child.rss"
    env["PEAK_RSS_FILE"] = str(rss_path)
    env.update(extra_env or {})
    with (
        open(out_path if keep_stdout else os.devnull, "wb") as out,
        err_path.open("wb") as err,
    ):
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(PEAK_RSS), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=REPO,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    stderr = err_path.read_text(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, stderr[-3000:]
    return Child(
        stdout=out_path if keep_stdout else None,
        stderr=stderr,
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=wall,
        peak_rss_mb=int(rss_path.read_text()) / 1024,
    )
