"""Derived streams under both readings of If-Modified-Since, and under an unstable tie order.

Zoho does not document whether If-Modified-Since is inclusive, nor how records sharing one
second are ordered (spec section 15). Subforms and attachments walk their parents by
Modified_Time and ask related lists with If-Modified-Since; deleted lists are asked with it too.
Each test checks the output id by id against the emulator's own records.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.tap.tap_helpers import discover, run_sync, select_only
from tests.tap_extras.extras_helpers import check_deleted_rows, deleted_truth
from tests.tap_extras.test_extras_notes_attachments import attachment_truth
from tests.tap_extras.test_extras_subforms import check_rows


@pytest.fixture(
    params=[(False, False), (True, False), (False, True), (True, True)],
    ids=["ims-inclusive", "ims-exclusive", "ims-inclusive-unstable", "ims-exclusive-unstable"],
)
def org(request: pytest.FixtureRequest) -> Iterator[ZohoEmulator]:
    exclusive, unstable = request.param
    with ZohoEmulator(profile="minimal", seed=9, size={"Quotes": 700}) as zoho:
        zoho.faults.if_modified_since_exclusive = exclusive
        zoho.faults.unstable_tie_order = unstable
        zoho.faults.fault_seed = 4
        yield zoho


def test_subform_rows_of_parents_changed_in_one_dense_second(org):
    config = org.tap_config(include_subforms=True)
    catalog = select_only(discover(config), {"Quoted_Items"})
    first = run_sync(config, catalog=catalog)
    check_rows(org, "Quoted_Items", first.records["Quoted_Items"])
    changed = sorted(org.record_ids("Quotes"))[:450]  # more than two pages in one second
    org.clock.advance(60)
    org.update_records("Quotes", changed)
    org.clock.advance(60)
    second = run_sync(config, catalog=catalog, state=first.final_state)
    check_rows(org, "Quoted_Items", second.records["Quoted_Items"], parents=changed)
    third = run_sync(config, catalog=catalog, state=second.final_state)
    assert not third.records.get("Quoted_Items")


def test_deletions_around_the_bookmark(org):
    config = org.tap_config()
    catalog = select_only(discover(config), {"Contacts_deleted"})
    ids = sorted(org.record_ids("Contacts"))
    org.delete_record("Contacts", ids[0])
    first = run_sync(config, catalog=catalog)
    # Same second as the first sync's bookmark, then later ones.
    org.delete_record("Contacts", ids[1])
    org.clock.advance(3)
    org.delete_record("Contacts", ids[2], permanent=True)
    org.delete_record("Contacts", ids[3])
    second = run_sync(config, catalog=catalog, state=first.final_state)
    rows = second.records["Contacts_deleted"]
    assert sorted(r["id"] for r in rows) == sorted(int(i) for i in ids[1:4])
    truth = deleted_truth(org, "Contacts")
    assert check_deleted_rows(rows) == {int(i): truth[int(i)] for i in ids[1:4]}


def test_new_attachments_are_appended(org):
    config = org.tap_config(include_attachments=True)
    catalog = select_only(discover(config), {"Attachments"})
    first = run_sync(config, catalog=catalog)
    modules = org.attachment_modules()
    assert {r["id"] for r in first.records["Attachments"]} == set(attachment_truth(org, modules))
    org.clock.advance(600)
    module = modules[0]
    parents = sorted(org.record_ids(module))[:2]
    added = {
        int(org.add_attachment(module, parent, f"contract_{parent}.pdf")) for parent in parents
    }
    second = run_sync(config, catalog=catalog, state=first.final_state)
    rows = second.records["Attachments"]
    assert {r["id"] for r in rows} == added
    truth = attachment_truth(org, modules)
    for row in rows:
        assert row["File_Name"] == truth[row["id"]]["File_Name"]
        assert row["_parent_id"] == int(truth[row["id"]]["Parent_Id"])
