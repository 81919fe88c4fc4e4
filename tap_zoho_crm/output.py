"""How the tap writes Singer messages: msgspec-encoded, flushed once per STATE.

The SDK's default writer encodes with simplejson and flushes stdout after every message (one
``write`` system call per record). `ZohoMessageWriter` encodes with msgspec (the SDK's own
``singer_sdk.contrib.msgspec`` writer, the ``singer-sdk[msgspec]`` extra) and lets stdout's
buffer fill, flushing at every message that is not a RECORD. A STATE therefore always reaches
the target together with every record before it, which is all a resumable sync needs: records
still in the buffer when the process dies are after the last STATE sent, so they are read
again from that STATE.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import Message, RecordMessage


class ZohoMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` that flushes stdout at STATE, SCHEMA and other non-RECORD messages."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a RECORD."""
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            out.flush()

    def write_record(
        self, stream: str, record: dict[str, Any], version: int | None, extracted: dt.datetime
    ) -> None:
        """Write a RECORD message from its parts, as `RecordMessage.to_dict` lays it out.

        The per-record path of a sync (`ZohoStream._write_record_message`): no message object,
        and no flush (as for any RECORD).
        """
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = extracted
        sys.stdout.buffer.write(serialize_jsonl(message))
