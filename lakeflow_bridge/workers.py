"""Friendly failures at the edges Spark hides: a missing pyspark, a worker Python without us.

Spark runs the data source in Python worker processes started with ``PYSPARK_PYTHON``. When
that interpreter lacks the bridge, the first read fails deep inside a worker with a bare
``ModuleNotFoundError: No module named 'lakeflow_bridge'`` in a Java stack trace. Registering
the data source checks the worker interpreter once, up front, and names the variable to fix.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

PYSPARK_MISSING = (
    "lakeflow_bridge needs PySpark: install the extra with pip install 'tap-zoho-crm[spark]'"
)
#: Longest the one-off import check of the worker interpreter may take.
CHECK_TIMEOUT_S = 60.0
_IMPORT_CHECK = "import lakeflow_bridge.datasource, tap_zoho_crm.tap"


def has_pyspark() -> bool:
    """Whether PySpark can be imported, without importing it (that takes a second)."""
    try:
        return importlib.util.find_spec("pyspark") is not None
    except (ImportError, ValueError):
        return False


class WorkerPythonError(ImportError):
    """Spark's worker interpreter cannot import the bridge; the message says what to set."""


def check_worker_python(python: str | None) -> None:
    """Fail with one clear line if ``python`` (Spark's worker interpreter) lacks the bridge.

    Only an interpreter other than this one, present on this machine, is checked: on a
    cluster whose workers live elsewhere there is nothing to run here, and the same
    interpreter imports the bridge by definition.
    """
    if not python or not Path(python).exists():
        logger.debug("Spark's worker Python %r is not on this machine; not checked", python)
        return
    if Path(python).resolve() == Path(sys.executable).resolve():
        return
    try:
        result = subprocess.run(
            [python, "-c", _IMPORT_CHECK],
            capture_output=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.debug("could not check Spark's worker Python %s: %s", python, exc)
        return
    if result.returncode != 0:
        raise WorkerPythonError(
            f"Spark's Python workers run {python} (PYSPARK_PYTHON), which cannot import "
            "lakeflow_bridge: install tap-zoho-crm[spark] into that interpreter, or set "
            f"PYSPARK_PYTHON={sys.executable} before Spark starts"
        )
