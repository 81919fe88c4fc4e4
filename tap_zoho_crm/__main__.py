"""``tap-zoho-crm`` / ``python -m tap_zoho_crm``: the SDK's CLI, with one-line errors.

Bad input (wrong secret, revoked token, wrong data centre, unknown module, malformed
start_date, an http URL, a response that is not Zoho's) ends with one clear line on stderr and
exit code 1, never a traceback, at any LOGLEVEL.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from tap_zoho_crm.client.errors import TapZohoCrmError
from tap_zoho_crm.tap import TapZohoCrm

#: The SDK logs this generic line before re-raising a stream's error; our own line replaces it.
_SDK_STREAM_ERROR = "An unhandled error occurred while syncing"


class _DropSdkStreamError(logging.Filter):
    """Drop the SDK's generic stream-error line; the CLI prints the specific one instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SDK_STREAM_ERROR)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap's CLI; turn the tap's own errors into one line and exit code 1."""
    command = TapZohoCrm.cli  # also sets up console logging
    sdk_filter = _DropSdkStreamError()
    for handler in logging.getLogger().handlers:
        handler.addFilter(sdk_filter)
    try:
        command.main(args=list(argv) if argv is not None else None, prog_name=TapZohoCrm.name)
    except TapZohoCrmError as exc:
        where = f"stream {exc.stream}: " if exc.stream else ""
        TapZohoCrm.logger.error("%s%s", where, exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
