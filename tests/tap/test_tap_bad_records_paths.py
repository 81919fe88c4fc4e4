"""Bad records on the read paths other than module walks: one line, or skipped and counted.

Deleted lists (keyed by ``deleted_time``), Users, the parent walks of a subform, a junction
and attachments (a bad parent fails naming the parent module and record, or is skipped with its
rows), attachment rows, subform rows and the ``ids=`` rows of a field-chunk merge. Under
``fail`` the stream stops with one line naming the stream, the record (its id, or its position
when the id is the problem) and the field, the other streams complete, and STATE keeps no
bookmark past the records sent. Under ``skip`` every good record arrives, id by id, the bad one
is counted in the run summary, and it never moves a bookmark. The emulator spoils the records
(``faults.bad_records``); the truth is its store.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from tap_helpers import cli, discover, instant, select_only, write_json
from test_tap_bad_answers import sync_allowing_failure

from tap_zoho_crm.run_outcome import StreamsFailedError
from tap_zoho_crm.testing.emulator import ZohoEmulator

KINDS = ("null_modified_time", "non_numeric_id")
BYSTANDER = "Products"
Messages = list[dict[str, Any]]


@pytest.fixture(scope="module")
def org() -> Any:
    with ZohoEmulator(profile="minimal", seed=7) as zoho:
        for lead in sorted(zoho.record_ids("Leads"))[:4]:
            zoho.clock.advance(60)  # distinct deleted_time values
            zoho.delete_record("Leads", lead)
        yield zoho


@pytest.fixture(scope="module")
def catalog(org: ZohoEmulator) -> dict[str, Any]:
    return discover(org.tap_config(include_subforms=True, include_attachments=True))


def _sync(
    org: ZohoEmulator,
    catalog: dict[str, Any],
    stream: str,
    bad: dict[str, str],
    mode: str,
    **config: Any,
) -> tuple[Messages, StreamsFailedError | None]:
    org.faults.bad_records = bad
    try:
        return sync_allowing_failure(
            org.tap_config(
                include_subforms=True, include_attachments=True, on_bad_record=mode, **config
            ),
            select_only(catalog, {stream, BYSTANDER}),
        )
    finally:
        org.faults.bad_records = {}


def _ids(messages: Messages, stream: str) -> list[int]:
    return [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def _bookmark(messages: Messages, stream: str) -> dt.datetime | None:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    value = states[-1].get("bookmarks", {}).get(stream, {}).get("replication_key_value")
    return instant(value) if value else None


def _assert_one_line(
    failure: StreamsFailedError | None, stream: str, subject: str, record_id: int, field: str
) -> None:
    """The run's error names the stream, the record (or its position) and the field."""
    assert failure is not None
    line = str(failure)
    assert "\n" not in line
    assert f"stream {stream}" in line, line
    assert f"(field {field})" in line, line
    who = f"{subject} {record_id}" if field != "id" else f"the {subject} at position"
    assert who in line, line
    assert "on_bad_record" in line, line


def _assert_bystander_complete(org: ZohoEmulator, messages: Messages) -> None:
    assert sorted(_ids(messages, BYSTANDER)) == sorted(int(i) for i in org.record_ids(BYSTANDER))


def _assert_counted(caplog: pytest.LogCaptureFixture, stream: str, count: int) -> None:
    summary = [r.getMessage() for r in caplog.records if "Run summary" in r.getMessage()]
    assert len(summary) == 1, summary
    assert f"{count} bad record(s) skipped in {stream}:" in summary[0], summary


# -- <Module>_deleted ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_deleted_entry(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    truth = {int(e["id"]): instant(e["deleted_time"]) for e in org.deleted_records("Leads")}
    assert len(truth) >= 4
    bad = max(truth, key=lambda i: truth[i])  # the newest: skipping it must not move the bookmark
    field = "deleted_time" if kind != "non_numeric_id" else "id"

    messages, failure = _sync(org, catalog, "Leads_deleted", {str(bad): kind}, "fail")
    _assert_one_line(failure, "Leads_deleted", "deleted entry", bad, field)
    assert bad not in _ids(messages, "Leads_deleted")
    assert _bookmark(messages, "Leads_deleted") is None  # a whole pass moves it, none was made
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(org, catalog, "Leads_deleted", {str(bad): kind}, "skip")
    assert failure is None
    assert sorted(_ids(messages, "Leads_deleted")) == sorted(set(truth) - {bad})
    assert _bookmark(messages, "Leads_deleted") == max(t for i, t in truth.items() if i != bad)
    _assert_counted(caplog, "Leads_deleted", 1)
    _assert_bystander_complete(org, messages)


# -- Users -----------------------------------------------------------------------------------------


def _users(org: ZohoEmulator) -> dict[int, dt.datetime]:
    return {
        int(user_id): dt.datetime.fromtimestamp(user["Modified_Time"], dt.UTC)
        for user_id, user in org.org.users.items()
    }


def _newest_other_user(org: ZohoEmulator) -> int:
    truth = _users(org)
    others = [i for i in truth if str(i) != org.api_user_id]
    return max(others, key=lambda i: (truth[i], i))


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_user(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    truth = _users(org)
    bad = _newest_other_user(org)
    field = "Modified_Time" if kind != "non_numeric_id" else "id"

    messages, failure = _sync(org, catalog, "Users", {str(bad): kind}, "fail")
    _assert_one_line(failure, "Users", "user", bad, field)
    assert _ids(messages, "Users") == []  # sorted only once all are read: none went out
    assert _bookmark(messages, "Users") is None
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(org, catalog, "Users", {str(bad): kind}, "skip")
    assert failure is None
    assert sorted(_ids(messages, "Users")) == sorted(set(truth) - {bad})
    assert _bookmark(messages, "Users") == max(t for i, t in truth.items() if i != bad)
    _assert_counted(caplog, "Users", 1)


def test_a_bad_user_exits_non_zero_with_one_line_from_the_cli(
    org: ZohoEmulator, catalog: dict[str, Any], tmp_path: Path
) -> None:
    bad = _newest_other_user(org)
    config = write_json(tmp_path / "config.json", org.tap_config())
    catalog_file = write_json(tmp_path / "catalog.json", select_only(catalog, {"Users"}))
    org.faults.bad_records = {str(bad): "invalid_modified_time"}
    try:
        result = cli(["--config", config, "--catalog", catalog_file])
    finally:
        org.faults.bad_records = {}
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, errors
    assert "stream Users" in errors[0], errors[0]
    assert f"user {bad} has an invalid Modified_Time" in errors[0], errors[0]
    assert "(field Modified_Time)" in errors[0], errors[0]


# -- parent walks: a subform and a junction --------------------------------------------------------


def _parts(org: ZohoEmulator) -> dict[int, tuple[int, dt.datetime]]:
    """Installation_Parts row id -> (parent id, parent Modified_Time)."""
    out = {}
    for parent in org.record_ids("Installations"):
        record = org.get_record("Installations", parent)
        for row in record.get("Installation_Parts") or []:
            out[int(row["id"])] = (int(parent), instant(record["Modified_Time"]))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_parent_of_a_subform(
    org: ZohoEmulator, catalog: dict[str, Any], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    truth = _parts(org)
    parents = dict(truth.values())
    bad = max(parents, key=lambda p: (parents[p], p))  # the last parent the walk reaches
    field = "Modified_Time" if kind != "non_numeric_id" else "id"

    # Five parents a page: the walk sends the rows of the pages before the bad parent's.
    messages, failure = _sync(
        org, catalog, "Installation_Parts", {str(bad): kind}, "fail", page_size=5
    )
    _assert_one_line(failure, "Installation_Parts", "parent Installations record", bad, field)
    sent = _ids(messages, "Installation_Parts")
    assert set(sent) <= {row for row, (parent, _) in truth.items() if parent != bad}
    sent_parents = {truth[row][0] for row in sent}
    # Every row of each parent sent arrived, and the bookmark is at the newest of them.
    assert set(sent) == {row for row, (parent, _) in truth.items() if parent in sent_parents}
    if sent_parents:
        assert _bookmark(messages, "Installation_Parts") == max(parents[p] for p in sent_parents)
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(
        org, catalog, "Installation_Parts", {str(bad): kind}, "skip", page_size=5
    )
    assert failure is None
    rows = _ids(messages, "Installation_Parts")
    assert sorted(rows) == sorted(row for row, (parent, _) in truth.items() if parent != bad)
    newest_good = max(t for p, t in parents.items() if p != bad)
    assert _bookmark(messages, "Installation_Parts") == newest_good
    _assert_counted(caplog, "Installation_Parts", 1)


def test_a_bad_parent_of_a_junction(
    org: ZohoEmulator, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    deals = {
        int(i): instant(org.get_record("Deals", i)["Modified_Time"])
        for i in org.record_ids("Deals")
    }
    bad = max(deals, key=lambda d: (deals[d], d))
    messages, failure = _sync(
        org, catalog, "Deals_Contact_Roles", {str(bad): "missing_modified_time"}, "fail"
    )
    _assert_one_line(failure, "Deals_Contact_Roles", "parent Deals record", bad, "Modified_Time")
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(
        org, catalog, "Deals_Contact_Roles", {str(bad): "missing_modified_time"}, "skip"
    )
    assert failure is None
    sent = sorted(
        (m["record"]["_parent_id"], m["record"]["Contact_Id"])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "Deals_Contact_Roles"
    )
    truth = sorted(
        (deal, int(contact))
        for deal in deals
        if deal != bad
        for contact in org.contact_roles(str(deal))
    )
    assert sent == truth
    assert org.contact_roles(str(bad))  # the skipped parent had rows: they are left out
    _assert_counted(caplog, "Deals_Contact_Roles", 1)


def test_a_junction_row_without_a_usable_member_id(
    org: ZohoEmulator, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    truth = sorted(
        (int(deal), int(contact))
        for deal in org.record_ids("Deals")
        for contact in org.contact_roles(deal)
    )
    contact = truth[len(truth) // 2][1]
    bad = {str(contact): "non_numeric_id"}
    messages, failure = _sync(org, catalog, "Deals_Contact_Roles", bad, "fail")
    assert failure is not None
    line = str(failure)
    assert "stream Deals_Contact_Roles" in line, line
    # Which of the contact's deals is met first is not fixed: the parent is named, whichever.
    assert "the Contacts row of Deals record " in line, line
    assert f"has a non-numeric id 'x{contact}' (field id)" in line, line
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(org, catalog, "Deals_Contact_Roles", bad, "skip")
    assert failure is None
    sent = sorted(
        (m["record"]["_parent_id"], m["record"]["Contact_Id"])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "Deals_Contact_Roles"
    )
    assert sent == [pair for pair in truth if pair[1] != contact]
    in_deals = sum(1 for pair in truth if pair[1] == contact)
    _assert_counted(caplog, "Deals_Contact_Roles", in_deals)


# -- subform rows without a usable id --------------------------------------------------------------


def test_a_subform_row_without_a_usable_id(
    org: ZohoEmulator, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    truth = _parts(org)
    bad = sorted(truth)[len(truth) // 2]

    messages, failure = _sync(
        org, catalog, "Installation_Parts", {str(bad): "non_numeric_id"}, "fail"
    )
    _assert_one_line(failure, "Installation_Parts", "row", bad, "id")
    assert _ids(messages, "Installation_Parts") == []  # one page of parents: nothing sent
    assert _bookmark(messages, "Installation_Parts") is None
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(
        org, catalog, "Installation_Parts", {str(bad): "non_numeric_id"}, "skip"
    )
    assert failure is None
    assert sorted(_ids(messages, "Installation_Parts")) == sorted(set(truth) - {bad})
    _assert_counted(caplog, "Installation_Parts", 1)


# -- the ids= rows that complete a record of more than 50 fields -----------------------------------


def test_an_ids_row_without_a_usable_id_in_a_field_chunk_merge(
    org: ZohoEmulator, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    assert len(org.fields("Installations")) > 50  # read in two field chunks, merged by id
    truth = sorted(int(i) for i in org.record_ids("Installations"))
    bad = truth[len(truth) // 2]
    org.faults.bad_records_param = "ids"  # only the ids= answers carry the bad row
    try:
        messages, failure = _sync(
            org, catalog, "Installations", {str(bad): "non_numeric_id"}, "fail"
        )
        _assert_one_line(failure, "Installations", "record", bad, "id")
        assert _ids(messages, "Installations") == []  # one page: nothing of it went out
        assert _bookmark(messages, "Installations") is None
        _assert_bystander_complete(org, messages)

        caplog.set_level(logging.WARNING)
        messages, failure = _sync(
            org, catalog, "Installations", {str(bad): "non_numeric_id"}, "skip"
        )
    finally:
        org.faults.bad_records_param = None
    assert failure is None
    # The walk's own row was good: the record still arrives, with the fields it had.
    assert sorted(_ids(messages, "Installations")) == truth
    _assert_counted(caplog, "Installations", 1)


# -- attachments: a bad parent, a bad attachment row -----------------------------------------------


def test_bad_parents_and_rows_of_attachments(
    org: ZohoEmulator, catalog: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    truth = {int(a["id"]) for m in org.attachment_modules() for a in org.attachments(m)}
    parent = int(org.attachments("Leads")[0]["Parent_Id"])
    messages, failure = _sync(
        org, catalog, "Attachments", {str(parent): "null_modified_time"}, "fail"
    )
    _assert_one_line(failure, "Attachments", "parent Leads record", parent, "Modified_Time")
    assert _bookmark(messages, "Attachments") is None  # moved only after a whole pass
    _assert_bystander_complete(org, messages)

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(
        org, catalog, "Attachments", {str(parent): "null_modified_time"}, "skip"
    )
    assert failure is None
    of_parent = {int(a["id"]) for a in org.attachments("Leads") if int(a["Parent_Id"]) == parent}
    assert sorted(_ids(messages, "Attachments")) == sorted(truth - of_parent)
    _assert_counted(caplog, "Attachments", 1)
    caplog.clear()

    bad = sorted(truth)[len(truth) // 2]
    messages, failure = _sync(
        org, catalog, "Attachments", {str(bad): "invalid_modified_time"}, "fail"
    )
    _assert_one_line(failure, "Attachments", "attachment", bad, "Modified_Time")

    caplog.set_level(logging.WARNING)
    messages, failure = _sync(org, catalog, "Attachments", {str(bad): "non_numeric_id"}, "skip")
    assert failure is None
    assert sorted(_ids(messages, "Attachments")) == sorted(truth - {bad})
    _assert_counted(caplog, "Attachments", 1)


# -- a tie block read by id (COQL lists the ids, ids= reads the records) ---------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_record_in_a_tie_block_read_by_id(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with ZohoEmulator(profile="minimal", seed=7, size={"Leads": 60}) as zoho:
        ids = sorted(zoho.record_ids("Leads"))
        zoho.update_records("Leads", ids[10:40])  # one shared Modified_Time: a 3-page block
        zoho.faults.unstable_tie_order = True  # page tokens cannot prove it read: COQL + ids=
        bad = ids[25]
        catalog = discover(zoho.tap_config())
        caplog.set_level(logging.INFO)
        messages, failure = _sync(zoho, catalog, "Leads", {bad: kind}, "skip", page_size=10)
        assert failure is None
        assert sorted(_ids(messages, "Leads")) == sorted(int(i) for i in ids if i != bad)
        assert "reading by id" in caplog.text  # the block was read through the tie reader
        _assert_counted(caplog, "Leads", 1)  # met on every walk of the block, counted once
