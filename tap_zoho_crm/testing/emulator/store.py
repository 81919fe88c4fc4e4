"""One module's records: lazily generated base records plus a small overlay of mutations.

Generated records never change; mutations live in ``overrides`` (updated or created records) and
``removed`` (deleted ones). Sort orders are built from cheap skeleton arrays once per module and
combined with the overlay per query, so a 200k-record module costs a few MB and each query a few
milliseconds (results are cached per mutation version, so a pagination run sorts once).
"""

from __future__ import annotations

import copy
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any, overload

from .datagen import SALT_DELETED, RecordFactory, Skeleton, display_name, mix, skeleton
from .ids import make_id
from .metadata import ModuleDef

DAY = 86_400
RESULT_CACHE = 8
#: Generated records kept (about 3 KB each): a 200k-record module is generated once per run.
RECORD_CACHE = 200_000
NAME_CACHE = 100_000


class Tail(Sequence[int]):
    """``items[start:]`` without the copy.

    A keyset walk asks for a new suffix on every call, and copying 100,000 indices would cost
    more than serving the page from cached fragments.
    """

    __slots__ = ("_items", "_start")

    def __init__(self, items: list[int], start: int) -> None:
        self._items = items
        self._start = start

    def __len__(self) -> int:
        return len(self._items) - self._start

    def __iter__(self) -> Iterator[int]:
        return islice(self._items, self._start, None)

    @overload
    def __getitem__(self, key: int) -> int: ...

    @overload
    def __getitem__(self, key: slice) -> list[int]: ...

    def __getitem__(self, key: int | slice) -> int | list[int]:
        if isinstance(key, slice):
            begin, end, step = key.indices(len(self))
            if step == 1:
                return self._items[self._start + begin : self._start + max(begin, end)]
            return self._items[self._start :][key]
        if key < 0:
            key += len(self)
        if not 0 <= key < len(self):
            raise IndexError(key)
        return self._items[self._start + key]


class ModuleStore:
    def __init__(
        self,
        env: Any,
        factory: RecordFactory,
        mdef: ModuleDef,
        count: int,
        deleted_count: int,
    ) -> None:
        self.env = env
        self.factory = factory
        self.mdef = mdef
        self.base = count
        self.gen_deleted = deleted_count
        self.total_gen = count + deleted_count
        self.next_index = self.total_gen
        self.overrides: dict[int, dict[str, Any]] = {}
        self.removed: set[int] = set()
        self.deleted_log: list[dict[str, Any]] = []
        self.version = 0
        self._created: array[int] | None = None
        self._modified: array[int] | None = None
        self._converted: bytearray | None = None
        self._mod_order: array[int] | None = None
        self._mod_keys: array[int] | None = None
        self._results: OrderedDict[tuple[Any, ...], Sequence[int]] = OrderedDict()
        #: (converted, version) -> every matching record by Modified_Time, and their times.
        self._by_modified: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
        self._records: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._names: dict[int, str] = {}

    # -- identity -------------------------------------------------------------------------
    def record_id(self, index: int) -> str:
        return make_id(self.mdef.slot, index)

    def is_live(self, index: int) -> bool:
        if index in self.removed:
            return False
        return 0 <= index < self.base or (index >= self.total_gen and index in self.overrides)

    def live_count(self) -> int:
        created = sum(1 for i in self.overrides if i >= self.total_gen and i not in self.removed)
        removed_base = sum(1 for i in self.removed if i < self.base)
        return self.base - removed_base + created

    def live_indices(self) -> list[int]:
        created = sorted(i for i in self.overrides if i >= self.total_gen)
        if not self.removed:
            return [*range(self.base), *created]
        return [i for i in (*range(self.base), *created) if i not in self.removed]

    # -- values ---------------------------------------------------------------------------
    def skeleton(self, index: int) -> Skeleton:
        return skeleton(self.env, self.mdef, index, self.total_gen)

    def record(self, index: int) -> dict[str, Any] | None:
        """The stored form of a record (live or deleted); None for an index never used."""
        rec = self.overrides.get(index)
        if rec is not None:
            return rec
        if not 0 <= index < self.total_gen:
            return None
        cached = self._records.get(index)
        if cached is not None:
            return cached
        rec = self.factory.generate(self.mdef, index, self.skeleton(index), self.record_id(index))
        self._records[index] = rec
        if len(self._records) > RECORD_CACHE:
            self._records.popitem(last=False)
        return rec

    def light(self, index: int) -> dict[str, Any] | None:
        """Only id and the two timestamps, without generating the record (fast id scans)."""
        if index in self.overrides:
            return None
        if self._created is not None and index < self.base:
            created = self._created[index]
        else:
            created = self.skeleton(index).created
        out: dict[str, Any] = {
            "id": self.record_id(index),
            "Created_Time": created,
            "Modified_Time": self.modified(index),
        }
        if self.mdef.convertible:
            out["Converted__s"] = self.converted(index)
        return out

    def name(self, index: int) -> str | None:
        """What a lookup to this record shows, without generating the whole record."""
        rec = self.overrides.get(index)
        if rec is not None:
            value = rec.get(self.mdef.name_field)
            return None if value is None else str(value)
        if self.mdef.name_gen == "id":
            return self.record_id(index)
        cached = self._names.get(index)
        if cached is None:
            cached = display_name(self.env, self.mdef, index)
            if len(self._names) > NAME_CACHE:
                self._names.clear()
            self._names[index] = cached
        return cached

    def modified(self, index: int) -> int:
        rec = self.overrides.get(index)
        if rec is not None:
            return int(rec["Modified_Time"])
        if self._modified is not None and index < self.base:
            return self._modified[index]
        return self.skeleton(index).modified

    def converted(self, index: int) -> bool:
        if not self.mdef.convertible:
            return False
        rec = self.overrides.get(index)
        if rec is not None:
            return bool(rec.get("Converted__s"))
        if self._converted is not None and index < self.base:
            return bool(self._converted[index])
        return self.skeleton(index).converted

    # -- ordering -------------------------------------------------------------------------
    def _ensure_skeleton(self) -> None:
        if self._modified is not None:
            return
        created: array[int] = array("q")
        modified: array[int] = array("q")
        converted = bytearray(self.base)
        for i in range(self.base):
            sk = self.skeleton(i)
            created.append(sk.created)
            modified.append(sk.modified)
            if sk.converted:
                converted[i] = 1
        self._created, self._converted = created, converted
        self._modified = modified
        order = sorted(range(self.base), key=lambda i: (modified[i], i))
        self._mod_order = array("q", order)
        self._mod_keys = array("q", (modified[i] for i in order))

    def ordered(
        self, sort_by: str, descending: bool, converted: str, since: int | None
    ) -> Sequence[int]:
        """Live indices matching the filters, in the requested order (ties broken by id).

        ``converted`` is ``"false"``, ``"true"`` or ``"both"``; ``since`` is an inclusive lower
        bound on ``Modified_Time`` (If-Modified-Since).
        """
        if not self.mdef.convertible:
            converted = "both"
        key = (sort_by, descending, converted, since, self.version)
        hit = self._results.get(key)
        if hit is not None:
            self._results.move_to_end(key)
            return hit
        result: Sequence[int]
        if descending:
            result = self.ordered(sort_by, False, converted, since)[::-1]
        elif sort_by == "Modified_Time" and since is not None:
            # A keyset walk asks from a new instant each call: a suffix of the whole ordered
            # list, found by bisection, instead of filtering every record again.
            every, times = self._modified_order(converted)
            result = Tail(every, bisect_left(times, since))
        else:
            result = self._ascending(sort_by, converted, since)
        self._results[key] = result
        if len(self._results) > RESULT_CACHE:
            self._results.popitem(last=False)
        return result

    def modified_order(self, converted: str) -> tuple[list[int], list[int]]:
        """Every matching live record by (Modified_Time, index), and their Modified_Times.

        Shared, cached per mutation version: callers must not change the lists.
        """
        return self._modified_order(converted)

    def _modified_order(self, converted: str) -> tuple[list[int], list[int]]:
        """Every matching live record by (Modified_Time, index), and their Modified_Times."""
        key = (converted, self.version)
        hit = self._by_modified.get(key)
        if hit is None:
            every = self._ascending("Modified_Time", converted, None)
            hit = (every, [self.modified(i) for i in every])
            self._by_modified = {k: v for k, v in self._by_modified.items() if k[1] == self.version}
            self._by_modified[key] = hit
        return hit

    def _ascending(self, sort_by: str, converted: str, since: int | None) -> list[int]:
        self._ensure_skeleton()
        assert self._modified is not None  # noqa: S101 - set by _ensure_skeleton
        assert self._mod_order is not None  # noqa: S101
        assert self._mod_keys is not None  # noqa: S101
        assert self._converted is not None  # noqa: S101
        mods = self._modified
        seq: Any
        if sort_by == "Modified_Time":
            start = bisect_left(self._mod_keys, since) if since is not None else 0
            seq = self._mod_order[start:]
        elif since is None:
            seq = range(self.base)
        else:
            seq = [i for i in range(self.base) if mods[i] >= since]
        if converted != "both":
            want = 1 if converted == "true" else 0
            flags = self._converted
            seq = [i for i in seq if flags[i] == want]
        touched = self.removed.union(self.overrides)
        result = [i for i in seq if i not in touched] if touched else list(seq)

        def passes(i: int) -> bool:
            if since is not None and self.modified(i) < since:
                return False
            if converted == "both":
                return True
            return self.converted(i) == (converted == "true")

        extra = [i for i in self.overrides if i not in self.removed and passes(i)]
        if not extra:
            return result
        sort_key: Callable[[int], Any]
        if sort_by == "Modified_Time":

            def sort_key(i: int) -> Any:
                return (self.modified(i), i)
        else:

            def sort_key(i: int) -> Any:
                return i

        extra.sort(key=sort_key)
        if result and sort_key(extra[0]) < sort_key(result[-1]):
            result.extend(extra)
            result.sort(key=sort_key)
        else:
            result.extend(extra)
        return result

    # -- mutations ------------------------------------------------------------------------
    def _touch(self) -> None:
        self.version += 1
        self._results.clear()

    def create(self, now: int, user_id: str, values: dict[str, Any]) -> int:
        index = self.next_index
        self.next_index += 1
        rec = self.factory.generate(
            self.mdef, index, Skeleton(now, now, False), self.record_id(index)
        )
        for key in ("Owner", "Created_By", "Modified_By"):
            if key in rec:
                rec[key] = user_id
        rec.update(values)
        rec["Created_Time"] = now
        rec["Modified_Time"] = now
        self.factory.finalize(self.mdef, rec)
        self.overrides[index] = rec
        self._touch()
        return index

    def update(self, index: int, now: int, user_id: str, values: dict[str, Any]) -> None:
        current = self.record(index)
        if current is None:
            raise KeyError(index)
        rec = copy.deepcopy(current)
        rec.update(values)
        rec["Modified_Time"] = now
        if "Modified_By" in rec:
            rec["Modified_By"] = user_id
        self.factory.finalize(self.mdef, rec)
        self.overrides[index] = rec
        self._records.pop(index, None)
        self._touch()

    def delete(self, index: int, now: int, user_id: str, permanent: bool) -> None:
        rec = self.record(index)
        if rec is None:
            raise KeyError(index)
        self.removed.add(index)
        self.deleted_log.append(
            {
                "index": index,
                "type": "permanent" if permanent else "recycle",
                "deleted_time": now,
                "deleted_by": None if permanent else user_id,
                "created_by": None if permanent else rec.get("Created_By"),
                "display_name": None if permanent else self.name(index),
            }
        )
        self._touch()

    # -- deleted records ------------------------------------------------------------------
    def deleted_entries(self, now: int) -> list[dict[str, Any]]:
        """Deleted-record entries still within retention (60 days recycle, 120 permanent)."""
        out = []
        for offset in range(self.gen_deleted):
            index = self.base + offset
            h = mix(self.env.seed, self.mdef.slot, index, SALT_DELETED)
            permanent = h % 4 == 0
            deleted_time = self.env.data_end - (h >> 8) % (150 * DAY)
            users = self.env.owner_user_ids
            entry = {
                "index": index,
                "type": "permanent" if permanent else "recycle",
                "deleted_time": deleted_time,
                "deleted_by": None if permanent else users[(h >> 40) % len(users)],
                "created_by": None if permanent else users[(h >> 48) % len(users)],
                "display_name": None if permanent else self.name(index),
            }
            out.append(entry)
        out.extend(self.deleted_log)
        kept = []
        for entry in out:
            limit = (120 if entry["type"] == "permanent" else 60) * DAY
            if now - entry["deleted_time"] <= limit:
                kept.append(entry)
        return kept
