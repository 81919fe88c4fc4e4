"""Compare rows a Singer target loaded into PostgreSQL with the emulator's records, every column.

The target chooses column types from the tap's JSON Schema (integer -> bigint, number ->
numeric, date-time strings -> timestamp, objects and arrays -> jsonb, ...). The comparison goes
by the Python type psycopg returns for each value, so it checks what the database really holds
without assuming one target's type mapping, and reads the truth the way the tap's contract says
it is emitted (UTC instants, integer ids, lookups as objects).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from typing import Any

from psycopg import sql

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.postgres import PostgresDatabase
from tests.tap.tap_helpers import emitted_nested, expected_nested, listable_fields

#: Columns the target adds about the load itself, not about the record.
TARGET_METADATA_PREFIX = "_sdc_"

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


def _as_instant(value: dt.datetime | str) -> dt.datetime:
    """An instant from a PostgreSQL timestamp (naive means UTC) or a datetime string."""
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def same_value(raw: Any, got: Any) -> bool:
    """Whether the database value ``got`` holds the emulator's value ``raw``."""
    if raw is None:
        return got is None
    if got is None:
        return False
    if isinstance(got, dt.datetime) or (isinstance(got, str) and _DATETIME.match(got)):
        return isinstance(raw, str) and _as_instant(got) == _as_instant(raw)
    if isinstance(got, dt.date):
        return got.isoformat() == raw
    if isinstance(got, dt.time):
        return got.isoformat() == raw or got.isoformat(timespec="minutes") == raw
    if isinstance(got, decimal.Decimal):
        return isinstance(raw, int | float | str) and got == decimal.Decimal(str(raw))
    if isinstance(got, bool) or isinstance(raw, bool):
        return got is raw
    if isinstance(got, int):
        return got == int(raw)
    if isinstance(got, dict | list):
        return emitted_nested(got) == expected_nested(raw)
    return bool(got == raw)


def table_rows(db: PostgresDatabase, schema: str, table: str) -> list[dict[str, Any]]:
    """Every row of a table as a dict, the target's metadata columns left out."""
    query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))
    with db.connect() as conn:
        cursor = conn.execute(query)
        names = [column.name for column in cursor.description or []]
        return [
            {
                name: value
                for name, value in zip(names, row, strict=True)
                if not name.startswith(TARGET_METADATA_PREFIX)
            }
            for row in cursor.fetchall()
        ]


def column_differences(
    db: PostgresDatabase, schema: str, zoho: ZohoEmulator, module: str, *, most: int = 5
) -> list[str]:
    """What differs between a module's table and the emulator, column by column, row by row.

    Every field a list call serves must be a column, every column must be such a field, and
    every value must match; the first ``most`` problems are returned.
    """
    fields: Mapping[str, Any] = listable_fields(zoho, module)
    problems: list[str] = []
    for row in table_rows(db, schema, module):
        unknown = sorted(set(row) - set(fields))
        missing = sorted(set(fields) - set(row))
        if unknown or missing:
            return [f"columns not fields: {unknown}; fields without a column: {missing}"]
        truth = zoho.get_record(module, str(row["id"]))
        for name in fields:
            if not same_value(truth.get(name), row[name]):
                problems.append(f"{row['id']}.{name}: {row[name]!r:.60} != {truth.get(name)!r:.60}")
                if len(problems) >= most:
                    return problems
    return problems
