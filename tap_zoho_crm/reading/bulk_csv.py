"""PURE: a Bulk Read CSV row -> the record Get Records would have given, by field metadata.

Bulk Read writes every value as text (spec section 10): ids as digits, lookups as the id alone,
booleans and numbers as text, multi-select picklists ``;``-joined, an empty value as an empty
cell. Two encodings are not documented (section 15, point 12), so every plausible reading is
read: booleans (``true``/``false`` in any case, ``1``/``0``: `boolean_cell`, for boolean
properties only) and multi-select picklists (``;``- or ``,``-joined, or a JSON array text:
`MultiValueDecoder` splits by the field's picklist; a cell that does not split one way only is
read by id for its record alone, see `RowConverter.scalars`).

Each selected property of a module stream falls in one of four groups (`BulkFields`):

* **scalar** (text, numbers, booleans, dates, datetimes, picklists, multi-select picklists,
  formulas, rollups): converted from the cell by the property's schema type, then through the
  stream's `RecordNormaliser`, the same code the Get Records path runs;
* **reference** (lookup, owner and user lookups, layout, consent, multi-module lookup): the cell
  holds the id, Get Records gives an object (``name``, ``email``...) that depends on the id
  alone. A lookup or consent lookup whose target module's display field is known is also
  exported as the dot path ``Lookup.Display_Field`` (section 10): its object is ``{name, id}``
  from the two cells (`BulkFields.paths`). Any other (or one whose dot-path column the result
  lacks) comes from one record that carries it (`ReferenceBook`);
* **name list** (``Tag``, territories): the cell holds ``;``-joined names, Get Records gives
  objects that depend on the name alone; likewise from one record that carries each name;
* **completed** (file and image uploads, reminders, line taxes, ALARM, RRULE, ...): the CSV
  cannot carry them faithfully; they are not exported, but read by id (``ids=``) for every
  record, as the Get Records path reads a second field chunk.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from tap_zoho_crm.paging import RICH_TEXT_LIST_LIMIT
from tap_zoho_crm.schema import (
    DATA_TYPE,
    JSON_TYPE,
    LOOKUP_MODULE,
    LOOKUP_TYPES,
    PICK_LIST_VALUES,
    TEXTAREA_TYPE,
)

#: Rich-text values can be 50,000 characters; the csv module's default cap is 131,072.
csv.field_size_limit(min(sys.maxsize, 1 << 30))

#: Data types whose Get Records value is an array of objects each determined by its name.
NAME_LIST_TYPES = frozenset({"territories"})
#: Reference data types that point at one record of one module (``lookup.module``): Get
#: Records shows ``{name, id}``, ``name`` being the target's display field.
DOT_PATH_TYPES = frozenset({"lookup", "consent_lookup"})
MULTI_VALUE_SEPARATOR = ";"
_INTEGER_TEXT = re.compile(r"^-?\d+$")

Convert = Callable[[str], Any]


def _types(prop: Mapping[str, Any]) -> set[str]:
    raw = prop.get("type", [])
    return ({raw} if isinstance(raw, str) else set(raw)) - {"null"}


def _is_name_list(prop: Mapping[str, Any]) -> bool:
    data_type = prop.get(DATA_TYPE)
    return data_type in NAME_LIST_TYPES or (
        data_type == "text" and prop.get(JSON_TYPE) == "jsonarray"  # the Tag field
    )


@dataclass(frozen=True)
class BulkFields:
    """The selected properties of a module stream, by how a Bulk Read load gets them."""

    scalars: tuple[str, ...]
    references: tuple[str, ...]
    name_lists: tuple[str, ...]
    completed: tuple[str, ...]
    #: Reference -> the dot path exported for its ``name`` and the column names a result may
    #: give it (Zoho does not say how a dot-path column is named: as asked, or by the target
    #: module).
    paths: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    #: The modules the references a dot path can name point at (their display fields).
    targets: tuple[str, ...] = ()

    @staticmethod
    def path_targets(schema: Mapping[str, Any], references: Sequence[str]) -> dict[str, str]:
        """Reference -> the module it points at, for the references a dot path can name."""
        props = schema.get("properties", {})
        out: dict[str, str] = {}
        for name in references:
            prop = props.get(name, {})
            target = prop.get(LOOKUP_MODULE)
            if prop.get(DATA_TYPE) in DOT_PATH_TYPES and isinstance(target, str) and target:
                out[name] = target
        return out

    def with_paths(
        self, schema: Mapping[str, Any], display_fields: Mapping[str, str | None]
    ) -> BulkFields:
        """These fields, with a dot path for each reference whose target's display field is known.

        ``display_fields``: module -> its display field, None when unknown.
        """
        paths = []
        for name, target in self.path_targets(schema, self.references).items():
            display = display_fields.get(target)
            if display:
                paths.append(
                    (name, f"{name}.{display}", (f"{name}.{display}", f"{target}.{display}"))
                )
        return BulkFields(
            self.scalars,
            self.references,
            self.name_lists,
            self.completed,
            tuple(paths),
            self.targets,
        )

    @classmethod
    def plan(cls, schema: Mapping[str, Any], selected: Sequence[str]) -> BulkFields:
        """Sort ``selected`` (property names of ``schema``) into the four groups."""
        props = schema.get("properties", {})
        scalars: list[str] = []
        references: list[str] = []
        name_lists: list[str] = []
        completed: list[str] = []
        for name in dict.fromkeys(selected):
            prop = props.get(name, {})
            types = _types(prop)
            if name == "id":
                continue
            if prop.get(DATA_TYPE) in LOOKUP_TYPES:
                references.append(name)
            elif _is_name_list(prop):
                name_lists.append(name)
            elif types & {"object"} or (
                "array" in types and prop.get("items", {}).get("type") != ["string"]
            ):
                completed.append(name)
            else:
                scalars.append(name)
        targets = tuple(sorted(set(cls.path_targets(schema, references).values())))
        return cls(
            tuple(scalars), tuple(references), tuple(name_lists), tuple(completed), (), targets
        )

    @property
    def exported(self) -> list[str]:
        """The fields a job asks for (``id`` always comes)."""
        paths = [path for _name, path, _columns in self.paths]
        return ["id", *self.scalars, *self.references, *paths, *self.name_lists]


def _number(text: str) -> Any:
    """What JSON parsing of the same digits gives: an int for a whole number, else a float."""
    if _INTEGER_TEXT.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _integer(text: str) -> Any:
    return int(text) if _INTEGER_TEXT.match(text) else _number(text)


#: A boolean cell under every reading seen or plausible (Zoho does not document it).
BOOLEAN_TEXTS = {"true": True, "false": False, "1": True, "0": False}


def boolean_cell(text: str) -> Any:
    """``true``/``false`` in any case, or ``1``/``0``; anything else stays text (screened).

    Only a boolean property's cells come here, so a number's ``1`` is never read as True.
    """
    return BOOLEAN_TEXTS.get(text.lower(), text)


def _multi(text: str) -> list[str]:
    """A tag or territory cell: ``;``-joined names."""
    return text.split(MULTI_VALUE_SEPARATOR) if text else []


#: Separators a multi-select picklist's values may be joined with in a Bulk Read cell.
MULTI_VALUE_SEPARATORS = (";", ",")
#: Distinct cells of one field whose decoding is kept (values repeat: a few combinations).
DECODED_CACHE = 4096


class MultiValueDecoder:
    """A multi-select picklist's Bulk Read cell -> its values, or None when not unambiguous.

    Zoho does not document the encoding (``;``- or ``,``-joined, or a JSON array text), and a
    value may itself hold ``;`` or ``,``. Every reading is tried: a JSON array of strings, and
    each separator, splitting only between known values (``pick_list_values``) when the field's
    values are known, else only where the cell holds no separator at all. The cell is decoded
    when every reading that fits gives the same values; otherwise (two fit, or none, e.g. a
    value no longer in the picklist) the caller reads the field by id.
    """

    def __init__(self, known: Sequence[str]) -> None:
        self._known = frozenset(known)
        self._cache: dict[str, list[str] | None] = {}

    def __call__(self, text: str) -> list[str] | None:
        """The values of one cell (a fresh list), or None: read the field by id."""
        if text in self._cache:
            decoded = self._cache[text]
        else:
            decoded = self._decode(text)
            if len(self._cache) < DECODED_CACHE:
                self._cache[text] = decoded
        return None if decoded is None else list(decoded)

    def _decode(self, text: str) -> list[str] | None:
        if not text or text == "[]":
            return []
        readings: list[list[str]] = []
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            strings = isinstance(parsed, list) and all(isinstance(v, str) for v in parsed)
            if strings and (not self._known or all(v in self._known for v in parsed)):
                readings.append(parsed)
        for separator in MULTI_VALUE_SEPARATORS:
            readings.extend(self._splits(text, separator))
        distinct = {tuple(reading) for reading in readings}
        return list(distinct.pop()) if len(distinct) == 1 else None

    def _splits(self, text: str, separator: str) -> list[list[str]]:
        """The ways ``text`` is known values joined by ``separator`` (at most two: ambiguous)."""
        if not self._known:
            return [[text]] if not any(s in text for s in MULTI_VALUE_SEPARATORS) else []
        if separator not in text:
            return [[text]] if text in self._known else []
        found: list[list[str]] = []

        def walk(start: int, values: list[str]) -> None:
            if len(found) > 1:
                return
            end = text.find(separator, start)
            while True:
                piece = text[start:] if end < 0 else text[start:end]
                if piece in self._known:
                    if end < 0:
                        found.append([*values, piece])
                    else:
                        walk(end + 1, [*values, piece])
                if end < 0 or len(found) > 1:
                    return
                end = text.find(separator, end + 1)

        walk(0, [])
        return found


def scalar_converter(prop: Mapping[str, Any], *, truncate_rich_text: bool) -> Convert:
    """The function one CSV cell of a scalar property goes through (empty: see `convert_row`)."""
    types = _types(prop)
    if "array" in types:
        known = prop.get(PICK_LIST_VALUES)
        return MultiValueDecoder([str(v) for v in known] if isinstance(known, list) else [])
    if "integer" in types:
        return _integer
    if "number" in types:
        return _number
    if "boolean" in types:
        return boolean_cell
    if truncate_rich_text and prop.get(TEXTAREA_TYPE) == "rich_text":
        return lambda text: text[:RICH_TEXT_LIST_LIMIT]
    return str


@dataclass
class ReferenceBook:
    """Objects of reference and name-list fields, keyed by (field, id text or name).

    Filled from records that carry them (`needs` picks one record per missing key), so that a
    value the CSV gives as an id or a name becomes the object Get Records gives. Keys are the
    CSV's own text (ids are digits without leading zeros), so a row's cells are looked up as
    they are.
    """

    references: tuple[str, ...]
    name_lists: tuple[str, ...]
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _wanted: set[tuple[str, str]] = field(default_factory=set)
    missing: int = 0

    def keys_of(self, cells: Mapping[str, str]) -> Iterator[tuple[str, str]]:
        """The (field, key) pairs one CSV row refers to."""
        for name in self.references:
            text = cells.get(name, "")
            if text:
                yield name, text
        for name in self.name_lists:
            for item in _multi(cells.get(name, "")):
                yield name, item

    def needs(self, cells: Mapping[str, str]) -> bool:
        """Whether this row's record must be read to learn a key no chosen record carries."""
        wanted, objects = self._wanted, self.objects
        new = False
        for key in self.keys_of(cells):
            if key not in wanted and key not in objects:
                wanted.add(key)
                new = True
        return new

    def learn(self, record: Mapping[str, Any]) -> None:
        """Keep the objects of one record read by id (normalised, as Get Records emits)."""
        for name in self.references:
            value = record.get(name)
            if isinstance(value, dict) and value.get("id") is not None:
                self.objects.setdefault((name, str(value["id"])), value)
        for name in self.name_lists:
            items = record.get(name)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("name") is not None:
                    self.objects.setdefault((name, item["name"]), item)

    def reference(self, name: str, text: str) -> dict[str, Any] | None:
        """The object of a reference cell (a copy); an id no record carried keeps a bare id."""
        if not text:
            return None
        found = self.objects.get((name, text))
        if found is None:
            self.missing += 1
            return {"id": _integer(text), "name": None}
        return dict(found)

    def name_list(self, name: str, text: str) -> list[Any]:
        """The objects of a name-list cell (copies); a name no record carried keeps its name."""
        out: list[Any] = []
        for item in _multi(text):
            found = self.objects.get((name, item))
            if found is None:
                self.missing += 1
                out.append({"name": item})
            else:
                out.append(dict(found))
        return out


class RowConverter:
    """One CSV header's columns -> raw Get Records-like records of one stream."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        fields: BulkFields,
        header: Sequence[str],
        *,
        truncate_rich_text: bool,
    ) -> None:
        props = schema.get("properties", {})
        index = {name: i for i, name in enumerate(header)}
        if "id" not in index:
            raise ValueError("the Bulk Read CSV has no id column")
        self.id_index = index["id"]
        self._scalars = [
            (
                name,
                index[name],
                scalar_converter(props[name], truncate_rich_text=truncate_rich_text),
            )
            for name in fields.scalars
            if name in index
        ]
        self._multi = {name for name in fields.scalars if "array" in _types(props.get(name, {}))}
        #: (reference, its id column, its dot-path column) for each dot path the header holds
        #: once under one of its possible names (twice would be ambiguous: read by id then).
        self._paths: list[tuple[str, int, int]] = []
        counts = Counter(header)
        for name, _path, columns in fields.paths:
            found = [column for column in columns if counts[column] == 1]
            if name in index and found:
                self._paths.append((name, index[name], index[found[0]]))
        #: The references whose objects come from the dot paths; the others from a book.
        self.named = frozenset(name for name, _i, _j in self._paths)
        self._references = [
            (name, index[name])
            for name in fields.references
            if name in index and name not in self.named
        ]
        self._name_lists = [(name, index[name]) for name in fields.name_lists if name in index]
        self.absent = [
            name
            for name in (*fields.scalars, *fields.references, *fields.name_lists)
            if name not in index
        ]
        self._index = index

    def cells(self, row: Sequence[str]) -> dict[str, str]:
        """The row's reference and name-list cells, by field (for `ReferenceBook.needs`)."""
        return {name: row[i] for name, i in (*self._references, *self._name_lists)}

    def scalars(self, row: Sequence[str], undecided: list[str] | None = None) -> dict[str, Any]:
        """The row's id, scalar values and dot-path lookups as Get Records' JSON holds them.

        A multi-select picklist cell that cannot be split one way only is left None and its
        field named in ``undecided``: the caller reads it by id.
        """
        out: dict[str, Any] = {"id": row[self.id_index]}
        multi = self._multi
        for name, i, convert in self._scalars:
            text = row[i]
            if name in multi:
                value = convert(text)
                if value is None and undecided is not None:
                    undecided.append(name)
                out[name] = value
            else:
                out[name] = convert(text) if text else None
        for name, i, j in self._paths:
            record_id = row[i]
            # No lookup: null, whatever the dot-path cell says (its encoding is not documented).
            out[name] = {"name": row[j] or None, "id": record_id} if record_id else None
        return out

    def objects(self, row: Sequence[str], book: ReferenceBook) -> dict[str, Any]:
        """The row's reference and name-list values, as the stream emits them."""
        out: dict[str, Any] = {}
        for name, i in self._references:
            out[name] = book.reference(name, row[i])
        for name, i in self._name_lists:
            out[name] = book.name_list(name, row[i])
        return out


def csv_rows(archive: IO[bytes]) -> Iterator[list[str]]:
    """The rows of the one CSV inside a Bulk Read ZIP, header first, read as a stream."""
    with zipfile.ZipFile(archive) as zipped:
        names = [name for name in zipped.namelist() if name.lower().endswith(".csv")]
        if len(names) != 1:
            raise ValueError(f"the Bulk Read result holds {len(names)} CSV files, not one")
        with zipped.open(names[0]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            yield from csv.reader(text)
