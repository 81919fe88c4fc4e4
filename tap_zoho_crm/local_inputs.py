"""Local inputs checked before the tap starts: config, catalog and state files, env settings.

A mistake in a local file must be blamed on that file, never on Zoho: the SDK reads these
files itself, and its errors (``JSONDecodeError``, ``KeyError``, ``ValueError`` from an env
variable) would otherwise reach the CLI as "unexpected" errors naming no file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tap_zoho_crm.client.errors import TapZohoCrmError

#: The prefix the SDK reads settings from with ``--config ENV``.
ENV_PREFIX = "TAP_ZOHO_CRM_"


class LocalInputError(TapZohoCrmError):
    """A local file or environment variable cannot be used as given."""


def cli_files(argv: Sequence[str]) -> list[tuple[str, str]]:
    """The (option, value) pairs of --config, --catalog and --state in ``argv``."""
    found: list[tuple[str, str]] = []
    args = list(argv)
    for index, arg in enumerate(args):
        for option in ("--config", "--catalog", "--state"):
            if arg == option and index + 1 < len(args):
                found.append((option[2:], args[index + 1]))
            elif arg.startswith(option + "="):
                found.append((option[2:], arg.split("=", 1)[1]))
    return found


def load_json_file(kind: str, path: str) -> Any:
    """The JSON in ``path``, or one line naming the file and what is wrong with it."""
    file = Path(path)
    if not file.is_file():
        raise LocalInputError(f"{kind} file {path}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalInputError(f"{kind} file {path}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocalInputError(
            f"{kind} file {path}: not valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno})"
        ) from None


def check_state(path: str, state: Any) -> None:
    """A Singer state: an object whose ``bookmarks``, when present, maps streams to objects."""
    if not isinstance(state, dict):
        raise LocalInputError(f"state file {path}: must be a JSON object (got {_kind(state)})")
    if "bookmarks" not in state:
        return
    bookmarks = state["bookmarks"]
    if not isinstance(bookmarks, dict):
        raise LocalInputError(
            f"state file {path}: 'bookmarks' must be an object of streams (got "
            f"{_kind(bookmarks)}); fix it or start without --state"
        )
    for stream, value in bookmarks.items():
        if not isinstance(value, dict):
            raise LocalInputError(
                f"state file {path}: the bookmark of stream '{stream}' must be an object "
                f"(got {_kind(value)})"
            )


def check_catalog(path: str, catalog: Any) -> None:
    """A Singer catalog: an object with a ``streams`` list of objects."""
    streams = catalog.get("streams") if isinstance(catalog, dict) else None
    if not isinstance(streams, list) or not all(isinstance(s, dict) for s in streams):
        raise LocalInputError(
            f"catalog file {path}: must be a JSON object with a 'streams' list (as "
            "--discover prints it)"
        )


def check_env(environ: Mapping[str, str], schema: Mapping[str, Any]) -> None:
    """Settings given as ``TAP_ZOHO_CRM_*`` variables must parse as their setting's type."""
    properties = schema.get("properties", {})
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        types = properties.get(name, {}).get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        try:
            if "integer" in types:
                int(raw)
            elif "number" in types:
                float(raw)
        except ValueError:
            wanted = "an integer" if "integer" in types else "a number"
            raise LocalInputError(
                f"environment variable {variable}: {raw!r} is not {wanted} (setting '{name}')"
            ) from None


def check_cli_inputs(
    argv: Sequence[str], environ: Mapping[str, str], schema: Mapping[str, Any]
) -> None:
    """Check every local input named on the command line (and env settings with ENV)."""
    for kind, value in cli_files(argv):
        if kind == "config" and value == "ENV":
            check_env(environ, schema)
            continue
        loaded = load_json_file(kind, value)
        if kind == "config" and not isinstance(loaded, dict):
            raise LocalInputError(
                f"config file {value}: must be a JSON object (got {_kind(loaded)})"
            )
        if kind == "state":
            check_state(value, loaded)
        if kind == "catalog":
            check_catalog(value, loaded)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
