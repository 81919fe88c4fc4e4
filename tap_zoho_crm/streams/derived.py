"""Which derived streams (deleted records, junctions, subforms, attachments) a run produces.

Derived streams are built on top of module streams, so they exist only when their base modules
were discovered. ``include_modules`` / ``exclude_modules`` apply to them by their own names:
with no include list every derived stream whose bases exist is produced; with one, only the
derived streams it names (their base modules must be named too, since only named modules are
discovered), plus the ``<Module>_deleted`` of every module it names. ``exclude_modules`` drops
a derived stream by name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from tap_zoho_crm.config import ZohoSettings
from tap_zoho_crm.discovery import KIND_MODULE, StreamDefinition


def module_names(definitions: Sequence[StreamDefinition]) -> list[str]:
    """The modules that became module streams, in discovery order."""
    return [d.module for d in definitions if d.kind == KIND_MODULE]


def wanted(
    settings: ZohoSettings,
    name: str,
    bases: Iterable[str],
    definitions: Sequence[StreamDefinition],
    logger: logging.Logger,
    *,
    follows_bases: bool = False,
) -> bool:
    """Whether to produce the derived stream ``name`` built on the modules ``bases``.

    ``follows_bases``: an include list that names the bases includes this stream too (a
    module's deleted records belong with it: without them its table never loses a row).
    """
    bases = list(bases)
    if name in settings.exclude_modules:
        return False
    if any(d.name == name for d in definitions):
        logger.warning("Not deriving stream %s: a stream of that name exists already", name)
        return False
    include = settings.include_modules
    named = name in include or (follows_bases and all(base in include for base in bases))
    if include and not named:
        return False
    missing = [base for base in bases if base not in module_names(definitions)]
    if missing:
        if include:
            logger.warning(
                "include_modules names %s, but its module(s) %s are not streams of this run "
                "(name them in include_modules too, and check they are readable)",
                name,
                ", ".join(missing),
            )
        return False
    return True
