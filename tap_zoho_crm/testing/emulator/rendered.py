"""Records as Get Records lists them, kept as JSON text so a page is a join, not a render.

Rendering a record and encoding it to JSON is most of what a 200-record page of a wide module
costs; a sync reads each page once per run, and benchmarks run several syncs against one org.
So each record's list form is encoded once per view (module, time zone, field list) and a page's
body is assembled from those fragments. The result is byte for byte what ``json.dumps`` of the
whole payload gives: the encoder writes a list as its items' encodings joined by ``,``.

A fragment is only valid while nothing it may show has changed: the record itself, the names of
the records its lookups point to (other modules), the module's fields. Every write that can
change a listed record goes through a store's ``_touch`` (create, update and mass update, delete,
add_field, and the relation changes that stamp a record, which are updates), which bumps that
store's version, so the cache keys everything on the org's *generation* (the number of
stores and the sum of their versions) and drops every fragment when it moves. A switch that
changes how a listed record renders must join the view key (none does today).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .metadata import ModuleDef
from .render import Renderer

if TYPE_CHECKING:
    from .store import ModuleStore

#: Fragments kept across all views (about 2 KB each for a 50-field module): beyond it every
#: view starts again from empty.
FRAGMENT_LIMIT = 400_000
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

Row = tuple[bytes, str]  # (the record's JSON, its id)


class RenderedRecords:
    """Per view, each record's list-form JSON, valid until the org's next write."""

    def __init__(self, stores: dict[str, ModuleStore]) -> None:
        self._stores = stores
        #: False serves every record freshly rendered (tests compare both paths byte for byte).
        self.enabled = True
        self._generation: tuple[int, int] = (-1, -1)
        self._views: dict[tuple[Any, ...], dict[int, Row]] = {}
        self._size = 0

    def generation(self) -> tuple[int, int]:
        """Moves on every write: stores only ever bump their versions, and never go away."""
        return len(self._stores), sum(store.version for store in self._stores.values())

    def __len__(self) -> int:
        """Fragments kept now."""
        return self._size

    def clear(self) -> None:
        self._views = {}
        self._size = 0

    def rows(
        self,
        store: ModuleStore,
        renderer: Renderer,
        mdef: ModuleDef,
        names: list[str],
        indices: list[int],
        *,
        light: bool,
    ) -> list[Row]:
        """The list-form JSON of each record at ``indices`` (live records of ``store``)."""
        if not self.enabled:
            return [_row(renderer, mdef, _stored(store, i, light), names) for i in indices]
        generation = self.generation()
        if generation != self._generation:
            self.clear()
            self._generation = generation
        key = (mdef.api_name, renderer.fmt.tz_name, tuple(names))
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = {}
        out: list[Row] = []
        for index in indices:
            row = view.get(index)
            if row is None:
                row = view[index] = _row(renderer, mdef, _stored(store, index, light), names)
                self._size += 1
            out.append(row)
        if self._size > FRAGMENT_LIMIT:
            self.clear()
        return out


def _stored(store: ModuleStore, index: int, light: bool) -> dict[str, Any]:
    return (light and store.light(index)) or store.record(index) or {}


def _row(renderer: Renderer, mdef: ModuleDef, rec: dict[str, Any], names: list[str]) -> Row:
    out = renderer.record(mdef, rec, names, single=False)
    return _ENCODER.encode(out).encode("utf-8"), str(out["id"])


def list_body(rows: list[Row], info: dict[str, Any]) -> bytes:
    """``{"data": [...], "info": {...}}`` exactly as ``Response.json`` would encode it."""
    return b"".join(
        (
            b'{"data":[',
            b",".join(row for row, _ in rows),
            b'],"info":',
            _ENCODER.encode(info).encode("utf-8"),
            b"}",
        )
    )
