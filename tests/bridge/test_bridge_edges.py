"""The bridge's friendly edges: a Python without PySpark, and Spark workers without the bridge.

Each case runs a real interpreter in a subprocess: this test's own (with PySpark hidden by an
import blocker) or a bare virtualenv that has neither the tap nor the bridge.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from lakeflow_bridge.workers import WorkerPythonError, check_worker_python

REPO = Path(__file__).resolve().parents[2]

_WITHOUT_PYSPARK = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from lakeflow_bridge import ZohoCrmLakeflowConnect
"""


def test_without_pyspark_the_import_says_which_extra_to_install() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PYSPARK],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "tap-zoho-crm[spark]" in last, result.stderr


def test_a_worker_python_without_the_bridge_is_named(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=False).create(bare)
    python = bare / "bin" / "python"
    with pytest.raises(WorkerPythonError, match="PYSPARK_PYTHON") as raised:
        check_worker_python(str(python))
    assert str(python) in str(raised.value)
    assert sys.executable in str(raised.value)


def test_this_interpreter_and_remote_workers_pass_the_check(tmp_path: Path) -> None:
    check_worker_python(sys.executable)
    check_worker_python(str(tmp_path / "not-on-this-machine" / "python3"))
    check_worker_python(None)


def test_the_readme_import_gives_the_public_classes() -> None:
    import lakeflow_bridge  # noqa: PLC0415
    from lakeflow_bridge import ZohoCrmDataSource, ZohoCrmLakeflowConnect  # noqa: PLC0415
    from lakeflow_bridge.connector import ZohoCrmLakeflowConnect as Direct  # noqa: PLC0415

    assert ZohoCrmLakeflowConnect is Direct
    assert ZohoCrmDataSource.name() == "zoho_crm"
    assert set(lakeflow_bridge.__all__) == {"ZohoCrmDataSource", "ZohoCrmLakeflowConnect"}
    with pytest.raises(AttributeError):
        _ = lakeflow_bridge.NotAThing
