"""Run the repository's real Meltano project from tests, isolated from the developer's own runs.

The tests use the project's own `meltano.yml` unchanged, so they prove that what a user runs works.
Three things are moved out of the way so a test run never touches, or depends on, the developer's
`.meltano/`:

- installed plugins live in a temporary folder (`MELTANO_SYS_DIR_ROOT`), installed once per test
  session with `meltano install` (uv makes that a few seconds; only PyPI is contacted);
- each test gets a system database of its own (`MELTANO_DATABASE_URI`), hence its own state;
- `TAP_ZOHO_CRM_*`, `TARGET_*` and `MELTANO_*` variables of the calling shell are dropped, and the
  test passes the emulator's URL and credentials the way a user would: as environment variables.

A `.env` file at the project root is still read by Meltano, as for any user; the variables a test
sets win over it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).with_name("meltano")
RUN_TIMEOUT_S = 600
ISOLATED_PREFIXES = ("TAP_ZOHO_CRM_", "TARGET_JSONL_", "TARGET_POSTGRES_", "MELTANO_")


@dataclass(frozen=True)
class MeltanoResult:
    """What one `meltano` command did."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        """Both streams, for "this must never appear anywhere" checks."""
        return self.stdout + self.stderr


class MeltanoCommandError(AssertionError):
    """A `meltano` command failed; the message carries the end of its output."""


@dataclass(frozen=True)
class MeltanoProject:
    """The repository's Meltano project with an isolated plugin folder and system database."""

    sys_dir: Path
    database: Path
    root: Path = PROJECT_ROOT
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def with_database(self, database: Path) -> MeltanoProject:
        """The same installed plugins, with a fresh system database (so fresh state)."""
        return MeltanoProject(self.sys_dir, database, self.root, self.extra_env)

    def env(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment `meltano` runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
        env.update(
            {
                "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
                "MELTANO_DATABASE_URI": f"sqlite:///{self.database}",
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                # Keep plugins' Python output unbuffered so a failing run shows its last words.
                "PYTHONUNBUFFERED": "1",
                # Plain text: the output ends up in assertion messages and CI logs.
                "NO_COLOR": "1",
            }
        )
        env.update(self.extra_env)
        env.update(overrides or {})
        return env

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = RUN_TIMEOUT_S,
        check: bool = True,
    ) -> MeltanoResult:
        """Run `meltano ARGS` in the project root (MeltanoCommandError on failure if `check`)."""
        started = time.monotonic()
        completed = subprocess.run(
            [str(MELTANO), *args],
            cwd=self.root,
            env=self.env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = MeltanoResult(
            tuple(args),
            completed.returncode,
            completed.stdout,
            completed.stderr,
            time.monotonic() - started,
        )
        if check and result.returncode != 0:
            raise MeltanoCommandError(
                f"`meltano {' '.join(args)}` exited {result.returncode} after "
                f"{result.seconds:.1f} s:\n{result.output[-6000:]}"
            )
        return result

    def install(self) -> MeltanoResult:
        """Install every plugin of meltano.yml into `sys_dir`."""
        return self.run("install")

    def singer_state(self, state_id: str) -> dict[str, Any]:
        """The Singer state Meltano stored for `state_id` (what the target echoed last), or {}."""
        result = self.run("state", "get", state_id)
        stored: dict[str, Any] = json.loads(result.stdout or "{}")
        singer_state: dict[str, Any] = stored.get("singer_state", {})
        return singer_state


def tap_env(config: Mapping[str, Any]) -> dict[str, str]:
    """A tap config as the environment variables Meltano maps to settings (`TAP_ZOHO_CRM_<NAME>`).

    Lists and other non-strings are passed as JSON, which Meltano parses for `array`/`object`
    settings.
    """
    return {
        f"TAP_ZOHO_CRM_{key.upper()}": value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
    }


def state_id(extractor: str, loader: str, environment: str = "dev") -> str:
    """Meltano's state id for `meltano run EXTRACTOR LOADER`."""
    return f"{environment}:{extractor}-to-{loader}"


def read_jsonl_folder(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Records per stream from target-jsonl's files (`<stream>.jsonl` or `<stream>-<time>.jsonl`).

    Stream names may contain `-`, which target-jsonl also uses before the timestamp, so the
    stream name is what remains after removing a trailing `-YYYYmmddTHHMMSS`.
    """
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(folder.glob("*.jsonl")):
        stem = path.stem
        head, sep, tail = stem.rpartition("-")
        stream = head if sep and len(tail) == 15 and tail[8] == "T" and tail.isalnum() else stem
        with path.open(encoding="utf-8") as lines:
            records[stream].extend(json.loads(line) for line in lines if line.strip())
    return dict(records)


def ids_of(records: Iterable[Mapping[str, Any]]) -> list[int]:
    """The `id` of each record, in order (duplicates kept, so tests can count them)."""
    return [int(record["id"]) for record in records]
