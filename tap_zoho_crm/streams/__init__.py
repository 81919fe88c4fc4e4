"""Stream kinds, and the registry that maps a ``zoho-stream-kind`` to the class building it.

A kind added later (deleted records, junctions, subforms) registers itself here, so discovery
and a sync given ``--catalog`` can rebuild it from a `StreamDefinition`.
"""

from __future__ import annotations

from tap_zoho_crm.streams.attachments import AttachmentsStream
from tap_zoho_crm.streams.base import ZohoStream
from tap_zoho_crm.streams.deleted import DeletedStream
from tap_zoho_crm.streams.junctions import JunctionStream
from tap_zoho_crm.streams.modules import ModuleStream
from tap_zoho_crm.streams.settings import SettingsStream
from tap_zoho_crm.streams.subforms import SubformStream

#: ``zoho-stream-kind`` -> stream class (constructed as ``cls(tap, definition)``).
STREAM_KINDS: dict[str, type[ZohoStream]] = {
    ModuleStream.kind: ModuleStream,
    SettingsStream.kind: SettingsStream,
    DeletedStream.kind: DeletedStream,
    JunctionStream.kind: JunctionStream,
    SubformStream.kind: SubformStream,
    AttachmentsStream.kind: AttachmentsStream,
}

__all__ = [
    "STREAM_KINDS",
    "AttachmentsStream",
    "DeletedStream",
    "JunctionStream",
    "ModuleStream",
    "SettingsStream",
    "SubformStream",
    "ZohoStream",
]
