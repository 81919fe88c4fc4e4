"""Settings: the seed doc's aliases, data centres, URL safety and the typed view of config.

The tap's config dict is what Meltano, the CLI and the Lakeflow bridge hand over. This module
turns it into one validated `ZohoSettings`, so the rest of the code never re-reads raw keys.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tap_zoho_crm.client.errors import ZohoConfigError

#: Seed-doc (Databricks connector) option names accepted as aliases of our settings.
ALIASES: Mapping[str, str] = {
    "client_value_tmp": "client_secret",
    "refresh_value_tmp": "refresh_token",
    "initial_load_start_date": "start_date",
}

#: Zoho accounts host -> API domain, for the data centres in the API spec. The token
#: response's ``api_domain`` wins; this table only fills in when it is missing.
DATA_CENTRES: Mapping[str, str] = {
    "accounts.zoho.com": "https://www.zohoapis.com",
    "accounts.zoho.eu": "https://www.zohoapis.eu",
    "accounts.zoho.in": "https://www.zohoapis.in",
    "accounts.zoho.com.au": "https://www.zohoapis.com.au",
    "accounts.zoho.com.cn": "https://www.zohoapis.com.cn",
    "accounts.zoho.jp": "https://www.zohoapis.jp",
    "accounts.zohocloud.ca": "https://www.zohoapis.ca",
    "accounts.zoho.sa": "https://www.zohoapis.sa",
    "accounts.zoho.uk": "https://www.zohoapis.uk",
}

#: Data centre names (the ``region`` setting) -> Zoho Accounts URL.
REGIONS: Mapping[str, str] = {
    "us": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "au": "https://accounts.zoho.com.au",
    "cn": "https://accounts.zoho.com.cn",
    "jp": "https://accounts.zoho.jp",
    "ca": "https://accounts.zohocloud.ca",
    "sa": "https://accounts.zoho.sa",
}

DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"
DEFAULT_PAGE_SIZE = 200
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 8
DEFAULT_MAX_RETRY_SECONDS = 600.0
DEFAULT_TOKEN_THROTTLE_WAIT = 120.0
#: A complete junction pass at most once a day: removals and changes no timestamp shows are at
#: most a day late, and the runs between cost what changed (docs/junctions.md).
DEFAULT_JUNCTION_FULL_PASS_HOURS = 24.0
#: A Bulk Read load costs about 55 credits (the job 50, a count, a few polls, the download),
#: Get Records 1 per 200 records: even at 11,000 records. Twice that leaves room for the
#: lookup completion (1 credit per 100 records read by id) and the job's minutes of waiting.
DEFAULT_BULK_READ_MIN_RECORDS = 20_000
MAX_CREDITS_PER_RUN = 100_000_000

_CREDENTIALS = ("client_id", "client_secret", "refresh_token")


def apply_aliases(config: MutableMapping[str, Any]) -> None:
    """Move seed-doc option names onto ours, in place.

    In place because the SDK keeps (and validates) the very dict it was given. Both names
    with different values is ambiguous and refused rather than silently picking one.
    """
    for alias, name in ALIASES.items():
        if alias not in config:
            continue
        value = config.pop(alias)
        if value in (None, ""):
            continue
        if config.get(name) not in (None, "") and config[name] != value:
            raise ZohoConfigError(
                f"both '{name}' and its alias '{alias}' are set, to different values; keep only one"
            )
        config[name] = value


def is_loopback(host: str) -> bool:
    """Whether a host name is this machine (where plain http is acceptable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, setting: str) -> str:
    """Validate a configured URL and return it without a trailing slash.

    Tokens travel in requests to these URLs, so anything but https is refused unless the
    server is on loopback (the emulator, a local proxy).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ZohoConfigError(
            f"'{setting}' must be a full URL like https://accounts.zoho.com (got {url!r})"
        )
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise ZohoConfigError(
            f"'{setting}' must use https (only loopback addresses may use http); "
            f"got {parts.scheme}://{parts.hostname}"
        )
    if parts.query or parts.fragment:
        raise ZohoConfigError(f"'{setting}' must not contain a query or fragment")
    return url.strip().rstrip("/")


def accounts_url_for(region: Any, base_url: Any) -> str:
    """The Zoho Accounts URL from ``region`` (a data centre name) or ``base_url``.

    Both may be given if they agree; different data centres are refused rather than guessed.
    """
    url = check_url(str(base_url), "base_url") if base_url not in (None, "") else None
    if region in (None, ""):
        return url or DEFAULT_ACCOUNTS_URL
    name = str(region).strip().lower()
    if name not in REGIONS:
        raise ZohoConfigError(f"'region' must be one of {', '.join(REGIONS)} (got {str(region)!r})")
    if url is not None and url != REGIONS[name]:
        raise ZohoConfigError(
            f"'region' {name} means {REGIONS[name]}, but 'base_url' is {url}; keep only one"
        )
    return REGIONS[name]


def parse_start_date(value: str) -> dt.datetime:
    """Parse ``start_date`` into an aware UTC datetime.

    Accepts what people write: a date, or an ISO 8601 datetime with ``Z``, an offset, or
    no offset (taken as UTC).
    """
    text = str(value).strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ZohoConfigError(
            f"'start_date' is not an ISO 8601 date or datetime: {text!r} "
            "(example: 2024-01-01T00:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def api_domain_for(accounts_url: str) -> str | None:
    """The documented API domain of a data centre, when the accounts host is a known one."""
    host = urlsplit(accounts_url).hostname or ""
    return DATA_CENTRES.get(host)


def _names(value: Any, setting: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Iterable):
        raise ZohoConfigError(f"'{setting}' must be a list of names")
    return tuple(str(name).strip() for name in value if str(name).strip())


def _number(config: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    raw = config.get(name)
    if raw in (None, ""):
        return default
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ZohoConfigError(f"'{name}' must be a number (got {raw!r})") from None
    if not low <= number <= high:
        raise ZohoConfigError(f"'{name}' must be between {low:g} and {high:g} (got {raw!r})")
    return number


def _optional_int(config: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    if config.get(name) in (None, ""):
        return None
    number = _number(config, name, low, low, high)
    if number != int(number):
        raise ZohoConfigError(f"'{name}' must be a whole number (got {config[name]!r})")
    return int(number)


def _flag(config: Mapping[str, Any], name: str, *, default: bool) -> bool:
    raw = config.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ZohoConfigError(f"'{name}' must be true or false (got {raw!r})")


@dataclass(frozen=True)
class ZohoSettings:
    """The validated settings every component reads."""

    client_id: str
    client_secret: str
    refresh_token: str
    accounts_url: str
    api_url: str | None
    start_date: dt.datetime | None
    include_modules: tuple[str, ...]
    exclude_modules: tuple[str, ...]
    page_size: int
    #: Calls in flight at once; None: the org's edition limit less headroom (client/concurrency.py).
    max_concurrency: int | None
    request_timeout: float
    max_retries: int
    max_retry_seconds: float
    token_throttle_max_wait: float
    user_agent: str
    full_rich_text: bool = True
    #: Derived streams (tap_zoho_crm/streams/deleted.py, junctions.py, subforms.py, attachments.py).
    emit_tombstones: bool = False
    skip_unavailable_streams: bool = True
    include_subforms: bool = False
    include_attachments: bool = False
    junction_full_pass_hours: float = DEFAULT_JUNCTION_FULL_PASS_HOURS
    #: Credits one run may spend on passes it can spread over runs; None: a share of what the
    #: org has left (client/credits.py).
    max_credits_per_run: int | None = None
    #: How far before its bookmark an incremental read starts again (see base.starting_point).
    lookback_seconds: float = 0.0
    #: Share access tokens with other processes through the cache file (client/token_cache.py).
    token_cache: bool = True
    #: Seconds between progress lines (0: none); see tap_zoho_crm/client/usage.py.
    progress_interval_seconds: float = 30.0
    #: What a record that cannot be keyed does: ``fail`` the stream or ``skip`` it (bad_records.py).
    on_bad_record: str = "fail"
    #: Read a wide Modified_Time range as concurrent windows (tap_zoho_crm/reading/windows.py).
    windowed_reads: bool = True
    #: Streams read at once (reading/readahead.py); None: the limit of calls in flight.
    streams_in_flight: int | None = None
    #: Fewest records per window: a range under two windows' worth is read as one walk.
    window_min_records: int = 4000
    #: First syncs of modules with more records than this go through Bulk Read (reading/bulk.py);
    #: 0: never.
    bulk_read_min_records: int = DEFAULT_BULK_READ_MIN_RECORDS

    def __repr__(self) -> str:
        """Show settings without the secrets (a repr can end up in logs and tracebacks)."""
        return (
            f"ZohoSettings(accounts_url={self.accounts_url!r}, api_url={self.api_url!r}, "
            f"client_id={self.client_id!r}, start_date={self.start_date!r}, "
            f"include_modules={self.include_modules!r}, exclude_modules={self.exclude_modules!r}, "
            f"page_size={self.page_size}, max_concurrency={self.max_concurrency})"
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, user_agent: str) -> ZohoSettings:
        """Build settings from an alias-resolved config, with one clear error per mistake."""
        missing = [name for name in _CREDENTIALS if config.get(name) in (None, "")]
        if missing:
            aliases = {name: alias for alias, name in ALIASES.items()}
            described = [
                f"{name} (or {aliases[name]})" if name in aliases else name for name in missing
            ]
            raise ZohoConfigError(f"missing required setting(s): {', '.join(described)}")
        start = config.get("start_date")
        api_url = config.get("api_url")
        return cls(
            client_id=str(config["client_id"]).strip(),
            client_secret=str(config["client_secret"]).strip(),
            refresh_token=str(config["refresh_token"]).strip(),
            accounts_url=accounts_url_for(config.get("region"), config.get("base_url")),
            api_url=check_url(api_url, "api_url") if api_url else None,
            start_date=parse_start_date(start) if start not in (None, "") else None,
            include_modules=_names(config.get("include_modules"), "include_modules"),
            exclude_modules=_names(config.get("exclude_modules"), "exclude_modules"),
            page_size=int(_number(config, "page_size", DEFAULT_PAGE_SIZE, 1, 200)),
            max_concurrency=int(_number(config, "max_concurrency", 0, 1, 25)) or None,
            request_timeout=_number(config, "request_timeout", DEFAULT_REQUEST_TIMEOUT, 1, 3600),
            max_retries=int(_number(config, "max_retries", DEFAULT_MAX_RETRIES, 1, 50)),
            max_retry_seconds=_number(
                config, "max_retry_seconds", DEFAULT_MAX_RETRY_SECONDS, 1, 86400
            ),
            token_throttle_max_wait=_number(
                config, "token_throttle_max_wait", DEFAULT_TOKEN_THROTTLE_WAIT, 0, 3600
            ),
            user_agent=str(config.get("user_agent") or user_agent),
            full_rich_text=_flag(config, "full_rich_text", default=True),
            emit_tombstones=_flag(config, "emit_tombstones", default=False),
            skip_unavailable_streams=_flag(config, "skip_unavailable_streams", default=True),
            include_subforms=_flag(config, "include_subforms", default=False),
            include_attachments=_flag(config, "include_attachments", default=False),
            junction_full_pass_hours=_number(
                config, "junction_full_pass_hours", DEFAULT_JUNCTION_FULL_PASS_HOURS, 0, 24 * 366
            ),
            max_credits_per_run=_optional_int(
                config, "max_credits_per_run", 1, MAX_CREDITS_PER_RUN
            ),
            lookback_seconds=_number(config, "lookback_seconds", 0, 0, 86400),
            token_cache=_flag(config, "token_cache", default=True),
            progress_interval_seconds=_number(config, "progress_interval_seconds", 30, 0, 86400),
            on_bad_record=_choice(config, "on_bad_record", ("fail", "skip")),
            windowed_reads=_flag(config, "windowed_reads", default=True),
            streams_in_flight=int(_number(config, "streams_in_flight", 0, 1, 25)) or None,
            window_min_records=int(_number(config, "window_min_records", 4000, 200, 10**7)),
            bulk_read_min_records=int(
                _number(config, "bulk_read_min_records", DEFAULT_BULK_READ_MIN_RECORDS, 0, 10**9)
            ),
        )


def _choice(config: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first is the default)."""
    raw = config.get(name)
    if raw in (None, ""):
        return choices[0]
    if str(raw).strip().lower() not in choices:
        raise ZohoConfigError(f"'{name}' must be one of {', '.join(choices)} (got {raw!r})")
    return str(raw).strip().lower()


def check_module_names(
    requested: Iterable[str], available: Iterable[str], setting: str = "include_modules"
) -> None:
    """Refuse names that match no stream, suggesting the closest real ones."""
    known = sorted(set(available))
    unknown = [name for name in requested if name not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1) or [
            k for k in known if k.lower() == name.lower()
        ]
        hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise ZohoConfigError(
        f"unknown module(s) in '{setting}': {', '.join(hints)}; available: {', '.join(known)}"
    )
