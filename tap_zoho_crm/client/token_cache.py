"""Access tokens shared by every process of one user on one machine, through a cache file.

Zoho Accounts mints at most 10 access tokens per refresh token in 10 minutes, and Meltano runs
discovery and sync as separate processes, Spark forks Python workers, a pipeline runs many
flows: each would mint its own token. So a minted token is written to a file named by a hash of
the credentials (never the credentials themselves), mode 0600, written atomically, beside a lock
file that makes processes starting together mint once. The file also keeps the times of recent
mints, so a throttled process can tell how long Zoho's block lasts (see auth.throttle_wait).

The lock is ``fcntl.flock`` (POSIX). Where ``fcntl`` does not exist the cache still works,
unlocked: processes starting together may then each mint. Any I/O problem (read-only home, a
full disk) turns the cache off for that call with one debug line; the tap then mints as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Set to a directory to keep the token cache there instead of the user's cache directory.
CACHE_DIR_ENV = "TAP_ZOHO_CRM_CACHE_DIR"
APP_DIR = "tap-zoho-crm"
TOKENS_DIR = "tokens"
#: Refresh this long before expiry (capped at a quarter of the lifetime for short tokens).
EXPIRY_MARGIN_SECONDS = 300.0
#: Mints older than this no longer count against Zoho's limit (its window is 10 minutes).
MINT_WINDOW_SECONDS = 600.0
#: How long a process waits for another's lock by default. A holder mints (a bounded
#: request) or waits out a throttle (``token_throttle_max_wait``); a holder stuck longer, e.g. a
#: stopped process, must not hold every other run forever.
LOCK_WAIT_SECONDS = 300.0
#: Polling of a held lock: from the first step, doubling up to the last.
LOCK_POLL_FIRST_S = 0.02
LOCK_POLL_MAX_S = 0.5

logger = logging.getLogger(__name__)


def user_cache_dir() -> Path:
    """The platform's per-user cache directory (XDG on Linux), without extra dependencies."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"


def token_cache_dir() -> Path:
    """Where token files live: ``$TAP_ZOHO_CRM_CACHE_DIR`` or ``<user cache>/tap-zoho-crm``."""
    override = os.environ.get(CACHE_DIR_ENV)
    base = Path(override).expanduser() if override else user_cache_dir() / APP_DIR
    return base / TOKENS_DIR


@dataclass(frozen=True)
class AccessToken:
    """A minted access token and where it may be used.

    Kept in this stdlib-only module: Spark pickles it to workers, and unpickling it there should
    not import the Singer SDK.
    """

    value: str
    api_domain: str | None
    expires_at: float
    lifetime: float

    def __repr__(self) -> str:
        """Keep the token itself out of reprs, logs and tracebacks."""
        return f"AccessToken(api_domain={self.api_domain!r}, expires_at={self.expires_at:.0f})"

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether the token is still good for a request, with the safety margin."""
        margin = min(EXPIRY_MARGIN_SECONDS, self.lifetime / 4)
        return (now if now is not None else time.time()) < self.expires_at - margin

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AccessToken | None:
        """A token from its cache-file form; None if the entry is not one."""
        try:
            return cls(
                value=str(raw["value"]),
                api_domain=str(raw["api_domain"]) if raw.get("api_domain") else None,
                expires_at=float(raw["expires_at"]),
                lifetime=float(raw["lifetime"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass
class CachedEntry:
    """What one cache file holds: a token (or none) and the recent mint times."""

    token: dict[str, Any] | None = None
    mints: list[float] = field(default_factory=list)


class FileTokenCache:
    """One cache file (and its lock file) per credential key, in the token cache directory."""

    def __init__(
        self, directory: Path | None = None, *, lock_wait: float = LOCK_WAIT_SECONDS
    ) -> None:
        self.directory = directory if directory is not None else token_cache_dir()
        self.lock_wait = lock_wait

    def path(self, key: str) -> Path:
        """The cache file of one credential key (a hex digest: safe as a file name)."""
        return self.directory / f"{key}.json"

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[bool]:
        """Hold the key's exclusive lock; yields False (no lock, cache unusable) on I/O errors.

        Also False when another process holds the lock past ``lock_wait``: this one then mints
        on its own, as if there were no cache, rather than wait without end.
        """
        try:
            self._ensure_dir()
            handle: IO[str] = open(  # noqa: SIM115 - held for the whole block
                self.directory / f"{key}.lock", "a", encoding="utf-8"
            )
        except OSError as exc:
            logger.debug("token cache not used (%s: %s)", type(exc).__name__, exc.strerror)
            yield False
            return
        try:
            yield self._acquire(handle)
        finally:
            handle.close()  # closing releases the flock

    def _acquire(self, handle: IO[str]) -> bool:
        """Take the flock within ``lock_wait`` seconds (True), else give up (False)."""
        if fcntl is None:
            return True
        deadline = time.monotonic() + self.lock_wait
        step = LOCK_POLL_FIRST_S
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning(
                        "Another process has held the token cache lock for over %.0f s; "
                        "minting an access token without it",
                        self.lock_wait,
                    )
                    return False
                time.sleep(min(step, left))
                step = min(step * 2, LOCK_POLL_MAX_S)
            except OSError as exc:
                logger.debug("token cache not locked (%s: %s)", type(exc).__name__, exc.strerror)
                return False
            else:
                return True

    def load(self, key: str) -> CachedEntry:
        """The key's entry; an empty one if the file is missing, unreadable or malformed."""
        try:
            raw = json.loads(self.path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return CachedEntry()
        except (OSError, ValueError) as exc:
            logger.debug("token cache entry ignored (%s)", type(exc).__name__)
            return CachedEntry()
        if not isinstance(raw, dict):
            return CachedEntry()
        token = raw.get("token")
        mints = [float(t) for t in raw.get("mints") or [] if isinstance(t, int | float)]
        return CachedEntry(token if isinstance(token, dict) else None, mints)

    def store(self, key: str, entry: CachedEntry, now: float) -> None:
        """Write the entry atomically (temp file + rename), mode 0600; skip on I/O errors."""
        entry.mints = [t for t in entry.mints if now - t < MINT_WINDOW_SECONDS]
        try:
            self._ensure_dir()
            descriptor, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        except OSError as exc:
            logger.debug("token cache not written (%s: %s)", type(exc).__name__, exc.strerror)
            return
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                json.dump({"token": entry.token, "mints": entry.mints}, handle)
            os.replace(temp, self.path(key))
        except OSError as exc:
            logger.debug("token cache not written (%s: %s)", type(exc).__name__, exc.strerror)
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def _ensure_dir(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
