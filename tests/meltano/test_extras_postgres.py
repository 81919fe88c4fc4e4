"""`meltano run` of the deleted-records and junction streams into a real PostgreSQL server.

- meltanolabs-target-postgres loads `<Module>_deleted` and the junctions with their keys; a later
  run with `hard_delete` leaves the junction tables exactly equal to the emulator's relations
  (junction passes are snapshots: with `emit_activate_version_messages`, ACTIVATE_VERSION drops
  removed members).
- With `emit_tombstones`, pipelinewise-target-postgres (whose `hard_delete` deletes rows that
  arrive with `_sdc_deleted_at`) removes deleted records from the module tables.
- meltanolabs-target-postgres 0.8.1 does not: it keeps the row, nulls its columns and stamps
  `_sdc_deleted_at`. That is why `emit_tombstones` is off by default.
"""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import sql

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.meltano import MeltanoProject, MeltanoResult, tap_env
from tests.support.postgres import PostgresDatabase
from tests.support.zoho_truth import secrets
from tests.tap_extras.extras_helpers import deleted_truth, junction_truth

pytestmark = [pytest.mark.meltano, pytest.mark.postgres]

SCHEMA = "tap_zoho_crm"  # both loaders' default_target_schema in meltano.yml
JUNCTION_KEYS = {
    "Campaigns_Leads": ("Lead_Id", "Member_Status"),
    "Campaigns_Contacts": ("Contact_Id", "Member_Status"),
    "Deals_Contact_Roles": ("Contact_Id", "Contact_Role"),
}
STREAMS = [
    "Campaigns",
    "Leads",
    "Contacts",
    "Deals",
    "Leads_deleted",
    "Contacts_deleted",
    "Deals_deleted",
    *JUNCTION_KEYS,
]


def run(
    meltano: MeltanoProject, loader: str, zoho: ZohoEmulator, env: dict[str, str], **config: Any
) -> MeltanoResult:
    result = meltano.run(
        "run",
        "--no-install",
        "tap-zoho-crm",
        loader,
        env={**tap_env(zoho.tap_config(**config)), **env},
    )
    print(f"`meltano run tap-zoho-crm {loader}` took {result.seconds:.1f} s")
    for secret in secrets(zoho):
        assert secret not in result.output
    return result


def pipelinewise_env(db: PostgresDatabase) -> dict[str, str]:
    return {
        "TARGET_POSTGRES_PIPELINEWISE_HOST": db.host,
        "TARGET_POSTGRES_PIPELINEWISE_PORT": str(db.port),
        "TARGET_POSTGRES_PIPELINEWISE_USER": db.user,
        "TARGET_POSTGRES_PIPELINEWISE_PASSWORD": db.password,
        "TARGET_POSTGRES_PIPELINEWISE_DBNAME": db.dbname,
        "TARGET_POSTGRES_PIPELINEWISE_HARD_DELETE": "true",
    }


def select(db: PostgresDatabase, table: str, columns: list[str], where: str = "") -> list[tuple]:
    query = sql.SQL("SELECT {} FROM {} {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Identifier(SCHEMA, table),
        sql.SQL(where),
    )
    with db.connect() as conn:
        return conn.execute(query).fetchall()


def junction_table(db: PostgresDatabase, table: str) -> set[tuple[int, int, str]]:
    member, value = JUNCTION_KEYS[table]
    rows = select(db, table, ["_parent_id", member, value])
    assert len(rows) == len(set(rows)), table
    return {(int(p), int(m), v) for p, m, v in rows}


def mutate_relations(zoho: ZohoEmulator) -> None:
    campaigns = sorted(zoho.record_ids("Campaigns"))
    members = zoho.campaign_members(campaigns[0], "Leads")
    first, second = sorted(members)[:2]
    zoho.set_member_status(
        campaigns[0], "Leads", first, "Responded" if members[first] != "Responded" else "Sent"
    )
    zoho.remove_member(campaigns[0], "Leads", second)
    new_lead = next(
        lead
        for lead in sorted(zoho.record_ids("Leads"))
        if lead not in zoho.campaign_members(campaigns[1], "Leads")
    )
    zoho.add_member(campaigns[1], "Leads", new_lead, "Planned")
    zoho.remove_member(
        campaigns[2], "Contacts", sorted(zoho.campaign_members(campaigns[2], "Contacts"))[0]
    )
    deal = next(d for d in sorted(zoho.record_ids("Deals")) if zoho.contact_roles(d))
    zoho.remove_contact_role(deal, sorted(zoho.contact_roles(deal))[0])


def test_deleted_and_junction_streams_load_with_their_keys_and_stay_current(
    meltano: MeltanoProject, zoho: ZohoEmulator, postgres_db: PostgresDatabase
) -> None:
    env = postgres_db.target_postgres_env()
    # A complete junction pass every run: the second run must see removals at once. The target
    # supports ACTIVATE_VERSION, so the tap is told to send it (off by default).
    versions = {"emit_activate_version_messages": True, "junction_full_pass_hours": 0}
    run(meltano, "target-postgres", zoho, env, include_modules=STREAMS, **versions)
    for module in ("Leads", "Contacts", "Deals"):
        table = f"{module}_deleted"
        assert postgres_db.primary_key(SCHEMA, table) == {"id"}
        rows = select(postgres_db, table, ["id", "type", "_zoho_deleted"])
        truth = deleted_truth(zoho, module)
        assert {int(i) for i, _, _ in rows} == set(truth), table
        assert {(int(i), t) for i, t, _ in rows} == {(i, e["type"]) for i, e in truth.items()}
        assert all(flag is True for _, _, flag in rows)
    for table, (member, _) in JUNCTION_KEYS.items():
        assert postgres_db.primary_key(SCHEMA, table) == {"_parent_id", member}, table
        assert junction_table(postgres_db, table) == junction_truth(zoho, table), table

    mutate_relations(zoho)
    leads = sorted(zoho.record_ids("Leads"))
    zoho.delete_record("Leads", leads[0])
    zoho.delete_record("Leads", leads[1], permanent=True)
    run(
        meltano,
        "target-postgres",
        zoho,
        {**env, "TARGET_POSTGRES_HARD_DELETE": "true"},
        include_modules=STREAMS,
        **versions,
    )
    for table in JUNCTION_KEYS:
        assert junction_table(postgres_db, table) == junction_truth(zoho, table), table
    rows = {int(i) for (i,) in select(postgres_db, "Leads_deleted", ["id"])}
    assert {int(leads[0]), int(leads[1])} <= rows
    assert rows == set(deleted_truth(zoho, "Leads"))


def test_tombstones_with_hard_delete_remove_deleted_rows_from_module_tables(
    meltano: MeltanoProject, zoho: ZohoEmulator, postgres_db: PostgresDatabase
) -> None:
    streams = ["Contacts", "Contacts_deleted"]
    env = pipelinewise_env(postgres_db)
    run(
        meltano,
        "target-postgres-pipelinewise",
        zoho,
        env,
        include_modules=streams,
        emit_tombstones=True,
    )
    live = {int(i) for i in zoho.record_ids("Contacts")}
    assert {int(i) for (i,) in select(postgres_db, "contacts", ["id"])} == live

    doomed = sorted(zoho.record_ids("Contacts"))[:3]
    zoho.delete_record("Contacts", doomed[0])
    zoho.delete_record("Contacts", doomed[1], permanent=True)
    zoho.delete_record("Contacts", doomed[2])
    run(
        meltano,
        "target-postgres-pipelinewise",
        zoho,
        env,
        include_modules=streams,
        emit_tombstones=True,
    )
    loaded = {int(i) for (i,) in select(postgres_db, "contacts", ["id"])}
    assert loaded == {int(i) for i in zoho.record_ids("Contacts")}
    assert not loaded & {int(i) for i in doomed}
    deleted = {int(i) for (i,) in select(postgres_db, "contacts_deleted", ["id"])}
    assert deleted == set(deleted_truth(zoho, "Contacts"))


def test_without_per_record_hard_delete_a_tombstone_only_stamps_and_nulls_the_row(
    meltano: MeltanoProject, zoho: ZohoEmulator, postgres_db: PostgresDatabase
) -> None:
    """Why emit_tombstones is off by default (meltanolabs-target-postgres 0.8.1 behaviour)."""
    streams = ["Contacts", "Contacts_deleted"]
    env = {**postgres_db.target_postgres_env(), "TARGET_POSTGRES_HARD_DELETE": "true"}
    run(meltano, "target-postgres", zoho, env, include_modules=streams, emit_tombstones=True)
    doomed = sorted(zoho.record_ids("Contacts"))[0]
    zoho.delete_record("Contacts", doomed)
    run(meltano, "target-postgres", zoho, env, include_modules=streams, emit_tombstones=True)
    rows = select(
        postgres_db,
        "Contacts",
        ["id", "Last_Name", "_sdc_deleted_at"],
        where=f"WHERE id = {int(doomed)}",
    )
    assert len(rows) == 1
    _, last_name, deleted_at = rows[0]
    assert deleted_at is not None
    assert last_name is None
    live = select(postgres_db, "Contacts", ["id"], where="WHERE _sdc_deleted_at IS NULL")
    assert {int(i) for (i,) in live} == {int(i) for i in zoho.record_ids("Contacts")}
