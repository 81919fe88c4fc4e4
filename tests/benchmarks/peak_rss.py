"""Run a module (``-m name``) or a script, and write its peak RSS in kB at exit.

``ru_maxrss`` of a child started from a large process (pytest holding an emulated 120k-record
org) counts the parent's size at fork, since Linux keeps the high-water mark across exec; the
child's own ``VmHWM`` (``/proc/self/status``) is that of the new program only. The figure goes
to the file named by ``PEAK_RSS_FILE``.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys


def _report() -> None:
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_RSS_FILE"], "w", encoding="ascii") as out:
        out.write(peak)


if __name__ == "__main__":
    atexit.register(_report)
    if sys.argv[1] == "-m":
        sys.argv = sys.argv[2:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
