"""Deterministic, lazy record generation: every value is a pure function of (seed, module, index).

Nothing is materialised up front. A record's timestamps come from a cheap integer hash (so sort
orders over 200k records can be built without generating records); its other values come from a
``random.Random`` seeded from the same triple, so a page costs only the records on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import words as w
from .ids import SLOT_FILES, SLOT_MISC, SLOT_TAGS, make_id
from .metadata import FieldDef, ModuleDef
from .timefmt import format_date

M64 = (1 << 64) - 1
DAY = 86_400
SALT_SKELETON = 1
SALT_IDENTITY = 2
SALT_RECORD = 3
SALT_ROWS = 4
SALT_MEMBERS = 5
SALT_ROLES = 6
SALT_PARENT = 7
SALT_ATTACH = 8
SALT_DELETED = 9


def mix(*parts: int) -> int:
    """A fast 64-bit hash of a few integers (splitmix-style), stable across processes."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = ((x ^ (part & M64)) * 0xBF58476D1CE4E5B9) & M64
        x ^= x >> 31
        x = (x * 0x94D049BB133111EB) & M64
        x ^= x >> 29
    return x


def _rr(rng: random.Random, a: int, b: int | None = None) -> int:
    """``randrange`` without its argument checks (several times faster on the hot path)."""
    if b is None:
        a, b = 0, a
    return a + int(rng.random() * (b - a))


def _ri(rng: random.Random, a: int, b: int) -> int:
    return a + int(rng.random() * (b - a + 1))


def _ch(rng: random.Random, seq: Any) -> Any:
    return seq[int(rng.random() * len(seq))]


_Step = tuple[str, float, "Callable[[RecordFactory, FieldDef, _Ctx], Any]", FieldDef]


class GenEnv(Protocol):
    """What generation needs from the org (implemented by ``org.Org``)."""

    seed: int
    data_start: int
    data_end: int
    owner_user_ids: list[str]

    def base_count(self, module: str) -> int: ...

    def module_def(self, module: str) -> ModuleDef | None: ...


@dataclass(frozen=True)
class Skeleton:
    created: int
    modified: int
    converted: bool


def skeleton(env: GenEnv, mdef: ModuleDef, index: int, total: int) -> Skeleton:
    """The cheap part of a generated record: what sorting and filtering need.

    Created times grow with the index (so id order and Created_Time order agree); about a third
    of records were never modified; 2 % share one mass-update instant, so large modules contain
    more than a page of identical ``Modified_Time`` values, as real orgs do after a mass update.
    """
    span = env.data_end - env.data_start
    step = max(1, span // max(1, total))
    h = mix(env.seed, mdef.slot, index, SALT_SKELETON)
    created = env.data_start + index * step + (h % step)
    created = min(created, env.data_end)
    roll = (h >> 20) % 100
    mass = env.data_start + (span * 3 // 5) // 60 * 60
    if roll < 35:
        modified = created
    elif roll < 37 and created < mass:
        modified = mass
    else:
        modified = created + ((h >> 32) % (env.data_end - created + 1))
    converted = mdef.convertible and (h >> 8) % 10 == 0
    return Skeleton(created, modified, converted)


def identity_hash(env: GenEnv, mdef: ModuleDef, index: int) -> int:
    return mix(env.seed, mdef.slot, index, SALT_IDENTITY)


def company_name(h: int) -> str:
    first = w.COMPANY_FIRST[h % len(w.COMPANY_FIRST)]
    second = w.COMPANY_SECOND[(h >> 8) % len(w.COMPANY_SECOND)]
    suffix = w.COMPANY_SUFFIX[(h >> 16) % len(w.COMPANY_SUFFIX)]
    return f"{first} {second} {suffix}".strip()


def person(h: int) -> tuple[str, str]:
    return (
        w.FIRST_NAMES[(h >> 24) % len(w.FIRST_NAMES)],
        w.LAST_NAMES[(h >> 32) % len(w.LAST_NAMES)],
    )


def display_name(env: GenEnv, mdef: ModuleDef, index: int) -> str:
    """The generated value of a module's name field (what lookups to the record show)."""
    h = identity_hash(env, mdef, index)
    kind = mdef.name_gen
    first, last = person(h)
    company = company_name(h)
    pick = (h >> 40) & 0xFFFF
    if kind == "person":
        return f"{first} {last}"
    if kind == "company":
        return company
    if kind == "deal":
        return f"{company} - {w.DEAL_KINDS[pick % len(w.DEAL_KINDS)]}"
    if kind == "task":
        return f"{w.TASK_VERBS[pick % len(w.TASK_VERBS)]} {first} {last}"
    if kind == "event":
        return f"{w.MEETINGS[pick % len(w.MEETINGS)]} with {company}"
    if kind == "call":
        return f"Call {first} {last} ({company})"
    if kind == "product":
        adj = w.PRODUCT_ADJ[pick % len(w.PRODUCT_ADJ)]
        noun = w.PRODUCT_NOUN[(pick >> 4) % len(w.PRODUCT_NOUN)]
        return f"{adj} {noun} {100 + index}"
    if kind == "campaign":
        word = w.CAMPAIGN_WORDS[pick % len(w.CAMPAIGN_WORDS)]
        return f"{word} {w.CHANNELS[(pick >> 4) % len(w.CHANNELS)]} #{index + 1}"
    if kind == "price_book":
        return (
            f"{('Standard', 'Partner', 'Enterprise', 'Reseller')[pick % 4]} Price Book {index + 1}"
        )
    if kind == "case":
        return f"{w.ISSUES[pick % len(w.ISSUES)]} at {company}"
    if kind == "solution":
        return f"Resolving: {w.ISSUES[pick % len(w.ISSUES)].lower()} ({index + 1})"
    if kind == "note":
        return f"Follow-up with {first} {last}"
    if kind == "inventory":
        return f"{mdef.singular} {index + 1:05d} - {company}"
    if kind == "installation":
        city = w.CITIES[pick % len(w.CITIES)][0]
        return f"{city} installation #{index + 1}"
    return str(index)


class RecordFactory:
    """Builds a record's stored form: datetimes as epoch seconds, lookups as ids.

    ``render.py`` turns the stored form into Zoho's JSON for a given user.
    """

    def __init__(self, env: GenEnv) -> None:
        self.env = env
        self._plans: dict[tuple[int, int], tuple[list[_Step], list[FieldDef]]] = {}

    def _plan(self, mdef: ModuleDef) -> tuple[list[_Step], list[FieldDef]]:
        """Per module: (name, null %, generator, field) per stored field, and derived fields."""
        key = (id(mdef), len(mdef.fields))
        plan = self._plans.get(key)
        if plan is None:
            steps: list[_Step] = []
            for fdef in mdef.fields:
                if fdef.gen == "msl":
                    continue
                gen = GENERATORS.get(fdef.gen)
                if gen is None:
                    raise ValueError(
                        f"no generator {fdef.gen!r} for {mdef.api_name}.{fdef.api_name}"
                    )
                steps.append((fdef.api_name, fdef.null_pct / 100, gen, fdef))
            derived = [f for f in mdef.fields if f.gen in DERIVED]
            plan = self._plans[key] = (steps, derived)
        return plan

    # -- records --------------------------------------------------------------------------
    def generate(self, mdef: ModuleDef, index: int, sk: Skeleton, record_id: str) -> dict[str, Any]:
        env = self.env
        rng = random.Random(mix(env.seed, mdef.slot, index, SALT_RECORD))
        h = identity_hash(env, mdef, index)
        ctx = _Ctx(mdef, index, sk=sk, record_id=record_id, h=h, rng=rng)
        rec: dict[str, Any] = {}
        ctx.rec = rec
        steps, derived = self._plan(mdef)
        rand = rng.random
        for name, null, gen, fdef in steps:
            if null and rand() < null:
                rec[name] = None
            else:
                rec[name] = gen(self, fdef, ctx)
        if derived:
            self._derive(derived, rec, mdef)
        return rec

    def subform_rows(
        self, sub: ModuleDef, parent: ModuleDef, *, parent_index: int, parent_id: str, stamp: int
    ) -> list[dict[str, Any]]:
        """Rows of one subform for one generated parent (row ids encode parent and position)."""
        rng = random.Random(mix(self.env.seed, sub.slot, parent_index, SALT_ROWS))
        low = 1 if parent.inventory else 0
        rows = []
        for j in range(_ri(rng, low, 4)):
            sk = Skeleton(stamp, stamp, False)
            row_id = make_id(sub.slot, parent_index * 10 + j)
            ctx = _Ctx(
                sub, parent_index * 10 + j, sk=sk, record_id=row_id, h=rng.getrandbits(64), rng=rng
            )
            row: dict[str, Any] = {}
            ctx.rec = row
            for fdef in sub.fields:
                if fdef.gen == "row_parent":
                    row[fdef.api_name] = parent_id
                elif fdef.gen == "row_time":
                    row[fdef.api_name] = stamp
                elif fdef.gen == "row_sequence":
                    row[fdef.api_name] = j + 1
                elif fdef.null_pct and rng.random() * 100 < fdef.null_pct:
                    row[fdef.api_name] = None
                else:
                    row[fdef.api_name] = self._value(fdef, ctx)
            self.finalize(sub, row)
            rows.append(row)
        return rows

    def finalize(self, mdef: ModuleDef, rec: dict[str, Any]) -> None:
        """Recompute read-only derived values (formulas, roll-ups, totals) from the others."""
        derived = self._plan(mdef)[1]
        if derived:
            self._derive(derived, rec, mdef)

    def _derive(self, derived: list[FieldDef], rec: dict[str, Any], mdef: ModuleDef) -> None:
        for fdef in derived:
            gen = fdef.gen
            if gen == "line_total":
                qty = rec.get("Quantity") or 0
                price = rec.get("List_Price") or 0
                rec[fdef.api_name] = round(qty * price - (rec.get("Discount") or 0), 2)
            elif gen == "expected_revenue":
                amount = rec.get("Amount") or 0
                rec[fdef.api_name] = round(amount * (rec.get("Probability") or 0) / 100, 2)
            elif gen in ("items_subtotal", "items_total"):
                rows = next(
                    (rec.get(s.api_name) or [] for s in mdef.fields if s.data_type == "subform"),
                    [],
                )
                subtotal = round(sum((r.get("Total") or 0) for r in rows), 2)
                if gen == "items_subtotal":
                    rec[fdef.api_name] = subtotal
                else:
                    extra = (
                        -(rec.get("Discount") or 0)
                        + (rec.get("Tax") or 0)
                        + (rec.get("Adjustment") or 0)
                    )
                    rec[fdef.api_name] = round(subtotal + extra, 2)
            elif gen == "formula":
                rec[fdef.api_name] = _formula(fdef.meta.get("expr", ""), rec)
            elif gen == "rollup":
                rows = rec.get(fdef.meta.get("based_on", "")) or []
                if fdef.meta.get("expr") == "count":
                    rec[fdef.api_name] = len(rows)
                else:
                    times = [r.get("Modified_Time") for r in rows if r.get("Modified_Time")]
                    rec[fdef.api_name] = max(times) if times else None

    # -- values ---------------------------------------------------------------------------
    def _value(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        gen = GENERATORS.get(fdef.gen)
        if gen is None:
            raise ValueError(f"no generator {fdef.gen!r} for {ctx.mdef.api_name}.{fdef.api_name}")
        return gen(self, fdef, ctx)

    def _created_by(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        ctx.creator = _ch(ctx.rng, self.env.owner_user_ids)
        return ctx.creator

    def _modified_by(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        if ctx.sk.modified == ctx.sk.created and ctx.creator:
            return ctx.creator
        return _ch(ctx.rng, self.env.owner_user_ids)

    def _datetime(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        value = ctx.sk.created + _rr(ctx.rng, 0, 60 * DAY)
        ctx.last_datetime = value
        return value

    def _tag(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        rng = ctx.rng
        if rng.random() < 0.6:
            return []
        names = rng.sample(w.TAGS, _ri(rng, 1, 2))
        return [
            {
                "name": n,
                "id": make_id(SLOT_TAGS, w.TAGS.index(n)),
                "color_code": w.TAG_COLOURS[w.TAGS.index(n)],
            }
            for n in names
        ]

    def _what_id(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        for target in ctx.rng.sample(("Accounts", "Deals", "Leads", "Contacts"), 4):
            ref = self._lookup(target, ctx.rng)
            if ref:
                return {"module": target, "id": ref}
        return None

    def _link_parent(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        parent = self.env.module_def(fdef.lookup or "")
        if parent is None or ctx.index // 2 >= self.env.base_count(parent.api_name):
            return None
        return make_id(parent.slot, ctx.index // 2)

    def _subform(self, fdef: FieldDef, ctx: _Ctx) -> Any:
        sub = self.env.module_def(fdef.meta["associated_module"])
        if sub is None:
            return []
        return self.subform_rows(
            sub, ctx.mdef, parent_index=ctx.index, parent_id=ctx.record_id, stamp=ctx.sk.modified
        )

    def _lookup(self, target: str, rng: random.Random) -> str | None:
        count = self.env.base_count(target)
        mdef = self.env.module_def(target)
        if not count or mdef is None:
            rng.random()
            return None
        return make_id(mdef.slot, _rr(rng, count))

    def _files(self, gen: str, ctx: _Ctx) -> list[dict[str, Any]]:
        rng = ctx.rng
        out = []
        for j in range(_ri(rng, 1, 3)):
            fid = f"{rng.getrandbits(160):040x}"
            row_id = make_id(SLOT_FILES, (ctx.mdef.slot * 10_000_000 + ctx.index) * 10 + j)
            if gen == "imageupload":
                out.append(
                    {
                        "File_Name__s": f"site_photo_{j + 1}.jpg",
                        "File_Id__s": fid,
                        "Preview_Id__s": fid[:32],
                        "Size__s": str(_rr(rng, 20_000, 4_000_000)),
                        "State__s": "SAVED",
                        "Description__s": None,
                        "Sequence_Number__s": j + 1,
                        "id": row_id,
                    }
                )
            else:
                out.append(
                    {
                        "File_Name__s": f"document_{j + 1}.pdf",
                        "File_Id__s": fid,
                        "Size__s": str(_rr(rng, 5_000, 9_000_000)),
                        "Created_Time__s": ctx.sk.created,
                        "Owner__s": _ch(rng, self.env.owner_user_ids),
                        "id": row_id,
                    }
                )
        return out


class _Ctx:
    __slots__ = (
        "city",
        "company",
        "creator",
        "domain",
        "first",
        "h",
        "index",
        "last",
        "last_datetime",
        "local",
        "mdef",
        "rec",
        "record_id",
        "rng",
        "sk",
    )

    def __init__(
        self,
        mdef: ModuleDef,
        index: int,
        *,
        sk: Skeleton,
        record_id: str,
        h: int,
        rng: random.Random,
    ) -> None:
        self.mdef = mdef
        self.index = index
        self.sk = sk
        self.record_id = record_id
        self.h = h
        self.rng = rng
        self.rec: dict[str, Any] = {}
        self.creator: str | None = None
        self.last_datetime: int | None = None
        self.first, self.last = person(h)
        self.company = company_name(h)
        self.city = w.CITIES[(h >> 48) % len(w.CITIES)]
        self.domain = self.company.split()[0].lower() + ".example.com"
        self.local = f"{self.first}.{self.last}".lower().replace("'", "").replace(" ", "")


def _sentence(rng: random.Random) -> str:
    words = [_ch(rng, w.WORDS) for _ in range(_ri(rng, 6, 14))]
    return " ".join(words).capitalize() + "."


def _formula(expr: str, rec: dict[str, Any]) -> Any:
    amount = rec.get("Amount") or 0.0
    discount = rec.get("Discount_Pct") or 0.0
    if expr == "margin":
        return round(amount * 0.18, 2)
    if expr == "net":
        return round(amount * (1 - discount / 100), 2)
    if expr == "large":
        return amount > 1_000_000
    if expr == "label":
        return f"{rec.get('Status') or 'Unknown'} / {rec.get('Units') or 0} units"
    if expr == "followup":
        return rec.get("Install_Date")
    return None


def note_parent(env: GenEnv, notes: ModuleDef, index: int) -> dict[str, str] | None:
    """The parent of a generated note: a cheap hash, so parents can find their notes."""
    h = mix(env.seed, notes.slot, index, SALT_PARENT)
    targets = [m for m in ("Leads", "Contacts", "Accounts", "Deals") if env.base_count(m)]
    if not targets:
        return None
    module = targets[h % len(targets)]
    mdef = env.module_def(module)
    assert mdef is not None  # noqa: S101 - targets only holds present modules
    return {"module": module, "id": make_id(mdef.slot, (h >> 8) % env.base_count(module))}


def _alarm(ctx: _Ctx) -> dict[str, str]:
    at = ctx.sk.created + _rr(ctx.rng, DAY, 30 * DAY)
    stamp = format_date(at) + "T09:00:00+00:00"
    return {"ALARM": f"FREQ=NONE;ACTION=EMAILANDPOPUP;TRIGGER=DATE-TIME:{stamp}"}


def _rrule(ctx: _Ctx) -> dict[str, str]:
    rng = ctx.rng
    start = ctx.sk.created + _rr(rng, 0, 10 * DAY)
    freq = _ch(rng, ("DAILY", "WEEKLY", "MONTHLY"))
    until = format_date(start + 90 * DAY)
    return {"RRULE": f"FREQ={freq};INTERVAL=1;DTSTART={format_date(start)};UNTIL={until}"}


def _multireminder(ctx: _Ctx) -> list[dict[str, Any]]:
    rng = ctx.rng
    return [
        {
            "period": _ch(rng, ("minutes", "hours", "days")),
            "unit": _ri(rng, 1, 3),
            "time": _ch(rng, ("09:00", "13:30", None)),
        }
        for _ in range(_ri(rng, 1, 2))
    ]


def _territories(ctx: _Ctx) -> list[dict[str, Any]]:
    rng = ctx.rng
    if rng.random() < 0.4:
        return []
    t = _rr(rng, len(w.TERRITORIES))
    return [{"name": w.TERRITORIES[t], "id": make_id(SLOT_MISC, 500 + t), "include_child": False}]


def _multiselect(fdef: FieldDef, ctx: _Ctx) -> list[str]:
    chosen = set(ctx.rng.sample(fdef.options, _ri(ctx.rng, 0, min(3, len(fdef.options)))))
    return [o for o in fdef.options if o in chosen]


def _code(ctx: _Ctx) -> str:
    rng = ctx.rng
    return (
        f"{_ch(rng, 'ABCDEFGHKLMNPRSTUVWXZ')}{_ch(rng, 'ABCDEFGHKLMNPRST')}-{_rr(rng, 1000, 99999)}"
    )


def _words(ctx: _Ctx) -> str:
    rng = ctx.rng
    return " ".join(_ch(rng, w.WORDS) for _ in range(_ri(rng, 2, 4))).capitalize()


def _rich_text(ctx: _Ctx) -> str:
    rng = ctx.rng
    paragraphs = "".join(f"<p>{' '.join(_sentence(rng) for _ in range(4))}</p>" for _ in range(3))
    return f"<div>{paragraphs}</div>"


def _other_person(ctx: _Ctx) -> str:
    a, b = person(ctx.rng.getrandbits(64))
    return f"{a} {b}"


def _consent(ctx: _Ctx) -> dict[str, str]:
    return {
        "name": f"Consent {ctx.index + 1}",
        "id": make_id(SLOT_MISC, 1_000_000 + ctx.mdef.slot * 100_000 + ctx.index),
    }


def _linetax(ctx: _Ctx) -> list[dict[str, Any]]:
    return [
        {
            "percentage": 8.25,
            "name": "Sales Tax",
            "id": make_id(SLOT_MISC, 900),
            "value": round(ctx.rng.uniform(1, 400), 2),
        }
    ]


def _none(factory: RecordFactory, fdef: FieldDef, ctx: _Ctx) -> Any:
    return None


Gen = Callable[[RecordFactory, FieldDef, _Ctx], Any]
DERIVED = frozenset(
    ("line_total", "expected_revenue", "items_subtotal", "items_total", "formula", "rollup")
)
GENERATORS: dict[str, Gen] = {
    "id": lambda fa, fd, c: c.record_id,
    "owner": lambda fa, fd, c: _ch(c.rng, fa.env.owner_user_ids),
    "user": lambda fa, fd, c: _ch(c.rng, fa.env.owner_user_ids),
    "link_user": lambda fa, fd, c: _ch(c.rng, fa.env.owner_user_ids),
    "created_by": RecordFactory._created_by,
    "modified_by": RecordFactory._modified_by,
    "created_time": lambda fa, fd, c: c.sk.created,
    "modified_time": lambda fa, fd, c: c.sk.modified,
    "last_activity": lambda fa, fd, c: (
        c.sk.modified + _rr(c.rng, 0, 3 * DAY) if c.rng.random() < 0.7 else None
    ),
    "converted": lambda fa, fd, c: c.sk.converted,
    "converted_time": lambda fa, fd, c: c.sk.modified if c.sk.converted else None,
    "first_name": lambda fa, fd, c: c.first,
    "last_name": lambda fa, fd, c: c.last,
    "full_name": lambda fa, fd, c: f"{c.first} {c.last}",
    "full_name_other": lambda fa, fd, c: _other_person(c),
    "name": lambda fa, fd, c: display_name(fa.env, c.mdef, c.index),
    "company": lambda fa, fd, c: c.company,
    "email": lambda fa, fd, c: f"{c.local}{c.index % 100}@{c.domain}",
    "email2": lambda fa, fd, c: (
        f"{c.first[0]}{c.last}".lower().replace("'", "") + "@mail.example.org"
    ),
    "company_email": lambda fa, fd, c: f"sales@{c.domain}",
    "phone": lambda fa, fd, c: f"+1 555-{_rr(c.rng, 100, 1000)}-{_rr(c.rng, 1000, 10000)}",
    "website": lambda fa, fd, c: f"https://www.{c.domain}",
    "title": lambda fa, fd, c: _ch(c.rng, w.TITLES),
    "department": lambda fa, fd, c: _ch(c.rng, w.DEPARTMENTS),
    "skype": lambda fa, fd, c: f"{c.first}.{c.last}.{c.index}".lower(),
    "twitter": lambda fa, fd, c: f"@{c.first}{c.last[:3]}".lower(),
    "street": lambda fa, fd, c: f"{_rr(c.rng, 1, 2000)} {_ch(c.rng, w.STREETS)}",
    "city": lambda fa, fd, c: c.city[0],
    "state": lambda fa, fd, c: c.city[1],
    "zip": lambda fa, fd, c: c.city[2],
    "country": lambda fa, fd, c: c.city[3],
    "ticker": lambda fa, fd, c: "".join(_ch(c.rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)),
    "words": lambda fa, fd, c: _words(c),
    "product_name_plain": lambda fa, fd, c: (
        f"{_ch(c.rng, w.PRODUCT_ADJ)} {_ch(c.rng, w.PRODUCT_NOUN)}"
    ),
    "sentence": lambda fa, fd, c: _sentence(c.rng),
    "paragraph": lambda fa, fd, c: " ".join(_sentence(c.rng) for _ in range(_ri(c.rng, 2, 5))),
    "rich_text": lambda fa, fd, c: _rich_text(c),
    "code": lambda fa, fd, c: _code(c),
    "autonumber": lambda fa, fd, c: f"{fd.meta.get('prefix', '')}{c.index + 1:05d}",
    "picklist": lambda fa, fd, c: _ch(c.rng, fd.options),
    "multiselectpicklist": lambda fa, fd, c: _multiselect(fd, c),
    "integer": lambda fa, fd, c: _ri(c.rng, fd.meta.get("lo", 0), fd.meta.get("hi", 1000)),
    "bigint_str": lambda fa, fd, c: str(_rr(c.rng, 10**11, 10**15)),
    "bigint_int": lambda fa, fd, c: _rr(c.rng, 10**15, 10**17),
    "quantity": lambda fa, fd, c: round(c.rng.uniform(1, 500), 2),
    "line_qty": lambda fa, fd, c: float(_ri(c.rng, 1, 20)),
    "money": lambda fa, fd, c: round(_rr(c.rng, 50_000, 250_000_000) / 100, 2),
    "price": lambda fa, fd, c: round(c.rng.uniform(5, 5000), 2),
    "small_money": lambda fa, fd, c: round(c.rng.uniform(0, 500), 2),
    "percent": lambda fa, fd, c: float(_rr(c.rng, 0, 101)),
    "exchange_rate": lambda fa, fd, c: _ch(c.rng, (1.0, 0.92, 83.12)),
    "boolean": lambda fa, fd, c: c.rng.random() < 0.5,
    "false": lambda fa, fd, c: False,
    "date": lambda fa, fd, c: format_date(
        _rr(c.rng, fa.env.data_start, fa.env.data_end + 120 * DAY)
    ),
    "birthday": lambda fa, fd, c: (
        f"{_rr(c.rng, 1950, 2002)}-{_rr(c.rng, 1, 13):02d}-{_rr(c.rng, 1, 29):02d}"
    ),
    "datetime": RecordFactory._datetime,
    "event_reminder": RecordFactory._datetime,
    "datetime_after": lambda fa, fd, c: (
        (c.last_datetime or c.sk.created) + _ch(c.rng, (30, 45, 60, 90, 120)) * 60
    ),
    "duration": lambda fa, fd, c: f"{_rr(c.rng, 0, 60):02d}:{_rr(c.rng, 0, 60):02d}",
    "tag": RecordFactory._tag,
    "layout": lambda fa, fd, c: c.mdef.layout_id(),
    "record_image": lambda fa, fd, c: f"{c.rng.getrandbits(128):032x}",
    "consent": lambda fa, fd, c: _consent(c),
    "lookup": lambda fa, fd, c: fa._lookup(fd.lookup or "", c.rng),
    "link_other": lambda fa, fd, c: fa._lookup(fd.lookup or "", c.rng),
    "what_id": RecordFactory._what_id,
    "note_parent": lambda fa, fd, c: note_parent(fa.env, c.mdef, c.index),
    "link_parent": RecordFactory._link_parent,
    "alarm": lambda fa, fd, c: _alarm(c),
    "rrule": lambda fa, fd, c: _rrule(c),
    "multireminder": lambda fa, fd, c: _multireminder(c),
    "territories": lambda fa, fd, c: _territories(c),
    "linetax": lambda fa, fd, c: _linetax(c),
    "fileupload": lambda fa, fd, c: fa._files("fileupload", c),
    "imageupload": lambda fa, fd, c: fa._files("imageupload", c),
    "subform": RecordFactory._subform,
    **dict.fromkeys(
        (
            "row_parent",
            "row_time",
            "row_sequence",
            "none",
            "line_total",
            "expected_revenue",
            "items_subtotal",
            "items_total",
            "formula",
            "rollup",
        ),
        _none,
    ),
}
