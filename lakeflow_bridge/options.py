"""Connection options (all strings) -> the tap's config, and the bridge's own table options.

Accepted names: the seed doc's (``client_id``, ``client_value_tmp``, ``refresh_value_tmp``,
``base_url``, ``initial_load_start_date``), the reference connector's (``client_secret``,
``refresh_token``), and every other setting the tap declares (``api_url``, ``page_size``,
``include_modules``, ...), converted from text by the setting's JSON Schema type. Options that
are neither (Spark's ``path``, ``tableName``, Unity Catalog's injected keys) are ignored, with
a warning naming any that looks like a misspelt setting (``include_module``).
Error messages name options, never their values.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

ALIASES = {
    "client_value_tmp": "client_secret",
    "refresh_value_tmp": "refresh_token",
    "initial_load_start_date": "start_date",
}
"""Seed-doc option name -> the tap's setting name."""

REQUIRED = ("client_id", "client_secret", "refresh_token")
MAX_RECORDS_PER_BATCH = "max_records_per_batch"
DEFAULT_MAX_RECORDS_PER_BATCH = 100_000
"""The reference connector's default, so a pipeline moved over behaves the same."""

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class OptionsError(ValueError):
    """An option is missing or malformed; the message says which one and how to fix it."""


def tap_config_from_options(
    options: Mapping[str, Any], settings_schema: Mapping[str, Any]
) -> dict[str, Any]:
    """Build the tap config from connection options, using the tap's settings JSON Schema."""
    settings = settings_schema.get("properties") or {}
    lowered = {str(k).lower(): k for k in settings}
    config: dict[str, Any] = {}
    origin: dict[str, str] = {}
    ignored = []
    for raw_name, value in options.items():
        name = str(raw_name)
        target = ALIASES.get(name.lower()) or lowered.get(name.lower())
        if target is None or value is None:
            ignored.append(name)
            continue
        converted = _convert(name, value, settings.get(target) or {})
        if target in config and config[target] != converted:
            raise OptionsError(
                f"options '{origin[target]}' and '{name}' both set '{target}' to different "
                "values: keep one of them"
            )
        config[target] = converted
        origin[target] = name
    missing = [name for name in REQUIRED if not config.get(name)]
    if missing:
        raise OptionsError(
            "missing required Zoho CRM option(s): "
            + ", ".join(_with_alias(name) for name in missing)
        )
    unknown = [name for name in ignored if not _known_elsewhere(name)]
    for name in sorted(unknown):
        close = difflib.get_close_matches(name.lower(), [*lowered, *ALIASES], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        logger.warning("option '%s' is not a Zoho CRM setting and is ignored%s", name, hint)
    if ignored:
        logger.debug("options not used by the tap: %s", ", ".join(sorted(ignored)))
    return config


#: Options that belong to Spark, Lakeflow or this bridge rather than the tap (lower case).
SPARK_TYPES_OPTION = "spark_types"
MAX_PARTITIONS_OPTION = "max_partitions"
BULK_PARTITION_RECORDS_OPTION = "bulk_read_partition_records"

NOT_TAP_OPTIONS = frozenset(
    {
        "path",
        "tablename",
        "isdeleteflow",
        MAX_RECORDS_PER_BATCH,
        SPARK_TYPES_OPTION,
        MAX_PARTITIONS_OPTION,
        BULK_PARTITION_RECORDS_OPTION,
        "externaloptionsallowlist",
        "sourcename",
        "connection_name",
        # The Lakeflow framework's own options (its pipeline spec and metadata reads).
        "tablenamelist",
        "tableconfigs",
        "namespace",
        "tableconfiguration",
        "scd_type",
        "primary_keys",
        "sequence_by",
    }
)
NOT_TAP_PREFIXES = ("spark.", "databricks.", "lakeflow.")


def _known_elsewhere(name: str) -> bool:
    """Whether an option the tap ignores is someone else's (so not a misspelt setting)."""
    lowered = name.lower()
    return lowered in NOT_TAP_OPTIONS or lowered.startswith(NOT_TAP_PREFIXES)


def positive_int_option(name: str, *option_maps: Mapping[str, Any] | None) -> int | None:
    """Option ``name`` from the first map that sets it, as a positive integer; None if unset."""
    for options in option_maps:
        value = option(options, name)
        if value in (None, ""):
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            number = 0
        if number < 1:
            raise OptionsError(f"'{name}' must be a positive integer")
        return number
    return None


def max_records_per_batch(*option_maps: Mapping[str, Any] | None) -> int:
    """The batch bound from the first option map that sets it (table options first)."""
    limit = positive_int_option(MAX_RECORDS_PER_BATCH, *option_maps)
    return DEFAULT_MAX_RECORDS_PER_BATCH if limit is None else limit


def native_spark_types(*option_maps: Mapping[str, Any] | None) -> bool:
    """Whether ``spark_types`` asks for native types (the first option map that sets it wins).

    ``seed``, the default, keeps the Databricks connector documentation's mapping, so an
    existing pipeline's schema does not change under it.
    """
    for options in option_maps:
        value = option(options, SPARK_TYPES_OPTION)
        if value in (None, ""):
            continue
        text = str(value).strip().lower()
        if text not in ("seed", "native"):
            raise OptionsError(f"'{SPARK_TYPES_OPTION}' must be 'seed' or 'native'")
        return text == "native"
    return False


def option(options: Mapping[str, Any] | None, name: str) -> Any:
    """Case-insensitive option lookup (Spark lower-cases data source option names)."""
    for key, value in (options or {}).items():
        if str(key).lower() == name.lower():
            return value
    return None


def _with_alias(name: str) -> str:
    aliases = [alias for alias, target in ALIASES.items() if target == name]
    return f"{name} (or {aliases[0]})" if aliases else name


def _convert(name: str, value: Any, spec: Mapping[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    kinds = spec.get("type")
    kind_set = {kinds} if isinstance(kinds, str) else set(kinds or ())
    text = value.strip()
    if "boolean" in kind_set:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise OptionsError(f"option '{name}' must be true or false")
    if "integer" in kind_set:
        try:
            return int(text)
        except ValueError:
            raise OptionsError(f"option '{name}' must be an integer") from None
    if "number" in kind_set:
        try:
            return float(text)
        except ValueError:
            raise OptionsError(f"option '{name}' must be a number") from None
    if "array" in kind_set:
        if text.startswith("["):
            return _json(name, text, list)
        return [part.strip() for part in text.split(",") if part.strip()]
    if "object" in kind_set:
        return _json(name, text, dict)
    return value


def _json(name: str, text: str, expected: type) -> Any:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, expected):
        raise OptionsError(f"option '{name}' must be a JSON {expected.__name__}")
    return parsed
