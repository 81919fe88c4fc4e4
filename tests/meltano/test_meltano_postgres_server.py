"""The throw-away PostgreSQL server the loading tests use is a real one, and really goes away."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


def test_each_database_is_fresh_and_separate(postgres_server: PostgresServer) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    assert first.dbname != second.dbname
    with first.connect() as conn:
        conn.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES (3652397000009851001)")
        assert conn.execute("SELECT id FROM t").fetchall() == [(3652397000009851001,)]
        # Naive timestamps are UTC on this server, whatever the machine's zone.
        assert conn.execute("SHOW timezone").fetchone() == ("UTC",)
    with second.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
    assert postgres_server.host == "127.0.0.1"


def test_server_runs_unprivileged_and_is_removed_on_stop() -> None:
    server = PostgresServer()
    server.start()
    try:
        db = server.create_database()
        with db.connect() as conn:
            data_dir = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
            pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        assert data_dir.is_dir()
        # PostgreSQL refuses root; under root the harness drops to an unprivileged user.
        assert os.stat(f"/proc/{pid}").st_uid != 0
    finally:
        server.stop()
    assert not data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(db.conninfo, connect_timeout=2)
