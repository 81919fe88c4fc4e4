"""``tap-zoho-crm`` / ``python -m tap_zoho_crm``: the SDK's CLI, with one-line errors.

Bad input (wrong secret, revoked token, wrong data centre, unknown module, malformed
start_date, an http URL, a response that is not Zoho's) ends with one clear line on stderr and
exit code 1, never a traceback, at any LOGLEVEL. ``tap-zoho-crm auth ...`` runs the OAuth helper
(tap_zoho_crm/auth/) instead.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Collection, Sequence

from tap_zoho_crm import gc_tuning
from tap_zoho_crm.client.errors import TapZohoCrmError
from tap_zoho_crm.local_inputs import check_cli_inputs
from tap_zoho_crm.tap import TapZohoCrm

#: Zoho OAuth tokens (access and refresh) and long hex strings (client secrets): never echoed
#: from an unexpected error's text.
_SECRET_LIKE = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}|[0-9a-f]{32,}", re.IGNORECASE)

#: The SDK logs this generic line before re-raising a stream's error; our own line replaces it.
_SDK_STREAM_ERROR = "An unhandled error occurred while syncing"


class _DropSdkStreamError(logging.Filter):
    """Drop the SDK's generic stream-error line; the CLI prints the specific one instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SDK_STREAM_ERROR)


def _subcommands() -> dict[str, Callable[[list[str]], None]]:
    """``tap-zoho-crm <name> ...`` commands beside the SDK's CLI."""
    from tap_zoho_crm import plan  # noqa: PLC0415 - only when asked

    return {"plan": plan.main}


#: The SDK's options that take a value: a word after one of them is that value.
_VALUED_OPTIONS = frozenset({"--config", "--catalog", "--state", "--properties", "--format"})


def _word_at(args: list[str], words: Collection[str]) -> int | None:
    """Where one of ``words`` stands among the arguments as a word, not an option's value.

    Anywhere, not only first: a wrapper (``meltano invoke tap-zoho-crm plan``) may put its
    own ``--config``/``--catalog``/``--state`` options before the word.
    """
    for index, arg in enumerate(args):
        if arg in words and (index == 0 or args[index - 1] not in _VALUED_OPTIONS):
            return index
    return None


def _find_subcommand(args: list[str]) -> tuple[Callable[[list[str]], None], list[str]] | None:
    """The subcommand named among the arguments (`_word_at`), and the other arguments."""
    commands = _subcommands()
    index = _word_at(args, commands)
    if index is None:
        return None
    return commands[args[index]], args[:index] + args[index + 1 :]


def _take_log_level(args: list[str]) -> list[str]:
    """Apply and remove ``--log-level X`` (the SDK reads only the LOGLEVEL variable)."""
    out: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--log-level":
            os.environ["LOGLEVEL"] = next(rest, "info").upper()
        elif arg.startswith("--log-level="):
            os.environ["LOGLEVEL"] = arg.split("=", 1)[1].upper()
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap's CLI; turn the tap's own errors into one line and exit code 1."""
    args = list(argv) if argv is not None else sys.argv[1:]
    auth_at = _word_at(args, {"auth"})
    if auth_at is not None:  # the OAuth helper (tap_zoho_crm/auth/), before any config check
        from tap_zoho_crm.auth.cli import main as auth_main  # noqa: PLC0415

        # What a wrapper put before the word (``--config`` of a config still incomplete) is
        # the tap's, not the helper's: the helper takes only what follows it.
        sys.exit(auth_main(args[auth_at + 1 :]))
    args = _take_log_level(args)
    command = TapZohoCrm.cli  # also sets up console logging
    sdk_filter = _DropSdkStreamError()
    for handler in logging.getLogger().handlers:
        handler.addFilter(sdk_filter)
    try:
        check_cli_inputs(args, os.environ, TapZohoCrm.config_jsonschema)
        found = _find_subcommand(args)
        if found is not None:
            subcommand, rest = found
            subcommand(rest)
            return
        gc_tuning.tune_for_one_run()
        command.main(args=args, prog_name=TapZohoCrm.name)
    except TapZohoCrmError as exc:
        where = f"stream {exc.stream}: " if exc.stream else ""
        TapZohoCrm.logger.error("%s%s", where, exc)
        sys.exit(1)
    except Exception as exc:  # the one place that turns any other failure into one line
        TapZohoCrm.logger.error("%s", unexpected_error_line(exc))
        sys.exit(1)


def unexpected_error_line(exc: BaseException) -> str:
    """One line for an error the tap has no message for: what, where, and what to do.

    Mostly a Zoho answer of a shape the tap did not expect (a malformed datetime, a non-numeric
    id). The innermost frame stands in for the traceback; token-like text is masked.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    own = [frame for frame in frames if "tap_zoho_crm" in frame.filename] or frames
    where = ""
    if own:
        frame = own[-1]
        path = frame.filename.split("tap_zoho_crm", 1)[-1].lstrip("/\\")
        where = f" (at tap_zoho_crm/{path}:{frame.lineno} in {frame.name})"
    text = _SECRET_LIKE.sub("***", f"{type(exc).__name__}: {exc}")
    return (
        f"unexpected error: {text}{where}. Zoho probably answered with data of a shape the tap "
        "does not expect; re-run with LOGLEVEL=DEBUG to see the last responses, and report it "
        "at the project's issue tracker with that output"
    )


if __name__ == "__main__":
    main()
