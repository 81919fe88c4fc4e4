"""Transport-neutral request and response objects the handlers work with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import ZohoEmulator

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    user_id: str = ""
    route: str = ""
    #: Whether If-Modified-Since excludes its own instant (``Faults.if_modified_since_exclusive``).
    since_exclusive: bool = False
    #: Record ids a list answer carries, set by the handler for the call log (`Stats.log`).
    answered: tuple[str, ...] = ()

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def has(self, name: str) -> bool:
        return name in self.query

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def json_body(self) -> Any:
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})

    @classmethod
    def empty(cls, status: int) -> Response:
        return cls(status)


@dataclass
class Context:
    """What a handler may use: the emulator facade (org, oauth, tokens, clock...)."""

    emu: ZohoEmulator
