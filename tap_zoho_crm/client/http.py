"""ZohoClient: the only object in the tap that sends HTTP.

It owns the session, the authenticator, timeouts, retries (429 / 5xx / resets / timeouts,
exponential backoff with full jitter, ``Retry-After`` honoured, bounded in tries and time),
the translation of Zoho's error dialect into typed exceptions, the concurrency limit every
call passes (`tap_zoho_crm.client.concurrency`), and the stop on daily-credit exhaustion.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from requests.adapters import HTTPAdapter
from requests.utils import resolve_proxies
from urllib3.exceptions import NewConnectionError

from tap_zoho_crm.client.auth import ZohoAuthenticator
from tap_zoho_crm.client.concurrency import (
    EDITION_LIMITS,
    FALLBACK_EDITION_LIMIT,
    ConcurrencyLimiter,
    is_sub_pool_call,
    limit_for_org,
    usable,
)
from tap_zoho_crm.client.credits import CreditMeter
from tap_zoho_crm.client.errors import (
    NO_ITEMS,
    NOT_JSON,
    ErrorKind,
    ZohoAPIError,
    ZohoAuthError,
    ZohoConfigError,
    ZohoConnectionError,
    ZohoCreditsExhaustedError,
    ZohoInvalidTokenError,
    ZohoModuleUnavailableError,
    ZohoPaginationError,
    ZohoResponseError,
    ZohoRetriableError,
    ZohoRetriesExhaustedError,
    classify,
    mentions_concurrency,
    mentions_daily_limit,
)
from tap_zoho_crm.client.token_cache import LOCK_WAIT_SECONDS, FileTokenCache
from tap_zoho_crm.client.usage import UsageLedger, usage_credit_cost
from tap_zoho_crm.config import ZohoSettings, api_domain_for, check_url
from tap_zoho_crm.paging import IfModifiedSinceReading

T = TypeVar("T")
R = TypeVar("R")

API_PATH = "/crm/v8"
CREDITS_HEADER = "X-API-CREDITS-REMAINING"
#: Longest single wait taken from a ``Retry-After`` header, and the cap of the exponential.
MAX_RETRY_AFTER = 300.0
MAX_BACKOFF_STEP = 60.0
BACKOFF_FACTOR = 1.0

_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)

#: Seconds to wait for a TCP connection, and how long a host that cannot be connected to at
#: all (unresolvable, refused, unroutable) is retried after its first failure: together they
#: keep a wrong data centre or a dead network to one line within 15 s.
CONNECT_TIMEOUT = 5.0
CONNECT_RETRY_SECONDS = 3.0
#: Tokens one call may try. A refused token died early (revoked, or evicted: Zoho keeps a few
#: live tokens per refresh token); the next may be one another thread fetched just before it
#: died too; only a third refusal says the tokens are refused here (a data-centre mismatch).
#: Each try sends another token: a refused one is never handed out again (client/auth.py).
TOKEN_ATTEMPTS = 3

CREDITS_MESSAGE = (
    "Zoho API credits for the org's rolling 24-hour window are exhausted; the sync stopped "
    "and its state was saved. Run again once credits are available"
)


@dataclass(frozen=True)
class ZohoResponse:
    """A successful CRM answer. 204 and 304 carry no body and mean "nothing here"."""

    status: int
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """204 No Content or 304 Not Modified."""
        return self.status in {204, 304}

    def items(self, key: str) -> list[dict[str, Any]]:
        """The list under ``key`` (``data``, ``users``, ``fields``...), empty when absent."""
        value = self.body.get(key)
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    @property
    def info(self) -> Mapping[str, Any]:
        """The paging ``info`` object (empty when absent)."""
        info = self.body.get("info")
        return info if isinstance(info, dict) else {}


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date) into a bounded wait."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def retry_waits(factor: float = BACKOFF_FACTOR) -> Generator[float, Any, None]:
    """Backoff wait generator: the server's ``Retry-After`` if given, else full-jitter expo.

    ``backoff`` sends the raised exception into the generator, so one generator can honour
    the header when present and fall back to exponential waits otherwise.
    """
    exc = yield 0.0
    attempt = 0
    while True:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = float(retry_after)
        else:
            wait = random.uniform(0, min(MAX_BACKOFF_STEP, factor * 2**attempt))  # noqa: S311
        attempt += 1
        exc = yield wait


#: Parses a body about three times as fast as ``response.json()`` (simplejson when installed):
#: on a 200-record page parsing was a third of the tap's CPU (docs/performance.md).
_decode_json = msgspec.json.Decoder().decode


#: Bytes asked of the socket per read of a body (requests reads 10 KiB at a time otherwise).
BODY_READ_BYTES = 1 << 20


def read_body(response: requests.Response) -> None:
    """Read a streamed response's body in reads of `BODY_READ_BYTES`.

    ``Response.content`` reads 10 KiB at a time: 35 reads for a page of 200 records, each
    releasing the interpreter lock and waiting to take it back, which under many threads is up
    to a switch interval (5 ms) per read. Read this way a page takes a few. ``iter_content``
    keeps requests' mapping of urllib3's errors (a cut body is ``ChunkedEncodingError``).
    """
    try:
        body = b"".join(response.iter_content(BODY_READ_BYTES))
    except BaseException:
        response.close()  # a half-read connection goes back to no pool
        raise
    # What ``Response.content`` itself sets once it has read the body.
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    """The JSON object a body holds, else None.

    Zoho answers UTF-8; a body in another declared charset goes through ``response.json()``,
    which honours it.
    """
    try:
        body = _decode_json(response.content)
    except ValueError:
        try:
            body = response.json()
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def is_connect_failure(exc: BaseException) -> bool:
    """Whether no connection could be made at all (as opposed to one reset mid-answer)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or not exc.args:
        return False
    return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)


def _body_kind(response: requests.Response) -> str:
    """What a body that is not a JSON object looks like, for the error line."""
    text = response.text.strip()
    if not text:
        return "an empty body"
    if text.startswith("<"):
        return "an HTML page"
    if text.startswith(("{", "[")):
        return "JSON cut short or malformed"
    return "a body that is not JSON"


#: The one CRM read answering a number instead of a list: ``{"count": N}``.
COUNT_PATH_SUFFIX = "/actions/count"


def success_problem(body: Mapping[str, Any], path: str = "") -> tuple[str, str] | None:
    """Why a 2xx JSON answer is not a well-formed CRM success, as (code, message), or None.

    Every CRM read this tap makes answers its items as a list (``data``, ``modules``,
    ``fields``, ``users``...), except ``actions/count`` (an integer ``count``). Zoho has also
    answered an error body, or a ``data`` list holding an error entry, with HTTP 200; read as
    "no items" those would silently end a walk.
    """
    if str(body.get("status", "")).lower() == "error" or (
        body.get("code") and not any(isinstance(v, list) for v in body.values())
    ):
        return str(body.get("code") or "ERROR"), str(body.get("message") or "error body")
    data = body.get("data")
    if isinstance(data, list):
        for entry in data:
            if isinstance(entry, dict) and str(entry.get("status", "")).lower() == "error":
                code = str(entry.get("code") or "ERROR")
                return code, f"a data entry is an error: {entry.get('message') or code}"
    if path.endswith(COUNT_PATH_SUFFIX):
        count = body.get("count")
        if isinstance(count, int) and not isinstance(count, bool):
            return None
        return NO_ITEMS, "a count answer without its integer 'count'"
    if not any(isinstance(value, list) for value in body.values()):
        return NO_ITEMS, "a success answer without its list of items (no 'data')"
    return None


class ZohoClient:
    """Sends every request of one Tap instance to Zoho Accounts and the CRM API."""

    def __init__(self, settings: ZohoSettings, *, logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.logger = logger or logging.getLogger(__name__)
        self.session = requests.Session()
        self.session.headers.update(
            {"User-Agent": settings.user_agent, "Accept": "application/json"}
        )
        pool = 2 * (settings.max_concurrency or max(EDITION_LIMITS.values()))
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        #: Proxies per scheme and host, from the environment (``HTTPS_PROXY``, ``NO_PROXY``...).
        #: requests reads the whole environment for them on every request it sends, a few
        #: hundred variables a call; the environment does not change during a run.
        self._proxies_by_host: dict[tuple[str, str], dict[str, str]] = {}
        self.authenticator = ZohoAuthenticator(
            accounts_url=settings.accounts_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token,
            transport=self._post_token,
            throttle_max_wait=settings.token_throttle_max_wait,
            logger=self.logger,
            file_cache=(
                FileTokenCache(lock_wait=settings.token_throttle_max_wait + LOCK_WAIT_SECONDS)
                if settings.token_cache
                else None
            ),
        )
        #: Every call passes it: ``max_concurrency``, else the org's edition limit less headroom.
        self.limiter = ConcurrencyLimiter(
            settings.max_concurrency or usable(FALLBACK_EDITION_LIMIT), logger=self.logger
        )
        self._concurrency_known = settings.max_concurrency is not None
        self._concurrency_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._credits_remaining: int | None = None
        self._credits_exhausted = False
        #: Credits this run spent, by Zoho's cost table, and its budget (client/credits.py).
        self.credit_meter = CreditMeter(settings.max_credits_per_run)
        self._api_base: str | None = None
        #: When connecting first failed with no answer since (see `_gives_up`).
        self._connect_failing_since: float | None = None
        #: What the walks of this client learned of If-Modified-Since (paging.py).
        self.if_modified_since = IfModifiedSinceReading()
        #: API calls sent, by path (attempts that reached the server, retries included).
        self.calls: Counter[str] = Counter()
        #: Calls and credits per stream, for progress lines and the run report (usage.py).
        self.usage = UsageLedger()
        self._get = self._with_retries(self._get_once)
        self._post_form = self._with_retries(self._post_form_once)
        self._post_json = self._with_retries(self._post_json_once)
        self._download = self._with_retries(self._download_once)

    def __repr__(self) -> str:
        """Name the data centre only."""
        return f"ZohoClient(accounts_url={self.settings.accounts_url!r})"

    # -- public surface -------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """``https://www.zohoapis.<dc>/crm/v8``: the api_url override, else the token's domain."""
        if self._api_base is None:
            domain = (
                self.settings.api_url
                or self.authenticator.api_domain
                or api_domain_for(self.settings.accounts_url)
            )
            if not domain:
                raise ZohoConfigError(
                    "Zoho did not name an API domain and base_url is not a known data centre; "
                    "set 'api_url' (e.g. https://www.zohoapis.com)"
                )
            # The token carries to this host, so Zoho's answer gets the same https check.
            domain = check_url(domain, "api_url" if self.settings.api_url else "api_domain")
            self._api_base = domain if domain.endswith(API_PATH) else domain + API_PATH
        return self._api_base

    @property
    def credits_remaining(self) -> int | None:
        """The last ``X-API-CREDITS-REMAINING`` seen (Zoho sends it once half is used)."""
        return self._credits_remaining

    @property
    def credits_spent(self) -> int:
        """Credits this client's calls cost so far (Zoho's documented cost per call)."""
        return self.credit_meter.spent

    def run_credits_left(self) -> int | None:
        """Credits this run may still spend; None when it has no budget to keep to.

        The budget is ``max_credits_per_run``, else a share of what the org has left once Zoho
        reports it (client/credits.py).
        """
        return self.credit_meter.left()

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ZohoResponse:
        """GET a CRM path (relative to ``/crm/v8``), with retries and one token refresh."""
        return self._refreshing(self._get, self._url(path), dict(params or {}), dict(headers or {}))

    def post_json(self, path: str, body: Mapping[str, Any]) -> ZohoResponse:
        """POST a JSON body to a CRM read endpoint (COQL), with the retries and refresh of GET."""
        return self._refreshing(self._post_json, self._url(path), dict(body), {})

    def download(self, path: str, sink: BinaryIO) -> int:
        """GET a file (a Bulk Read result) into ``sink``, streamed; the bytes written.

        Same retries, refresh, limiter and credit accounting as `get`; an error answer is
        Zoho's JSON and raises as any other.
        """
        return self._refreshing(self._download, self._url(path), sink)

    def _url(self, path: str) -> str:
        """A path relative to ``/crm/v8``, or an absolute CRM path (``/crm/bulk/v8/...``)."""
        if path.startswith("/crm/"):
            return self.api_base[: -len(API_PATH)] + path
        return f"{self.api_base}/{path.lstrip('/')}"

    def _refreshing(self, send: Callable[..., T], url: str, *args: Any) -> T:
        for _ in range(TOKEN_ATTEMPTS - 1):
            try:
                return send(url, *args)
            except ZohoInvalidTokenError:
                continue  # `_send_once` dropped the token: the next try sends another
        try:
            return send(url, *args)
        except ZohoInvalidTokenError:
            raise ZohoAuthError(
                "Zoho rejected a freshly minted access token (INVALID_TOKEN); check that "
                "base_url and api_url belong to the same data centre"
            ) from None

    def concurrency(self) -> int:
        """Calls to keep in flight: ``max_concurrency``, else the org's edition limit less headroom.

        The org record (one call, ``GET /org``) is read the first time concurrency matters;
        an org that cannot be read (no ``ZohoCRM.org.READ``) counts as the smallest edition.
        """
        if not self._concurrency_known:
            with self._concurrency_lock:
                if not self._concurrency_known:
                    self.limiter.set_limit(usable(self._edition_limit()))
                    self._concurrency_known = True
        return self.limiter.limit

    def _edition_limit(self) -> int:
        try:
            orgs = self.get("org").items("org")
        except ZohoAPIError as exc:
            self.logger.warning(
                "Could not read the org's edition (%s %s); keeping to the smallest edition's "
                "concurrency limit (set max_concurrency to choose)",
                exc.status,
                exc.code,
            )
            return FALLBACK_EDITION_LIMIT
        limit, edition = limit_for_org(orgs[0] if orgs else {})
        self.logger.info(
            "Zoho edition %s allows %d calls in flight; using %d",
            edition or "unknown",
            limit,
            usable(limit),
        )
        return limit

    def map_concurrent(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` on up to `concurrency` threads, keeping order.

        Every request still passes the client's limiter, so in-flight calls never exceed
        the limit however the fan-outs nest.
        """
        work = list(items)
        if len(work) <= 1 or self.concurrency() == 1:
            return [fn(item) for item in work]
        workers = min(self.concurrency(), len(work))
        # Each worker runs in a copy of the caller's context: its calls are charged to the
        # caller's stream (usage.CURRENT_STREAM).
        caller = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoho") as pool:
            return list(pool.map(lambda item: caller.copy().run(fn, item), work))

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    # -- sending --------------------------------------------------------------------------

    def _with_retries(self, send: Callable[..., T]) -> Callable[..., T]:
        retrying = backoff.on_exception(
            retry_waits,
            (ZohoRetriableError, *_CONNECTION_ERRORS),
            max_tries=self.settings.max_retries,
            max_time=self.settings.max_retry_seconds,
            jitter=None,
            giveup=self._gives_up,
            on_backoff=self._log_retry,
            logger=None,
        )(send)

        def send_or_explain(url: str, *args: Any) -> T:
            try:
                return retrying(url, *args)
            except ZohoRetriableError as exc:
                if exc.status == 429 and mentions_daily_limit(exc.zoho_message):
                    self._credits_exhausted = True
                    raise ZohoCreditsExhaustedError(CREDITS_MESSAGE) from None
                raise ZohoRetriesExhaustedError(
                    status=exc.status,
                    code=exc.code,
                    message=f"{exc.zoho_message} (gave up after retries)",
                    details=exc.details,
                    path=exc.path,
                ) from None
            except _CONNECTION_ERRORS as exc:
                raise ZohoConnectionError(self._no_answer_line(url, exc)) from None

        return send_or_explain

    def _gives_up(self, exc: Exception) -> bool:
        """Stop retrying a host that cannot be connected to once `CONNECT_RETRY_SECONDS` passed.

        Resets and read timeouts of a host that answers are retried in full; a host that never
        accepts a connection (wrong data centre, DNS, firewall) is not worth minutes of waits.
        """
        if not is_connect_failure(exc):
            return False
        now = time.monotonic()
        if self._connect_failing_since is None:
            self._connect_failing_since = now
        return now - self._connect_failing_since >= CONNECT_RETRY_SECONDS

    def _no_answer_line(self, url: str, exc: Exception) -> str:
        """One line naming the host and the data-centre setting that chose it."""
        parts = urlsplit(url)
        host = parts.hostname or parts.netloc
        if host == urlsplit(self.settings.accounts_url).hostname:
            setting = f"base_url ({self.settings.accounts_url})"
        elif self.settings.api_url:
            setting = f"api_url ({self.settings.api_url})"
        else:
            setting = f"base_url ({self.settings.accounts_url}), whose data centre named it"
        if is_connect_failure(exc):
            return (
                f"cannot connect to {host} ({type(exc).__name__}); check the data-centre "
                f"setting {setting} and the network"
            )
        return (
            f"could not get an answer from {parts.scheme}://{parts.netloc}{parts.path} "
            f"({type(exc).__name__}) after retrying; check the data-centre setting {setting} "
            "and the network"
        )

    def _log_retry(self, details: Mapping[str, Any]) -> None:
        exc = details.get("exception")
        if isinstance(exc, ZohoAPIError):
            reason = f"HTTP {exc.status} {exc.code}"
        else:
            reason = type(exc).__name__
        url = details["args"][0] if details.get("args") else ""
        self.logger.warning(
            "Retrying %s in %.1f s after %s (attempt %d of %d)",
            urlsplit(str(url)).path,
            details["wait"],
            reason,
            details["tries"],
            self.settings.max_retries,
        )

    def _get_once(self, url: str, params: dict[str, Any], headers: dict[str, str]) -> ZohoResponse:
        return self._send_once(requests.Request("GET", url, params=params, headers=headers))

    def _post_json_once(
        self, url: str, body: dict[str, Any], headers: dict[str, str]
    ) -> ZohoResponse:
        return self._send_once(requests.Request("POST", url, json=body, headers=headers))

    def _download_once(self, url: str, sink: BinaryIO) -> int:
        return int(self._send_once(requests.Request("GET", url), sink=sink).body["bytes"])

    def _send_once(self, request: requests.Request, sink: BinaryIO | None = None) -> ZohoResponse:
        if self._credits_exhausted:
            raise ZohoCreditsExhaustedError(CREDITS_MESSAGE)
        url = str(request.url)
        prepared = self.session.prepare_request(request)
        self.authenticator.authenticate_request(prepared)  # may mint, outside the semaphore
        heavy = is_sub_pool_call(str(prepared.method), str(prepared.url))
        with self.limiter.slot(heavy=heavy) as admission:
            response = self.session.send(
                prepared,
                timeout=self._timeouts,
                stream=True,
                proxies=self._proxies(prepared),
            )
            if sink is not None and response.status_code == 200:
                sink.seek(0)
                sink.truncate()
                written = sum(sink.write(chunk) for chunk in response.iter_content(1 << 16))
            else:
                read_body(response)
        self._connect_failing_since = None
        path = urlsplit(url).path
        self._count(path)
        credits = usage_credit_cost(
            str(request.method), path, request.params, request.json, response.status_code
        )
        self.credit_meter.charge(credits)
        self.usage.charge_call(credits)
        self._track_credits(response.headers)
        if sink is not None and response.status_code == 200:
            return ZohoResponse(status=200, body={"bytes": written})
        try:
            return self._interpret(response, path)
        except ZohoInvalidTokenError:
            self.authenticator.invalidate(prepared.headers.get("Authorization"))
            raise
        except ZohoRetriableError as exc:
            if exc.status == 429 and mentions_concurrency(exc.zoho_message):
                self.limiter.refused(admission)
            raise

    def _proxies(self, prepared: requests.PreparedRequest) -> dict[str, str]:
        """What requests would resolve for this request's host, resolved once per host."""
        parts = urlsplit(str(prepared.url))
        key = (parts.scheme, parts.netloc)
        proxies = self._proxies_by_host.get(key)
        if proxies is None:
            proxies = resolve_proxies(prepared, dict(self.session.proxies), self.session.trust_env)
            self._proxies_by_host[key] = proxies
        return proxies

    def _post_token(self, url: str, form: Mapping[str, str]) -> requests.Response:
        response: requests.Response = self._post_form(url, form)
        return response

    def _post_form_once(self, url: str, form: Mapping[str, str]) -> requests.Response:
        response = self.session.post(url, data=dict(form), timeout=self._timeouts)
        self._connect_failing_since = None
        self._count(urlsplit(url).path)
        if response.status_code >= 500:
            raise ZohoRetriableError(
                status=response.status_code,
                code="SERVER_ERROR",
                message="token endpoint error",
                path=urlsplit(url).path,
                retry_after=retry_after_seconds(response.headers),
            )
        return response

    @property
    def _timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds: a connection is made quickly or not at all."""
        timeout = self.settings.request_timeout
        return min(CONNECT_TIMEOUT, timeout), timeout

    def _count(self, path: str) -> None:
        with self._state_lock:
            self.calls[path] += 1

    def _track_credits(self, headers: Mapping[str, str]) -> None:
        raw = headers.get(CREDITS_HEADER)
        if raw is None:
            return
        try:
            remaining = int(raw)
        except ValueError:
            return
        with self._state_lock:
            first = self._credits_remaining is None
            if self._credits_exhausted:
                remaining = 0  # an answer sent before the one that refused, read after it
            # Concurrent answers are read in any order: the lowest count seen is the newest
            # (credits come back only as calls leave Zoho's rolling 24 hours, over hours).
            if not first and self._credits_remaining is not None:
                remaining = min(remaining, self._credits_remaining)
            self._credits_remaining = remaining
            self.credit_meter.saw_remaining(remaining)
            if remaining <= 0:
                self._credits_exhausted = True
        if first:
            self.logger.warning(
                "More than half of today's Zoho API credits are used (%d remaining)", remaining
            )

    def _interpret(self, response: requests.Response, path: str) -> ZohoResponse:
        status = response.status_code
        if status in {204, 304}:
            return ZohoResponse(status=status)
        body = _error_body(response)
        if 200 <= status < 300:
            if body is None:
                # A proxy page, a cut connection, a half-written body: transient like a 5xx.
                raise ZohoRetriableError(
                    status=status,
                    code=NOT_JSON,
                    message=f"{_body_kind(response)}: the body is not Zoho's JSON; check api_url",
                    path=path,
                )
            problem = success_problem(body, path)
            if problem is None:
                return ZohoResponse(status=status, body=body)
            code, message = problem
            if code == NO_ITEMS:
                raise ZohoRetriableError(status=status, code=code, message=message, path=path)
        else:
            body = body or {}
            code = str(body.get("code") or "")
            message = str(body.get("message") or "")
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        if not code and status not in {429} and status < 500:
            raise ZohoResponseError(
                f"{path} answered HTTP {status} without a Zoho error body; check api_url",
                status=status,
            )
        kind = classify(status, code, message=message, credits_remaining=self._credits_remaining)
        fields: dict[str, Any] = {
            "status": status,
            "code": code or f"HTTP_{status}",
            "message": message or response.reason or "",
            "details": details,
            "path": path,
        }
        if kind is ErrorKind.CREDITS_EXHAUSTED:
            with self._state_lock:
                self._credits_exhausted = True
                self._credits_remaining = 0
            raise ZohoCreditsExhaustedError(CREDITS_MESSAGE)
        if kind is ErrorKind.RETRY:
            raise ZohoRetriableError(retry_after=retry_after_seconds(response.headers), **fields)
        if kind is ErrorKind.REFRESH_TOKEN:
            raise ZohoInvalidTokenError(**fields)
        if kind is ErrorKind.MODULE_UNAVAILABLE:
            raise ZohoModuleUnavailableError(**fields)
        if kind is ErrorKind.PAGINATION_RESET:
            raise ZohoPaginationError(**fields)
        if status == 401:
            raise ZohoAuthError(
                f"Zoho refused the access token on {path} ({fields['code']}): check the "
                "OAuth scopes granted to the refresh token"
            )
        raise ZohoAPIError(**fields)
