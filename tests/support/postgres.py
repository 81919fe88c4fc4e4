"""A real, throw-away PostgreSQL server for the test session.

Tests that load into PostgreSQL must talk to a real server, not a mock, yet CI machines have only
the server binaries (Debian's `postgresql` package) and no running cluster. This module creates a
cluster in a temporary folder with `initdb`, starts `postgres` on a free port of 127.0.0.1 and
removes everything again at the end.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server runs as an
unprivileged OS user (`postgres`, created if missing). The server is started with durability
switched off (`fsync=off`, ...) because the data is thrown away anyway; that makes start-up and
loading fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

import psycopg
from psycopg import sql

OS_USER = "postgres"
SUPERUSER = "tap_test"
# Trust authentication ignores it, but SQL targets insist on having one.
PASSWORD = "unused-with-trust-auth"
STARTUP_TIMEOUT_S = 30.0
# Folders of clusters whose test process was killed (the server itself stops with its parent).
STALE_AFTER_S = 3600.0
TEMP_PREFIX = "tap-zoho-crm-pg-"
STOP_TIMEOUT_S = 15.0
PORT_ATTEMPTS = 3


class _Identity(NamedTuple):
    uid: int | None
    gid: int | None
    extra_groups: list[int] | None


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL cannot be started here; the message says what to install or fix."""


@dataclass(frozen=True)
class PostgresDatabase:
    """Connection facts of one database on the throw-away server."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def conninfo(self) -> str:
        """Libpq connection string, for psycopg."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={self.dbname}"
        )

    def connect(self) -> psycopg.Connection:
        """Open an autocommit connection (tests only read, or run DDL)."""
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)

    def primary_key(self, schema: str, table: str) -> set[str]:
        """Columns of ``schema.table``'s primary key (empty if it has none)."""
        with self.connect() as conn:
            rows = conn.execute(
                """
                SELECT a.attname
                FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = %s::regclass AND i.indisprimary
                """,
                (sql.Identifier(schema, table).as_string(conn),),
            ).fetchall()
        return {row[0] for row in rows}

    def target_postgres_env(self, schema: str | None = None) -> dict[str, str]:
        """Environment variables that point Meltano's `target-postgres` at this database."""
        env = {
            "TARGET_POSTGRES_HOST": self.host,
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": self.user,
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": self.dbname,
        }
        if schema is not None:
            env["TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA"] = schema
        return env


def find_bin_dir() -> Path:
    """Locate the server binaries: $PG_BIN_DIR, the newest /usr/lib/postgresql/*/bin, or PATH."""
    candidates: list[Path] = []
    if override := os.environ.get("PG_BIN_DIR"):
        candidates.append(Path(override))

    def version_of(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_of, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise PostgresUnavailableError(
        "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin "
        "or on PATH: install them with `apt-get install postgresql` (bash .ci/run does this) "
        "or point PG_BIN_DIR at them."
    )


def free_port() -> int:
    """Ask the kernel for a port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Make the server get SIGINT (fast shutdown) if the test process dies without cleaning up.

    Runs in the child after the switch to the server's user, so the setting survives.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGINT)


class PostgresServer:
    """One throw-away PostgreSQL cluster.

    Use: `with PostgresServer() as server: db = server.create_database()`.
    """

    def __init__(self, bin_dir: Path | None = None, os_user: str = OS_USER) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = "127.0.0.1"
        self.port = 0
        self._os_user = os_user
        self._base: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._database_count = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster and start the server; raise PostgresUnavailableError on failure."""
        if self._process is not None:
            return
        _sweep_stale_clusters()
        self._base = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        try:
            self._chown_to_server_user(self._base)
            self._initdb()
            self._start_on_a_free_port()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown (SIGINT), SIGKILL if that hangs, then delete the cluster's folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        base, self._base = self._base, None
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------

    def database(self, dbname: str = "postgres") -> PostgresDatabase:
        """Connection facts for `dbname` (which must exist)."""
        if self._process is None:
            raise RuntimeError("the PostgreSQL server is not running")
        return PostgresDatabase(self.host, self.port, SUPERUSER, PASSWORD, dbname)

    def create_database(self, prefix: str = "test") -> PostgresDatabase:
        """Create a fresh, empty database: tests sharing the server never see each other's data."""
        self._database_count += 1
        dbname = f"{prefix}_{self._database_count}"
        with self.database().connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return self.database(dbname)

    # -- internals -------------------------------------------------------------------------------

    @property
    def _runs_as_root(self) -> bool:
        return os.geteuid() == 0

    def _server_user(self) -> pwd.struct_passwd:
        """The unprivileged OS user the server runs as when we are root (created if missing)."""
        try:
            return pwd.getpwnam(self._os_user)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    self._os_user,
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            return pwd.getpwnam(self._os_user)

    def _chown_to_server_user(self, path: Path) -> None:
        if self._runs_as_root:
            user = self._server_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    def _identity(self) -> _Identity:
        """Who the server's processes run as: the server user when we are root, else ourselves."""
        if not self._runs_as_root:
            return _Identity(None, None, None)
        user = self._server_user()
        return _Identity(user.pw_uid, user.pw_gid, [])

    def _initdb(self) -> None:
        assert self._base is not None
        who = self._identity()
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self._base / "data"),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=self._base,
            env=_server_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            user=who.uid,
            group=who.gid,
            extra_groups=who.extra_groups,
        )
        if result.returncode != 0:
            raise PostgresUnavailableError(
                f"initdb failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
            )

    def _start_on_a_free_port(self) -> None:
        """Start the server; another process may grab the free port first, so retry a few times."""
        last_log = ""
        for _ in range(PORT_ATTEMPTS):
            self.port = free_port()
            if self._start_once():
                return
            last_log = self._log_tail()
            if "could not bind" not in last_log and "already in use" not in last_log:
                break
        raise PostgresUnavailableError(f"the PostgreSQL server did not start: {last_log}")

    def _start_once(self) -> bool:
        assert self._base is not None
        log_path = self._base / "server.log"
        who = self._identity()
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self._base / "data"),
                    "-p",
                    str(self.port),
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    f"unix_socket_directories={self._base}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=50",
                    # Naive timestamps then mean UTC, whatever the machine's zone.
                    "-c",
                    "timezone=UTC",
                ],
                cwd=self._base,
                env=_server_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded at this point
                user=who.uid,
                group=who.gid,
                extra_groups=who.extra_groups,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(
                    f"host={self.host} port={self.port} user={SUPERUSER} dbname=postgres",
                    connect_timeout=2,
                ).close()
                return True
            time.sleep(0.05)
        self.stop_process_only()
        raise PostgresUnavailableError(
            f"the PostgreSQL server did not accept connections within {STARTUP_TIMEOUT_S:.0f} s: "
            f"{self._log_tail()}"
        )

    def stop_process_only(self) -> None:
        """Kill a server that never became ready, keeping its folder for the error message."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)

    def _log_tail(self) -> str:
        if self._base is None:
            return ""
        log_path = self._base / "server.log"
        try:
            return log_path.read_text(errors="replace").strip()[-2000:]
        except OSError:
            return ""


def _sweep_stale_clusters() -> None:
    """Delete folders left by killed test runs: old, and with no server running in them."""
    cutoff = time.time() - STALE_AFTER_S
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.stat().st_mtime < cutoff and not (folder / "data/postmaster.pid").exists():
                shutil.rmtree(folder, ignore_errors=True)


def _server_env() -> dict[str, str]:
    """A small, predictable environment: no PG* variables from the caller leak into the cluster."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Context manager form, for scripts and benchmarks."""
    with PostgresServer() as server:
        yield server
