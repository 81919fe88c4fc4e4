"""A COQL subset: ``select ... from M [where ...] [order by ...] [limit n [offset m]]``.

Of Zoho's aggregate functions, ``count(field)`` alone, as the only column: one row whose key
is the function as written (Zoho documents COUNT() but not the row's key; the tap reads the
row's one value whatever its key).

WHERE supports ``id``, ``Created_Time`` and ``Modified_Time`` (and ``Parent_Id`` on subform
modules) with ``= != < <= > >=``, ``between``, ``in``, ``is [not] null``, joined by ``and`` with
optional brackets. ORDER BY supports the same three fields. Limits follow Zoho: at most 2,000 rows
per call (default 200), LIMIT + OFFSET within 100,000, 50 columns, 25 criteria.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from .errors import ApiError, invalid_data, required_param
from .http import Context, Request, Response
from .metadata import ModuleDef
from .org import Org
from .store import ModuleStore
from .timefmt import parse_datetime

MAX_LIMIT = 2000
DEFAULT_LIMIT = 200
MAX_REACH = 100_000
MAX_COLUMNS = 50
MAX_CRITERIA = 25
WHERE_FIELDS = ("id", "Created_Time", "Modified_Time", "Parent_Id")
ORDER_FIELDS = ("id", "Created_Time", "Modified_Time")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_$][A-Za-z0-9_.$]*))"
)


def cost(req: Request) -> int:
    """Credits: LIMIT 1-200 costs 1, 201-1000 costs 2, 1001-2000 costs 3."""
    try:
        query = str(req.json_body().get("select_query", ""))
    except (ValueError, AttributeError):
        return 1
    found = re.search(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", query, re.IGNORECASE)
    if not found:
        return 1
    limit = int(found.group(2) or found.group(1))
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


def syntax(message: str, near: str = "") -> ApiError:
    return ApiError(400, "SYNTAX_ERROR", message, {"near": near} if near else {})


def invalid_query(message: str, **details: Any) -> ApiError:
    return ApiError(400, "INVALID_QUERY", message, details)


@dataclass
class Condition:
    field: str
    op: str
    values: list[Any]


@dataclass
class Query:
    columns: list[str]
    module: str
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    #: ``count(<field>)`` as written, when the query selects that aggregate.
    count: str | None = None


def tokenize(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None or found.end() == pos:
            if text[pos:].strip() == "":
                break
            raise syntax("unexpected character in the query", text[pos : pos + 10])
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
        pos = found.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def word(self, *expected: str) -> str:
        kind, value = self.peek()
        if kind != "word" or (expected and value.lower() not in expected):
            raise syntax(f"expected {' or '.join(expected) or 'a name'}", value)
        self.i += 1
        return value

    def at(self, *words: str) -> bool:
        kind, value = self.peek()
        return kind == "word" and value.lower() in words

    def punct(self, char: str) -> bool:
        if self.peek() == ("punct", char):
            self.i += 1
            return True
        return False

    def value(self) -> Any:
        kind, value = self.peek()
        self.i += 1
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return value
        if kind == "word" and value.lower() in ("null", "true", "false"):
            return value.lower()
        raise syntax("expected a value", value)

    def parse(self) -> Query:
        self.word("select")
        columns = []
        count = None
        if self.at("count") and self.tokens[self.i + 1 : self.i + 2] == [("punct", "(")]:
            word = self.word()
            self.punct("(")
            column = self.word()
            if not self.punct(")"):
                raise syntax("expected )", self.peek()[1])
            columns.append(column)
            count = f"{word}({column})"
        while count is None:
            if self.punct("*"):
                raise syntax("select * is not supported: name the columns", "*")
            columns.append(self.word())
            if not self.punct(","):
                break
        self.word("from")
        query = Query(columns, self.word(), count=count)
        if self.at("where"):
            self.i += 1
            self.conditions(query)
        if self.at("order"):
            self.i += 1
            self.word("by")
            while True:
                name = self.word()
                descending = False
                if self.at("asc", "desc"):
                    descending = self.word().lower() == "desc"
                if any(name == f for f, _ in query.order):
                    raise ApiError(
                        400, "DUPLICATE_DATA", "duplicate field in order by", {"field": name}
                    )
                query.order.append((name, descending))
                if not self.punct(","):
                    break
        if self.at("limit"):
            self.i += 1
            first = int(self.value())
            if self.punct(","):
                query.offset, query.limit = first, int(self.value())
            else:
                query.limit = first
                if self.at("offset"):
                    self.i += 1
                    query.offset = int(self.value())
        if self.peek()[0] != "end":
            raise syntax("unexpected text at the end of the query", self.peek()[1])
        return query

    def conditions(self, query: Query) -> None:
        depth = 0
        while True:
            while self.punct("("):
                depth += 1
            name = self.word()
            if self.at("is"):
                self.i += 1
                negate = self.at("not")
                if negate:
                    self.i += 1
                self.word("null")
                query.conditions.append(Condition(name, "is not null" if negate else "is null", []))
            elif self.at("between"):
                self.i += 1
                low = self.value()
                self.word("and")
                query.conditions.append(Condition(name, "between", [low, self.value()]))
            elif self.at("in", "not"):
                op = "not in" if self.word().lower() == "not" else "in"
                if op == "not in":
                    self.word("in")
                if not self.punct("("):
                    raise syntax("expected ( after in", self.peek()[1])
                values = [self.value()]
                while self.punct(","):
                    values.append(self.value())
                if not self.punct(")"):
                    raise syntax("expected )", self.peek()[1])
                query.conditions.append(Condition(name, op, values))
            else:
                kind, op = self.peek()
                if kind != "op":
                    raise syntax("expected a comparison operator", op)
                self.i += 1
                query.conditions.append(Condition(name, "!=" if op == "<>" else op, [self.value()]))
            while depth and self.punct(")"):
                depth -= 1
            if self.at("or"):
                raise invalid_query("the emulator's COQL subset supports only 'and'")
            if not self.at("and"):
                break
            self.i += 1
        if depth:
            raise syntax("unbalanced brackets in where", self.peek()[1])


def _coerce(fieldname: str, value: Any) -> int:
    if fieldname in ("Created_Time", "Modified_Time"):
        try:
            return parse_datetime(str(value))
        except ValueError:
            raise invalid_query(f"invalid datetime for {fieldname}", value=str(value)) from None
    text = str(value)
    if not text.isdigit():
        raise invalid_query(f"invalid id value for {fieldname}", value=text)
    return int(text)


class _Check:
    """One WHERE criterion over a row's key values."""

    def __init__(self, cond: Condition) -> None:
        self.name = cond.field
        self.op = cond.op
        self.values = (
            []
            if cond.op in ("is null", "is not null")
            else [_coerce(cond.field, v) for v in cond.values]
        )

    def __call__(self, row: dict[str, int | None]) -> bool:
        value = row.get(self.name)
        op = self.op
        if op == "is null":
            return value is None
        if op == "is not null":
            return value is not None
        if op == "in":
            return value in self.values
        if op == "not in":
            return value not in self.values
        if value is None:
            return False
        if op == "between":
            return self.values[0] <= value <= self.values[1]
        target = self.values[0]
        return {
            "=": value == target,
            "!=": value != target,
            "<": value < target,
            "<=": value <= target,
            ">": value > target,
            ">=": value >= target,
        }[op]


def predicate(conds: list[Condition]) -> Callable[[dict[str, int | None]], bool]:
    checks = [_Check(cond) for cond in conds]
    return lambda row: all(check(row) for check in checks)


def _validate(org: Org, query: Query, user_id: str) -> ModuleDef:
    mdef = org.modules.get(query.module)
    if mdef is None or not (
        org.readable(mdef)
        or (mdef.generated_type == "subform" and mdef.parent_module in org.stores)
    ):
        raise invalid_query("the module name given seems to be invalid", module=query.module)
    if mdef.inventory and not org.inventory:
        raise invalid_query("the module name given seems to be invalid", module=query.module)
    if query.module == "Notes" and not org.is_admin(user_id):
        raise ApiError(403, "NOT_SUPPORTED", "This API is supported only for admin users.", {})
    if len(query.columns) > MAX_COLUMNS:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"at most {MAX_COLUMNS} columns", {"limit": MAX_COLUMNS}
        )
    if len(query.conditions) > MAX_CRITERIA:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"at most {MAX_CRITERIA} criteria", {"limit": MAX_CRITERIA}
        )
    for column in query.columns:
        if mdef.field(column) is None:
            raise invalid_query("invalid column name", column=column)
    for cond in query.conditions:
        if cond.field not in WHERE_FIELDS or mdef.field(cond.field) is None:
            raise invalid_query(
                "the emulator's COQL subset filters only on id, Created_Time, Modified_Time"
                " (and Parent_Id of subform rows)",
                field=cond.field,
            )
    for name, _ in query.order:
        if name not in ORDER_FIELDS:
            raise invalid_query(
                "the emulator's COQL subset orders only by id/Created_Time/Modified_Time",
                field=name,
            )
    if query.limit < 1 or query.limit > MAX_LIMIT:
        raise ApiError(400, "LIMIT_EXCEEDED", f"LIMIT must be 1..{MAX_LIMIT}", {"limit": MAX_LIMIT})
    if query.offset < 0 or query.offset + query.limit > MAX_REACH:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"LIMIT + OFFSET can reach only {MAX_REACH} rows; re-anchor the WHERE clause",
            {"limit": MAX_REACH},
        )
    return mdef


RANGE_OPS = (">", ">=", "<", "<=", "between")


class _RangeRows(Sequence[tuple[dict[str, int], int]]):
    """The rows of a ``Modified_Time`` range, as ``rows_for`` would list them, built on demand.

    A range of the Modified_Time order is two bisections; building a key row for each of 100,000
    records only to count them cost 200 ms per query, under the org lock.
    """

    def __init__(self, store: ModuleStore, lo: int, hi: int, order: str) -> None:
        self._store = store
        self._every = store.modified_order("both")[0]
        self._lo, self._hi = lo, max(lo, hi)
        self._order = order  # asc | desc | id
        self._by_id: list[int] | None = None

    def __len__(self) -> int:
        return self._hi - self._lo

    def _index(self, k: int) -> int:
        if self._order == "asc":
            return self._every[self._lo + k]
        if self._order == "desc":
            return self._every[self._hi - 1 - k]
        if self._by_id is None:
            self._by_id = sorted(self._every[self._lo : self._hi])
        return self._by_id[k]

    def _row(self, k: int) -> tuple[dict[str, int], int]:
        i = self._index(k)
        store = self._store
        return {"id": int(store.record_id(i)), "Modified_Time": store.modified(i)}, i

    @overload
    def __getitem__(self, key: int) -> tuple[dict[str, int], int]: ...

    @overload
    def __getitem__(self, key: slice) -> list[tuple[dict[str, int], int]]: ...

    def __getitem__(
        self, key: int | slice
    ) -> tuple[dict[str, int], int] | list[tuple[dict[str, int], int]]:
        if isinstance(key, slice):
            return [self._row(k) for k in range(*key.indices(len(self)))]
        if key < 0:
            key += len(self)
        if not 0 <= key < len(self):
            raise IndexError(key)
        return self._row(key)

    def __iter__(self) -> Iterator[tuple[dict[str, int], int]]:
        return (self._row(k) for k in range(len(self)))


def _range_rows(
    store: ModuleStore, conds: list[Condition], order: list[tuple[str, bool]]
) -> _RangeRows | None:
    """The rows when every criterion bounds ``Modified_Time`` and the order is a natural one."""
    if not all(c.field == "Modified_Time" and c.op in RANGE_OPS for c in conds):
        return None
    if not order:
        mode = "id"
    elif order[0][0] == "Modified_Time" and order[1:] in ([], [("id", order[0][1])]):
        mode = "desc" if order[0][1] else "asc"
    else:
        return None
    times = store.modified_order("both")[1]
    lo, hi = 0, len(times)
    for cond in conds:
        check = _Check(cond)
        first, last = check.values[0], check.values[-1]
        if cond.op in (">=", "between"):
            lo = max(lo, bisect_left(times, first))
        elif cond.op == ">":
            lo = max(lo, bisect_right(times, first))
        if cond.op in ("<=", "between"):
            hi = min(hi, bisect_right(times, last))
        elif cond.op == "<":
            hi = min(hi, bisect_left(times, last))
    return _RangeRows(store, lo, hi, mode)


def rows_for(
    org: Org,
    mdef: ModuleDef,
    conds: list[Condition],
    order: list[tuple[str, bool]],
    *,
    ranges: bool = True,
) -> Sequence[Any]:
    """Matching rows as (keys, stored record getter) in the requested order.

    ``ranges`` False walks every record even for a plain ``Modified_Time`` range (tests compare).
    """
    test = predicate(conds)
    if mdef.generated_type == "subform":
        rows = []
        for row in org.subform_rows(mdef):
            keys = {
                "id": int(row["id"]),
                "Created_Time": row.get("Created_Time"),
                "Modified_Time": row.get("Modified_Time"),
                "Parent_Id": int(row["Parent_Id"]) if row.get("Parent_Id") else None,
            }
            if test(keys):
                rows.append((keys, row))
        rows.sort(key=lambda kr: _sort_key(kr[0], order))
        return rows
    store = org.stores[mdef.api_name]
    fast = _range_rows(store, conds, order) if ranges else None
    if fast is not None:
        return fast
    since = None
    for cond in conds:
        if cond.field == "Modified_Time" and cond.op in (">=", ">"):
            since = _coerce("Modified_Time", cond.values[0])
    primary = order[0] if order else ("id", False)
    natural_sort = "Modified_Time" if primary[0] == "Modified_Time" else "id"
    indices = store.ordered(natural_sort, primary[1], "both", since)
    out = []
    for i in indices:
        keys = {"id": int(store.record_id(i)), "Modified_Time": store.modified(i)}
        if any(c.field == "Created_Time" for c in conds) or any(
            f == "Created_Time" for f, _ in order
        ):
            keys["Created_Time"] = int((store.record(i) or {}).get("Created_Time") or 0)
        if test(keys):
            out.append((keys, i))
    natural = (
        [(primary[0], primary[1])]
        if primary[0] != "Modified_Time"
        else [primary, ("id", primary[1])]
    )
    if order and order[: len(natural)] != natural[: len(order)]:
        out.sort(key=lambda kr: _sort_key(kr[0], order))
    return out


def _sort_key(keys: dict[str, Any], order: list[tuple[str, bool]]) -> tuple[Any, ...]:
    out: list[Any] = []
    for name, descending in order or [("id", False)]:
        value = keys.get(name) or 0
        out.append(-value if descending else value)
    return tuple(out)


def handle(ctx: Context, req: Request) -> Response:
    org = ctx.emu.org
    try:
        payload = req.json_body()
    except ValueError:
        raise invalid_data("the request body is not valid JSON") from None
    text = payload.get("select_query") if isinstance(payload, dict) else None
    if not text:
        raise required_param("select_query")
    query = _Parser(tokenize(str(text))).parse()
    mdef = _validate(org, query, req.user_id)
    version = org.stores[mdef.api_name].version if mdef.api_name in org.stores else None
    parent = org.stores.get(mdef.parent_module or "")
    key = (
        mdef.api_name,
        json.dumps([c.__dict__ for c in query.conditions]),
        tuple(query.order),
        version,
        parent.version if parent else None,
    )
    cache = org.query_cache
    rows = cache.get(key)
    if rows is None:
        rows = rows_for(org, mdef, query.conditions, query.order, ranges=org.coql_ranges)
        cache[key] = rows
        if len(cache) > 8:
            cache.popitem(last=False)
    if query.count is not None:
        counted = 1 if query.offset == 0 else 0
        data = [{query.count: len(rows)}][:counted]
        return Response.json(200, {"data": data, "info": {"count": counted, "more_records": False}})
    chunk = rows[query.offset : query.offset + query.limit]
    if not chunk:
        if ctx.emu.faults.coql_empty_as_data:
            return Response.json(200, {"data": [], "info": {"count": 0, "more_records": False}})
        return Response.empty(204)
    r = org.renderer(req.user_id)
    data = []
    store = org.stores.get(mdef.api_name)
    for _keys, ref in chunk:
        rec = ref if store is None else (store.record(ref) or {})
        out = r.record(mdef, rec, [c for c in query.columns if c != "id"], single=False)
        ordered = {"id": out.pop("id")}
        ordered.update({k: v for k, v in out.items() if not k.startswith("$") or k == "$se_module"})
        data.append(ordered)
    more = query.offset + len(chunk) < len(rows)
    return Response.json(200, {"data": data, "info": {"count": len(data), "more_records": more}})
