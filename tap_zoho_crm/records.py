"""PURE: a Zoho record -> a Singer record (UTC datetimes, integer ids, no ``$`` keys).

Zoho writes datetimes in the API user's time zone, whose offset changes with DST inside one
result set, so values are parsed to instants and re-emitted as ``YYYY-MM-DDTHH:MM:SS+00:00``.
Ids are digit strings; the seed maps them to Long, so they become integers, including the ids
inside lookups and nested rows.

The rules, whatever the stream:

* top level: a datetime property's value goes through `to_utc`, an id property's through
  `to_int_id`; an object or array value of any other property is normalised as nested data;
  keys the schema does not list (``$`` flags included) are dropped, unless the schema allows
  additional properties (then only ``$`` keys are);
* nested data (`normalise_nested`): an ``id`` key's value goes through `to_int_id`, any other
  scalar value of an object through `to_utc`; scalars directly inside arrays stay as they are;
* a value of a boolean-only property that is a number becomes ``value != 0`` (what the SDK's
  type conformance did before the tap took it over; see streams/base.py).

`RecordNormaliser` applies them with converters compiled once per stream from its schema, the
per-record path of every sync: one dict lookup per key, datetimes through `utc_text` (a cached
offset and C-level parsing instead of a regex and ``strftime``; a value met again from a bounded
cache), lookups and rows through flat loops (`normalise_nested` recurses only into data nested
deeper than Zoho's lookups). A page parsed for one read is normalised in place
(`RecordNormaliser.take`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from tap_zoho_crm.schema import datetime_properties, integer_id_properties

#: A Zoho datetime: seconds precision (fractions tolerated) with a numeric offset or ``Z``.
ZOHO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$")
_DIGITS = re.compile(r"^-?\d+$")
_OFFSET = re.compile(r"^[+-][0-9]{2}:[0-9]{2}$")
UTC_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"
UTC_SUFFIX = "+00:00"

#: Shortest string `ZOHO_DATETIME` can match (``YYYY-MM-DDTHH:MM:SSZ``), and where its ``T`` is.
_MIN_DATETIME_LENGTH = 20
_T_INDEX = 10
#: Length of the common shape, ``YYYY-MM-DDTHH:MM:SS+HH:MM``, and where its offset starts.
_OFFSET_SHAPE_LENGTH = 25
_OFFSET_INDEX = 19
#: A key absent from a record or a cache.
_MISSING: Final[Any] = object()

#: Two-digit seconds ``"00"``..``"59"``; local ``"HH:MM"`` -> minute of the day; and back.
_SIXTY = frozenset(f"{i:02d}" for i in range(60))
_MINUTE_OF_DAY = {f"{m // 60:02d}:{m % 60:02d}": m for m in range(1440)}
_CLOCK = tuple(_MINUTE_OF_DAY)
#: Per offset (``"+05:30"``), per local date (``"2024-01-15"``): where that local day starts in
#: UTC, as (its minute of the UTC day, that UTC day's ``YYYY-MM-DD``, the next one's); None when
#: the fast path cannot be used (not an offset; a year the general path writes differently).
_DAYS: dict[str, dict[str, tuple[int, str, str] | None] | None] = {}
#: Bounds of `_DAYS`: offsets kept (a zone has one or two), days kept per offset (a full table
#: is emptied and refilled).
MAX_CACHED_OFFSETS: Final = 64
MAX_CACHED_DAYS: Final = 4096
#: Datetime values and their UTC text, for values met again (bounded, emptied when full).
_UTC_TEXTS: dict[str, str] = {}
MAX_CACHED_TEXTS: Final = 8192
#: Keys outside a schema a normaliser remembers (`RecordNormaliser`): Zoho's ``$`` flags,
#: and an open schema's other extra keys.
MAX_OUTSIDE_KEYS: Final = 64
#: Normalised lookups by their raw id (raw value, result), for the users, layouts and records
#: that many records point at; bounded, emptied when full.
_LOOKUPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
MAX_CACHED_LOOKUPS: Final = 4096


def parse_instant(value: str | dt.datetime) -> dt.datetime:
    """Parse a Zoho (or our UTC) datetime string into an aware UTC datetime.

    A value without an offset is taken as UTC.
    """
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_utc(value: dt.datetime) -> str:
    """The one datetime format the tap emits (and the one ``If-Modified-Since`` gets)."""
    return parse_instant(value).strftime(UTC_FORMAT)


def _to_utc_general(value: str) -> str:
    """`to_utc` for any string: the regex decides, then parse and format."""
    if not ZOHO_DATETIME.match(value):
        return value
    try:
        return format_utc(parse_instant(value))
    except (ValueError, OverflowError):  # not a date, or not one that has a UTC year 1-9999
        return value


def _day_start(day: str, offset: str) -> tuple[int, str, str] | None:
    """`_DAYS`' entry for a local date (``YYYY-MM-DD``) at an offset (``+HH:MM``)."""
    try:
        local = dt.datetime.fromisoformat(f"{day}T00:00:00{offset}")
        start = local.astimezone(dt.UTC).replace(tzinfo=None)
        following = start + dt.timedelta(days=1)
    except (ValueError, OverflowError):
        return None
    if start.year < 1000 or following.year < 1000:  # strftime does not pad such years
        return None
    return start.hour * 60 + start.minute, start.date().isoformat(), following.date().isoformat()


def _days_at(offset: str) -> dict[str, tuple[int, str, str] | None] | None:
    """The day table of an offset, or None if the text is not an ``+HH:MM`` offset."""
    if offset in _DAYS:
        return _DAYS[offset]
    table: dict[str, tuple[int, str, str] | None] | None = None
    if _OFFSET.match(offset):
        try:
            dt.datetime.fromisoformat(f"2000-01-01T00:00:00{offset}")
            table = {}
        except ValueError:
            table = None
    if len(_DAYS) >= MAX_CACHED_OFFSETS:
        _DAYS.clear()
    _DAYS[offset] = table
    return table


def utc_text(value: str) -> str:
    """`to_utc` of a string, fast for Zoho's shape ``YYYY-MM-DDTHH:MM:SS+HH:MM``.

    ``fromisoformat`` runs once per distinct local date and offset (cached, bounded): the UTC
    text of a value is where its local day starts in UTC, moved on by its local time of day
    (as minutes), plus its seconds. ``HH:MM`` and seconds are checked against the clock's
    values, the date by that parse, so the text is the general path's; the general path
    (`ZOHO_DATETIME`, ``fromisoformat``, ``strftime``) handles every other shape (``Z``,
    fractions, ``+HHMM``, anything that is not a datetime).
    """
    if (
        len(value) == _OFFSET_SHAPE_LENGTH
        and value[_T_INDEX] == "T"
        and value[4] == "-"
        and value[7] == "-"
        and value[16] == ":"
    ):
        offset = value[_OFFSET_INDEX:]
        days = _DAYS.get(offset, _MISSING)
        if days is _MISSING:
            days = _days_at(offset)
        minute = _MINUTE_OF_DAY.get(value[11:16])
        if days is not None and minute is not None and value[17:19] in _SIXTY:
            day = value[:10]
            start = days.get(day, _MISSING)
            if start is _MISSING:
                if len(days) >= MAX_CACHED_DAYS:
                    days.clear()
                start = days[day] = _day_start(day, offset)
            if start is not None:
                first_minute, this_day, next_day = start  # type: ignore[misc]
                total = first_minute + minute
                if total < 1440:
                    return f"{this_day}T{_CLOCK[total]}{value[16:19]}{UTC_SUFFIX}"
                return f"{next_day}T{_CLOCK[total - 1440]}{value[16:19]}{UTC_SUFFIX}"
    return _to_utc_general(value)


def to_utc(value: Any) -> Any:
    """Normalise a datetime string to UTC; anything else is returned unchanged."""
    if not isinstance(value, str):
        return value
    return utc_text(value)


def _nested_scalar(value: Any) -> Any:
    """`to_utc`, rejecting at once the strings too short or T-less to be a datetime."""
    if isinstance(value, str) and len(value) >= _MIN_DATETIME_LENGTH and value[_T_INDEX] == "T":
        return utc_text(value)
    return value


def to_int_id(value: Any) -> Any:
    """A digit-string id as an int; other values unchanged."""
    if isinstance(value, str):
        if value.isdecimal():
            return int(value)
        if _DIGITS.match(value):
            return int(value)
    return value


def _nested_object(value: dict[str, Any]) -> dict[str, Any]:
    """A lookup or a row: copied, then only what changes is set (ids, datetimes, containers).

    One flat pass; only data nested deeper than a lookup or a row recurses.
    """
    out = dict(value)
    for key, item in value.items():
        if item.__class__ is str:
            if key == "id":
                out[key] = int(item) if item.isdecimal() else to_int_id(item)
            elif len(item) >= _MIN_DATETIME_LENGTH and item[_T_INDEX] == "T":
                out[key] = utc_text(item)
        elif key == "id":
            continue  # an id that is not a string stays as it is
        elif isinstance(item, dict):
            out[key] = _nested_object(item)
        elif isinstance(item, list):
            out[key] = _nested_array(item)
        elif isinstance(item, str):
            out[key] = _nested_scalar(item)
    return out


def _lookup(value: dict[str, Any]) -> dict[str, Any]:
    """A top-level object (mostly a lookup): `_nested_object`, cached by raw id when flat.

    A hit needs the raw value equal to the cached one, and returns a copy, so no two records
    share a dict.
    """
    key = value.get("id")
    if key.__class__ is not str:
        return _nested_object(value)
    hit = _LOOKUPS.get(key)
    if hit is not None and hit[0] == value:
        return dict(hit[1])
    out = _nested_object(value)
    if all(item.__class__ is not dict and item.__class__ is not list for item in out.values()):
        if len(_LOOKUPS) >= MAX_CACHED_LOOKUPS:
            _LOOKUPS.clear()
        _LOOKUPS[key] = (dict(value), dict(out))
    return out


def _nested_array(value: list[Any]) -> list[Any]:
    """Rows, tags, picklist values: objects normalised, scalars kept as they are."""
    return [
        _nested_object(item)
        if isinstance(item, dict)
        else _nested_array(item)
        if isinstance(item, list)
        else item
        for item in value
    ]


def normalise_nested(value: Any) -> Any:
    """Normalise lookups, tags, file rows...: ``id`` keys to int, datetimes to UTC."""
    if isinstance(value, list):
        return _nested_array(value)
    if isinstance(value, dict):
        return _nested_object(value)
    return value


def _as_boolean(value: Any) -> Any:
    """A boolean-only property: numbers become ``value != 0`` (the SDK's conformance rule)."""
    if value is True or value is False or not isinstance(value, int | float):
        return normalise_nested(value)
    return value != 0


#: A property whose value is kept (objects and arrays still normalised as nested data).
_KEEP: Final[Callable[[Any], Any]] = normalise_nested

#: The JSON types whose values are never normalised: a property of only these is copied.
_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean", "null"})


def _types(prop: Mapping[str, Any]) -> set[str]:
    raw = prop.get("type", [])
    return {raw} if isinstance(raw, str) else set(raw)


def compile_converters(schema: Mapping[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """Property name -> the function its (non-null) values go through, from the schema."""
    datetimes = datetime_properties(schema)
    ids = integer_id_properties(schema)
    converters: dict[str, Callable[[Any], Any]] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in datetimes:
            converters[name] = to_utc
        elif name in ids:
            converters[name] = to_int_id
        elif isinstance(prop, Mapping) and _types(prop) - {"null"} == {"boolean"}:
            converters[name] = _as_boolean
        else:
            converters[name] = _KEEP
    return converters


class RecordNormaliser:
    """Turns raw Zoho records of one stream into Singer records, per that stream's schema.

    Compiled once per stream into groups of properties, each handled by one loop without a
    call per value where the common case allows: plain strings and numbers (most of a module)
    are copied with the record in one C-level copy, then ids, datetimes, booleans and objects
    or arrays (lookups, tags, rows). A value that contradicts its property's type (an object in
    a text field) is copied as it is.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        converters = compile_converters(schema)
        properties = schema.get("properties", {})
        self._plain = frozenset(
            name
            for name, convert in converters.items()
            if convert is _KEEP
            and _types(properties[name])
            and _types(properties[name]) <= _SCALAR_TYPES
        )

        def group(convert: Callable[[Any], Any]) -> tuple[str, ...]:
            return tuple(
                name for name, c in converters.items() if c is convert and name not in self._plain
            )

        self._ids = group(to_int_id)
        self._datetimes = group(to_utc)
        self._booleans = group(_as_boolean)
        self._nested = group(_KEEP)
        self._open = bool(schema.get("additionalProperties"))
        self._known = frozenset(converters)
        #: Keys outside the schema met so far (mostly Zoho's ``$`` flags): dropped by name, so
        #: that a record costs a subset check, not a set difference.
        self._outside: list[str] = []

    def _drop_outside(self, out: dict[str, Any]) -> None:
        """Drop the keys outside the schema not met before, and remember them (bounded)."""
        for key in out.keys() - self._known:
            del out[key]
            if len(self._outside) < MAX_OUTSIDE_KEYS:
                self._outside.append(key)

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Normalise one record; keys the schema does not list are dropped (see module doc)."""
        # A copy in C: cheaper than picking the plain properties one by one.
        return self.take(dict(record))

    def take(self, record: dict[str, Any]) -> dict[str, Any]:
        """Normalise a record its caller gives up: the same dict, changed in place.

        For a page just parsed (streams/modules.py): no copy to make, and no raw record
        left to free, per record. Keys the schema lacks (Zoho's ``$`` keys) are deleted, then
        each group overwrites the values it converts.
        """
        out = record
        extra = self._extra(record) if self._open else None
        for key in self._outside:
            out.pop(key, None)
        if not out.keys() <= self._known:
            self._drop_outside(out)
        get: Callable[[str], Any] = record.get
        # Values a group leaves as they are (null, an int id, a bool) need no step.
        for key in self._ids:
            value = get(key)
            if value.__class__ is str:
                out[key] = int(value) if value.isdecimal() else to_int_id(value)
            elif value is not None and value.__class__ is not int:
                out[key] = to_int_id(value)
        texts = _UTC_TEXTS
        for key in self._datetimes:
            value = get(key)
            if value.__class__ is str:  # any other value is no datetime text: kept as it is
                # A record's Created_Time, Modified_Time and Change_Log_Time__s are often one
                # value: converted once, then a dict lookup.
                text = texts.get(value)
                if text is None:
                    if len(texts) >= MAX_CACHED_TEXTS:
                        texts.clear()
                    text = texts[value] = utc_text(value)
                out[key] = text
        for key in self._booleans:
            value = get(key)
            if value is not None and value is not True and value is not False:
                out[key] = _as_boolean(value)
        for key in self._nested:
            value = get(key)
            kind = value.__class__
            if kind is dict:
                # `_lookup`'s cache hit, inline: most lookups point at a few users and layouts.
                raw_id = value.get("id")
                hit = _LOOKUPS.get(raw_id) if raw_id.__class__ is str else None
                out[key] = hit[1].copy() if hit is not None and hit[0] == value else _lookup(value)
            elif kind is list:
                out[key] = _nested_array(value) if value else []
            # A scalar (or null) stays as it is: `normalise_nested` changes only containers.
        if extra:
            out.update(extra)
        return out

    def _extra(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """An open schema's keys outside its properties (not ``$`` keys), normalised."""
        return {
            key: normalise_nested(record[key])
            for key in record.keys() - self._known
            if not key.startswith("$")
        }
