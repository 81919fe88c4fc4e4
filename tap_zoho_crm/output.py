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
from collections.abc import Sequence
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib import Message, RecordMessage


class ZohoMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` that flushes stdout at STATE, SCHEMA and other non-RECORD messages."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a RECORD."""
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            out.flush()

    def write_records(
        self,
        stream: str,
        records: Sequence[dict[str, Any]],
        version: int | None,
        extracted: dt.datetime,
    ) -> None:
        """Write RECORD messages from their parts, as `RecordMessage.to_dict` lays them out.

        The record path of a sync (`ZohoStream._sync_pages`): a page of records is encoded in
        one call (msgspec's ``encode_lines``, the same encoder and lines as `serialize_jsonl`)
        and written at once, with no message objects and no flush (as for any RECORD).
        """
        if version is None:
            messages = [
                {"type": "RECORD", "stream": stream, "record": record, "time_extracted": extracted}
                for record in records
            ]
        else:
            messages = [
                {
                    "type": "RECORD",
                    "stream": stream,
                    "record": record,
                    "version": version,
                    "time_extracted": extracted,
                }
                for record in records
            ]
        sys.stdout.buffer.write(encoder.encode_lines(messages))
