"""Build tap-zoho-crm's wheels as a user would, and install them into a fresh virtualenv.

`pip wheel . --no-deps` builds what PyPI would carry; the install goes into a virtualenv that
knows nothing of the repository, so a file missing from the wheel, or a runtime import of
something only the clone has, fails there. The install uses `uv` (a dependency of Meltano, so
already in the test venv): it resolves the same dependencies as pip from the same index, and
its cache makes a fresh venv take seconds instead of half a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMULATOR_PROJECT = PROJECT_ROOT / "packaging" / "emulator"
UV = Path(sys.executable).with_name("uv")
BUILD_TIMEOUT_S = 300
ISOLATED_PREFIXES = ("TAP_ZOHO_CRM_", "VIRTUAL_ENV", "PYTHONPATH")


def project_version(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> str:
    """The `version` a pyproject.toml declares."""
    version: str = tomllib.loads(pyproject.read_text())["project"]["version"]
    return version


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points at the repository or its venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env.update(extra)
    return env


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; fail with its output when it fails. Returns stdout."""
    completed = subprocess.run(
        args,
        cwd=cwd,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"`{' '.join(args)}` exited {completed.returncode}:\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    return completed.stdout


def build_wheel(project: Path, out: Path) -> Path:
    """`pip wheel <project> --no-deps -w <out>`; the one wheel it built."""
    before = set(out.glob("*.whl"))
    run(
        [sys.executable, "-m", "pip", "wheel", str(project), "--no-deps", "-q", "-w", str(out)],
        cwd=project,
    )
    built = sorted(set(out.glob("*.whl")) - before)
    assert len(built) == 1, f"expected one new wheel in {out}, found {built}"
    return built[0]


@dataclass(frozen=True)
class FreshVenv:
    """A virtualenv outside the repository, with only what was installed into it."""

    root: Path

    @property
    def bin(self) -> Path:
        """Its scripts folder."""
        return self.root / "bin"

    @property
    def python(self) -> Path:
        """Its interpreter."""
        return self.bin / "python"

    @classmethod
    def create(cls, root: Path) -> FreshVenv:
        """A new, empty virtualenv at `root`."""
        run([str(UV), "venv", "-q", "--python", sys.executable, str(root)], cwd=root.parent)
        return cls(root)

    def install(self, *requirements: str, find_links: Path, offline: bool = False) -> None:
        """Install requirements, finding this project's wheels in `find_links`.

        `offline` installs from `find_links` alone (plus what is installed already).
        """
        args = [str(UV), "pip", "install", "-q", "--python", str(self.python)]
        args += ["--find-links", str(find_links)]
        if offline:
            args.append("--no-index")
        run([*args, *requirements], cwd=self.root)
