"""The Bulk Read CSV cells of multi-select picklists and booleans, under every reading Zoho's
undocumented encoding may have (section 15, point 12): never a wrong value.

Pure functions of reading/bulk_csv.py; the cells are written here the way each reading
writes them (joined by a separator, or a JSON array), independently of the emulator.
"""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from tap_zoho_crm.reading.bulk_csv import MultiValueDecoder, boolean_cell, scalar_converter
from tap_zoho_crm.schema import field_property

ENCODINGS = {
    "semicolon": ";".join,
    "comma": ",".join,
    "json": json.dumps,
}
AWKWARD = ("North,East", "North", "East", "West;Coast", "West", "Coast", 'Say "hi"', "[x]")
PLAIN = ("Email", "Phone", "SMS", "WhatsApp", "In person")


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("known", [AWKWARD, PLAIN])
def test_a_cell_decodes_to_its_values_or_to_a_read_by_id_never_to_others(
    known: tuple[str, ...], encoding: str
) -> None:
    decode = MultiValueDecoder(known)
    undecided = 0
    for size in range(4):
        for values in combinations(known, size):
            got = decode(ENCODINGS[encoding](list(values)))
            assert got in (list(values), None), (values, got)
            undecided += got is None
    if known == PLAIN or encoding == "json":
        assert undecided == 0  # no value holds a separator, or quoted: always decoded
    else:
        assert undecided > 0  # `North,East` is also `North` and `East` joined


def test_a_value_not_in_the_picklist_or_an_unknown_picklist_is_read_by_id_when_unsure() -> None:
    assert MultiValueDecoder(PLAIN)("Retired") is None
    assert MultiValueDecoder(PLAIN)(json.dumps(["Retired"])) is None
    unknown = MultiValueDecoder([])
    assert unknown("Only") == ["Only"]
    assert unknown("A;B") is None
    assert unknown("") == unknown("[]") == []


def test_the_picklist_comes_from_the_field_metadata() -> None:
    prop = field_property(
        {
            "api_name": "Regions",
            "data_type": "multiselectpicklist",
            "json_type": "jsonarray",
            "pick_list_values": [
                {"display_value": "East", "actual_value": "IN_East"},
                {"display_value": "North,East", "actual_value": "North,East"},
            ],
        }
    )
    convert = scalar_converter(prop, truncate_rich_text=False)
    assert convert("IN_East;North,East") == ["IN_East", "North,East"]
    assert convert("East") == ["East"]


@pytest.mark.parametrize(("true", "false"), [("true", "false"), ("TRUE", "FALSE"), ("1", "0")])
def test_boolean_cells_under_each_reading(true: str, false: str) -> None:
    assert boolean_cell(true) is True
    assert boolean_cell(false) is False
    assert boolean_cell("yes") == "yes"  # left as text: the record screening rejects it


def test_a_number_property_keeps_its_one_and_zero() -> None:
    number = scalar_converter(field_property({"data_type": "integer"}), truncate_rich_text=False)
    assert number("1") == 1
    assert number("1") is not True
