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

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage


class ZohoMessageWriter(MsgSpecWriter):
    """`MsgSpecWriter` that flushes stdout at STATE, SCHEMA and other non-RECORD messages."""

    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a RECORD."""
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            out.flush()
