"""What meltanolabs-target-postgres does with an empty lookup, and the query the README gives.

A lookup (`Account_Name`, `Owner`, ...) is an object, stored in a `jsonb` column. When Zoho's value
is null, the target stores JSON `null` inside the `jsonb`, not SQL `NULL`, so `IS NULL` alone
finds none of those rows. The README's query must find exactly the Contacts the emulator holds
without an account.
"""

from __future__ import annotations

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import MeltanoProject, tap_env
from tests.support.postgres import PostgresDatabase

pytestmark = [pytest.mark.meltano, pytest.mark.postgres]

# The query README.md gives (section "What each target does with the data").
README_QUERY = (
    'SELECT id FROM tap_zoho_crm."Contacts" '
    """WHERE "Account_Name" IS NULL OR jsonb_typeof("Account_Name") = 'null'"""
)


def test_an_empty_lookup_is_json_null_and_the_readme_query_finds_it(
    meltano: MeltanoProject, zoho: ZohoEmulator, postgres_db: PostgresDatabase
) -> None:
    without_account = {
        int(r["id"]) for r in zoho.iter_records("Contacts") if r.get("Account_Name") is None
    }
    assert without_account, "the demo org must have Contacts without an account"
    env = {
        **tap_env(zoho.tap_config(include_modules=["Contacts"])),
        **postgres_db.target_postgres_env(),
    }
    meltano.run("run", "--no-install", "tap-zoho-crm", "target-postgres", env=env)

    with postgres_db.connect() as conn:
        column_type = conn.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = 'tap_zoho_crm' AND table_name = 'Contacts' "
            "AND column_name = 'Account_Name'"
        ).fetchone()
        sql_null = conn.execute(
            'SELECT count(*) FROM tap_zoho_crm."Contacts" WHERE "Account_Name" IS NULL'
        ).fetchone()
        found = {int(row[0]) for row in conn.execute(README_QUERY).fetchall()}
        by_id = conn.execute(
            """SELECT count(*) FROM tap_zoho_crm."Contacts" WHERE "Account_Name"->>'id' IS NULL"""
        ).fetchone()
    assert column_type == ("jsonb",)
    assert sql_null == (0,)  # the trap: JSON null is not SQL NULL
    assert found == without_account
    assert by_id == (len(without_account),)  # the shorter form the README also gives
