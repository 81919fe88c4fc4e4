"""Where Singer messages come from: lines, a file, a tap subprocess, or a tap run in-process.

Every source has one method, ``run(sink)``: it hands each message to ``sink`` in order and stops
as soon as ``sink`` returns False (the consumer has a full batch). That push shape fits the
in-process tap, which writes messages through a writer rather than yielding them, and a pull
source (lines, a file, a subprocess) is a loop around it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from singer_sdk.singerlib.encoding.base import GenericSingerWriter

Message = Mapping[str, Any] | str | bytes
MessageSink = Callable[[Message], bool]
"""Receives one message; returns False to stop the source."""

logger = logging.getLogger(__name__)


class TapRunError(RuntimeError):
    """The tap failed; the message is the tap's own (taps never put secrets in errors)."""


class MessageSource(Protocol):
    """Anything that can push Singer messages into a sink."""

    def run(self, sink: MessageSink) -> None:
        """Hand every message to ``sink`` until the messages end or ``sink`` returns False."""


class LinesSource:
    """Messages from an iterable of JSON lines or already-parsed message dicts."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self._messages = messages

    def run(self, sink: MessageSink) -> None:
        """Feed the lines in order."""
        for message in self._messages:
            if not sink(message):
                return


class FileSource:
    """Messages from a file of Singer JSON lines, e.g. a saved tap output."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)

    def run(self, sink: MessageSink) -> None:
        """Read the file line by line (never all at once)."""
        with self._path.open(encoding="utf-8") as lines:
            LinesSource(lines).run(sink)


class TapSubprocessSource:
    """Messages from a tap executable run as a subprocess with config, catalog and state.

    Config, catalog and state go through a private temporary directory (mode 0700) that is
    removed afterwards, so secrets never appear on a command line.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        config: Mapping[str, Any],
        catalog: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self._argv = list(argv)
        self._config = dict(config)
        self._catalog = dict(catalog) if catalog is not None else None
        self._state = dict(state) if state else None
        self._env = dict(env) if env is not None else None
        self._stop_timeout_s = stop_timeout_s

    def run(self, sink: MessageSink) -> None:
        """Run the tap; stop it early if ``sink`` says so; raise if it fails."""
        with tempfile.TemporaryDirectory(prefix="lakeflow-bridge-") as tmp:
            argv = [*self._argv, *self._write_inputs(Path(tmp))]
            with subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=self._env,
            ) as process:
                if process.stdout is None or process.stderr is None:  # pragma: no cover
                    raise TapRunError("the tap's output pipes could not be opened")
                stderr_tail: deque[str] = deque(maxlen=20)
                drain = threading.Thread(
                    target=_drain, args=(process.stderr, stderr_tail), daemon=True
                )
                drain.start()
                stopped = self._pump(process.stdout, sink)
                if stopped:
                    self._stop(process)
                returncode = process.wait()
                drain.join(timeout=self._stop_timeout_s)
        if not stopped and returncode != 0:
            detail = next((line for line in reversed(stderr_tail) if line.strip()), "")
            raise TapRunError(f"the tap exited with code {returncode}: {detail.strip()}")

    def _write_inputs(self, tmp: Path) -> list[str]:
        args = ["--config", str(_write_private_json(tmp / "config.json", self._config))]
        if self._catalog is not None:
            args += ["--catalog", str(_write_private_json(tmp / "catalog.json", self._catalog))]
        if self._state:
            args += ["--state", str(_write_private_json(tmp / "state.json", self._state))]
        return args

    @staticmethod
    def _pump(stdout: IO[bytes], sink: MessageSink) -> bool:
        return any(line.strip() and not sink(line) for line in stdout)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=self._stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()


class InProcessTapSource:
    """Messages from a Singer SDK tap class run in this process, without going through stdout.

    The tap gets a message writer that hands each message object to the sink. When the sink
    has a full batch the writer unwinds the sync with a ``BaseException`` subclass, so the
    SDK's and the tap's ``except Exception`` handlers neither log it as a failure nor wrap it.
    The SDK installs SIGINT/SIGTERM handlers whenever a tap is built in the main thread; they
    are restored afterwards so the host process (pytest, a Spark worker) keeps its own.
    """

    def __init__(
        self,
        tap_class: Callable[..., Any],
        *,
        config: Mapping[str, Any],
        catalog: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self._tap_class = tap_class
        self._config = dict(config)
        self._catalog = dict(catalog) if catalog is not None else None
        self._state = dict(state) if state else None

    def run(self, sink: MessageSink) -> None:
        """Build the tap and sync it, feeding the sink, until it ends or the sink is full."""
        writer = _SinkWriter(sink)
        with preserved_signal_handlers():
            tap = self._tap_class(
                config=self._config,
                catalog=self._catalog,
                state=self._state,
                parse_env_config=False,
                message_writer=writer,
            )
            with contextlib.suppress(_SinkFull):
                tap.sync_all()


def discover_catalog(tap_class: Callable[..., Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """Run the tap's discovery in-process and return its catalog as a dict."""
    with preserved_signal_handlers():
        tap = tap_class(config=dict(config), parse_env_config=False)
        catalog: dict[str, Any] = tap.catalog_dict
    return catalog


def iter_messages(source: MessageSource) -> Iterator[Message]:
    """Collect a finite source's messages (handy for sources that are not too large)."""
    collected: list[Message] = []

    def keep(message: Message) -> bool:
        collected.append(message)
        return True

    source.run(keep)
    return iter(collected)


class _SinkFull(BaseException):
    """Unwinds a tap's sync once the consumer has enough records."""


class _SinkWriter(GenericSingerWriter[str, Any]):
    """A Singer SDK message writer that hands message dicts to a sink instead of stdout."""

    def __init__(self, sink: MessageSink) -> None:
        self._sink = sink

    def serialize_message(self, message: Any) -> str:
        """Serialise like the SDK would (used only if something asks for text)."""
        return json.dumps(message.to_dict(), default=str)

    def write_message(self, message: Any) -> None:
        """Hand the message to the sink; stop the tap when the sink is full."""
        if not self._sink(message.to_dict()):
            raise _SinkFull


@contextlib.contextmanager
def preserved_signal_handlers() -> Iterator[None]:
    """Restore SIGINT/SIGTERM handlers that constructing an SDK plugin replaces."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _write_private_json(path: Path, payload: Mapping[str, Any]) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, default=str)
    return path


def _drain(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", errors="replace"))
