"""`meltano run tap-zoho-crm target-postgres` into a real PostgreSQL server started for the session.

After the first run each module table holds exactly the emulator's rows, every column of every
row; after updates and inserts in the emulator a second run (from Meltano's stored state) brings
the tables back to exactly the emulator's rows, with the new values. Deletes are covered by
test_extras_postgres.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from psycopg import sql

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import MeltanoProject, MeltanoResult, state_id
from tests.support.pg_truth import column_differences
from tests.support.postgres import PostgresDatabase
from tests.support.zoho_truth import (
    instant,
    modified_times,
    modules_to_mutate,
    mutate,
    secrets,
)

pytestmark = [pytest.mark.meltano, pytest.mark.postgres]

# meltano.yml sets target-postgres' default_target_schema to the tap's namespace.
SCHEMA = "tap_zoho_crm"
STATE_ID = state_id("tap-zoho-crm", "target-postgres")


def run_to_postgres(
    meltano: MeltanoProject, env: dict[str, str], db: PostgresDatabase
) -> MeltanoResult:
    result = meltano.run(
        "run",
        "--no-install",
        "tap-zoho-crm",
        "target-postgres",
        env={**env, **db.target_postgres_env()},
    )
    print(f"`meltano run tap-zoho-crm target-postgres` took {result.seconds:.1f} s")
    return result


def tables(db: PostgresDatabase) -> set[str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (SCHEMA,)
        ).fetchall()
    return {row[0] for row in rows}


def loaded_modified_times(db: PostgresDatabase, table: str) -> list[tuple[int, dt.datetime]]:
    query = sql.SQL('SELECT id, "Modified_Time" FROM {}').format(sql.Identifier(SCHEMA, table))
    with db.connect() as conn:
        return [(int(i), instant(t)) for i, t in conn.execute(query).fetchall()]


def rows_loaded_since(db: PostgresDatabase, table: str, since: dt.datetime) -> set[int]:
    """Ids whose row the target (re)wrote after `since` (its `_sdc_batched_at` metadata column)."""
    query = sql.SQL("SELECT id, _sdc_batched_at FROM {}").format(sql.Identifier(SCHEMA, table))
    with db.connect() as conn:
        return {int(i) for i, at in conn.execute(query).fetchall() if instant(at) > since}


def assert_tables_hold_the_emulators_rows(
    db: PostgresDatabase, zoho: ZohoEmulator, modules: list[str]
) -> None:
    present = tables(db)
    wrong: dict[str, object] = {}
    for module in modules:
        truth = modified_times(zoho, module)
        if not truth and module not in present:
            continue
        if module not in present:
            wrong[module] = "no table"
            continue
        rows = loaded_modified_times(db, module)
        loaded = dict(rows)
        if len(rows) != len(loaded) or loaded != truth:
            stale = {i for i in truth.keys() & loaded.keys() if truth[i] != loaded[i]}
            wrong[module] = {
                "rows": len(rows),
                "expected": len(truth),
                "missing": sorted(truth.keys() - loaded.keys())[:5],
                "unexpected": sorted(loaded.keys() - truth.keys())[:5],
                "stale": sorted(stale)[:5],
            }
    assert wrong == {}, f"PostgreSQL differs from the emulator: {wrong}"
    # Every column of every row, against the emulator's record.
    values = {
        module: problems
        for module in modules
        if module in present and (problems := column_differences(db, SCHEMA, zoho, module))
    }
    assert values == {}, f"PostgreSQL values differ from the emulator: {values}"


def test_postgres_tables_hold_exactly_the_emulators_rows(
    meltano: MeltanoProject,
    zoho: ZohoEmulator,
    zoho_env: dict[str, str],
    postgres_db: PostgresDatabase,
) -> None:
    modules = sorted(zoho.module_names())
    first = run_to_postgres(meltano, zoho_env, postgres_db)

    assert_tables_hold_the_emulators_rows(postgres_db, zoho, modules)
    for module in modules:
        if module in tables(postgres_db):
            assert postgres_db.primary_key(SCHEMA, module) == {"id"}, module
    bookmarks = meltano.singer_state(STATE_ID)["bookmarks"]
    truth = {module: modified_times(zoho, module) for module in modules}
    # Records sitting exactly on a bookmark are the only re-sends the design allows.
    boundary = {
        module: {
            i
            for i, t in truth[module].items()
            if t == instant(bookmarks[module]["replication_key_value"])
        }
        for module in modules
        if module in bookmarks
    }

    # Updates and inserts, then a second run from the state Meltano stored.
    changes = mutate(zoho, modules_to_mutate(zoho), delete=False)
    between_runs = dt.datetime.now(dt.UTC)
    second = run_to_postgres(meltano, zoho_env, postgres_db)

    assert_tables_hold_the_emulators_rows(postgres_db, zoho, modules)
    # Only the changed rows were written again: the run started from the stored bookmarks.
    for module in modules:
        if module in tables(postgres_db):
            rewritten = rows_loaded_since(postgres_db, module, between_runs)
            assert changes.changed(module) <= rewritten, module
            assert rewritten - changes.changed(module) <= boundary.get(module, set()), module
    for module, (field_name, values) in changes.values.items():
        query = sql.SQL("SELECT id, {} FROM {} WHERE id = ANY(%s)").format(
            sql.Identifier(field_name), sql.Identifier(SCHEMA, module)
        )
        with postgres_db.connect() as conn:
            rows: dict[int, str] = dict(conn.execute(query, (list(values),)).fetchall())
        assert rows == values, module

    for secret in secrets(zoho):
        assert secret not in first.output + second.output
