"""The HTTP layer: routing, the per-call pipeline (faults, auth, limits, credits) and the server.

Pipeline for a CRM call: count it, maybe reset the connection or answer a random 500, check the
token, take a concurrency slot, sleep the configured latency, charge credits, run the handler
under the org lock. ``X-Emulator-Time-Ms`` reports the server time spent (wall clock, latency
excluded) and ``X-Emulator-Cpu-Ms`` the CPU time of the handling thread (immune to a busy box).
"""

from __future__ import annotations

import logging
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import admin, bulk, coql, records, related, scopes, settings_api
from .badanswers import bad_answer, spoil_records
from .errors import ApiError
from .faults import HOLD_TIMEOUT_S, LoggedCall
from .http import Context, Request, Response

if TYPE_CHECKING:
    from .emulator import ZohoEmulator

log = logging.getLogger("tap_zoho_crm.testing.emulator")

Handler = Callable[[Context, Request], Response]
Cost = Callable[[Request], int]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    kind: str  # crm | oauth | admin
    cost: Cost
    sub_pool: Callable[[Request], bool]


def _one(req: Request) -> int:
    return 1


def _never(req: Request) -> bool:
    return False


def _get_records_cost(req: Request) -> int:
    return 3 if req.has("cvid") else 1


def _get_records_sub(req: Request) -> bool:
    return req.has("cvid") or req.has("sort_by")


def _compile(template: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{[a-z_]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            regex += rf"(?P<{name}>\d+)" if name in ("id", "job_id") else rf"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


def build_routes() -> list[Route]:
    table: list[tuple[str, str, Handler, str, Cost, Callable[[Request], bool]]] = []

    def add(
        method: str,
        template: str,
        handler: Handler,
        *,
        kind: str = "crm",
        cost: Cost = _one,
        sub: Callable[[Request], bool] = _never,
    ) -> None:
        table.append((method, template, handler, kind, cost, sub))

    v8 = "/crm/v8"
    add("POST", "/oauth/v2/token", lambda c, r: c.emu.oauth.token_endpoint(c, r), kind="oauth")
    add(
        "POST",
        "/oauth/v2/token/revoke",
        lambda c, r: c.emu.oauth.revoke_endpoint(c, r),
        kind="oauth",
    )
    add("GET", "/oauth/v2/auth", lambda c, r: c.emu.oauth.consent(c, r), kind="oauth")
    add("POST", "/oauth/v2/auth", lambda c, r: c.emu.oauth.consent(c, r), kind="oauth")
    add("GET", f"{v8}/settings/modules", settings_api.modules)
    add("GET", f"{v8}/settings/modules/{{module}}", settings_api.module)
    add("GET", f"{v8}/settings/fields", settings_api.fields)
    add("GET", f"{v8}/settings/related_lists", settings_api.related_lists)
    add("GET", f"{v8}/settings/roles", settings_api.roles)
    add("GET", f"{v8}/settings/profiles", settings_api.profiles)
    add("GET", f"{v8}/users", settings_api.users)
    add("GET", f"{v8}/users/{{id}}", settings_api.user)
    add("GET", f"{v8}/org", settings_api.org_info)
    add("POST", f"{v8}/coql", coql.handle, cost=coql.cost, sub=lambda r: True)
    add("GET", f"{v8}/Contacts/roles", related.contact_roles_settings)
    add("GET", f"{v8}/{{module}}/actions/count", records.record_count)
    add("GET", f"{v8}/{{module}}/deleted", records.deleted_records)
    add("GET", f"{v8}/{{module}}/{{id}}", records.get_record)
    add("GET", f"{v8}/{{module}}/{{id}}/{{related}}", related.get_related)
    add(
        "GET",
        f"{v8}/{{module}}",
        records.get_records,
        cost=_get_records_cost,
        sub=_get_records_sub,
    )
    add("POST", "/crm/bulk/v8/read", bulk.create, cost=lambda r: 50)
    add("GET", "/crm/bulk/v8/read/{job_id}", bulk.status)
    add("GET", "/crm/bulk/v8/read/{job_id}/result", bulk.download)
    for method, template, handler in admin.ROUTES:
        add(method, template, handler, kind="admin")
    return [
        Route(method, template, _compile(template), handler, kind, cost, sub)
        for method, template, handler, kind, cost, sub in table
    ]


class App:
    def __init__(self, emu: ZohoEmulator) -> None:
        self.emu = emu
        self.routes = build_routes()

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its path parameters, and whether the path exists for another method."""
        other = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method != method:
                other = True
                continue
            return route, found.groupdict(), False
        return None, {}, other

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response | None:
        """Run one request; None means: reset the connection."""
        started = time.perf_counter()
        cpu_started = time.thread_time()
        url = urlsplit(target)
        path = unquote(url.path).rstrip("/") or "/"
        query = parse_qs(url.query, keep_blank_values=True)
        route, params, _ = self.match(method, path)
        req = Request(method, path, query, headers, body, params)
        emu = self.emu
        if route is None:
            emu.stats.record(f"{method} <unmatched>", None)
            return _error(ApiError(404, "INVALID_URL_PATTERN", _BAD_URL, {}))
        req.route = f"{method} {route.template}"
        req.since_exclusive = emu.faults.if_modified_since_exclusive
        module = params.get("module") or (req.arg("module") if "settings/" in path else None)
        if route.kind != "admin":
            emu.stats.record(req.route, module)
        ctx = Context(emu)
        if route.kind != "crm":
            try:
                return route.handler(ctx, req)
            except ApiError as exc:
                return _error(exc)
            except (ValueError, KeyError, TypeError) as exc:
                return Response.json(400, {"error": str(exc)})
        response = self._crm(ctx, req, route, started, cpu_started)
        emu.stats.logged(
            LoggedCall(
                req.route,
                module,
                query,
                0 if response is None else response.status,
                req.answered if response is not None and response.status == 200 else (),
                req.header("If-Modified-Since"),
            )
        )
        return response

    def _crm(
        self, ctx: Context, req: Request, route: Route, started: float, cpu_started: float
    ) -> Response | None:
        """Serve one CRM call: faults, auth, limits and credits, then the handler."""
        emu = self.emu
        method, path, query, params = req.method, req.path, req.query, req.params
        faults = emu.faults
        if faults.reset_rate and faults.roll() < faults.reset_rate:
            faults.count("reset_rate")
            return None
        if faults.error_rate and faults.roll() < faults.error_rate:
            faults.count("error_rate")
            return _error(ApiError(500, "INTERNAL_ERROR", "Internal Server Error", {}))
        try:
            access = emu.oauth.authenticate(req.header("Authorization"))
            scopes.check(access.scope, req.route, params.get("module"))
            req.user_id = access.user_id
        except ApiError as exc:
            return _error(exc)
        sub = route.sub_pool(req)
        if not emu.limits.enter(sub):
            return _error(
                ApiError(
                    429,
                    "TOO_MANY_REQUESTS",
                    "The concurrency limit of the user for the app is exceeded. "
                    "Please try again after some time.",
                    {},
                )
            )
        slept = 0.0
        extra: dict[str, str] = {}
        try:
            if faults.hold is not None:
                faults.hold.wait(HOLD_TIMEOUT_S)
            if faults.before_call is not None:
                faults.before_call(req.route, path, query)
            if faults.latency_s:
                time.sleep(faults.latency_s)
                slept = faults.latency_s
            cost = route.cost(req)
            allowed, remaining = emu.limits.charge(cost, emu.clock.time())
            if remaining is not None:
                extra["X-API-CREDITS-REMAINING"] = str(remaining)
            if not allowed:
                return _error(
                    ApiError(
                        429,
                        "TOO_MANY_REQUESTS",
                        "Number of API requests for the 24 hour period is exceeded. "
                        "Please try again later.",
                        {},
                    ),
                    extra,
                )
            emu.stats.charge(cost)
            try:
                if faults.denied_modules:
                    faults.check_denied(path)
                with emu.org.lock:
                    response = route.handler(ctx, req)
            except ApiError as exc:
                response = _error(exc)
            except Exception:
                log.exception("emulator handler failed for %s %s", method, path)
                response = _error(ApiError(500, "INTERNAL_ERROR", "Internal Server Error", {}))
        finally:
            emu.limits.leave(sub)
        response.headers.update(extra)
        if response.status == 200:
            if faults.bad_records and (
                faults.bad_records_param is None or faults.bad_records_param in query
            ):
                response = spoil_records(response, faults.bad_records, path)
            bad = faults.bad_answer_due(path)
            if bad is not None:
                response = bad_answer(bad, response)
        elapsed = (time.perf_counter() - started - slept) * 1000
        emu.stats.server_ms.append(elapsed)
        response.headers["X-Emulator-Time-Ms"] = f"{elapsed:.3f}"
        cpu = (time.thread_time() - cpu_started) * 1000
        response.headers["X-Emulator-Cpu-Ms"] = f"{cpu:.3f}"
        return response


_BAD_URL = "Please check if the URL trying to access is a correct one"


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> Response:
    return Response.json(exc.status, exc.body(), {**exc.headers, **(headers or {})})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZohoCRMEmulator/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def _serve(self) -> None:
        if self.server.closing:
            self._reset()  # a keep-alive connection outliving stop(): behave like a dead server
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.app.handle(self.command, self.path, self.headers, body)
        if response is None:
            self._reset()
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and response.status not in (204, 304):
            self.wfile.write(response.body)

    def _reset(self) -> None:
        """Abort with a TCP RST, like a dropped connection mid-request."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's naming
    do_POST = _serve  # noqa: N815
    do_PUT = _serve  # noqa: N815
    do_PATCH = _serve  # noqa: N815
    do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.closing = False
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


def make_server(host: str, port: int, app: App) -> _Server:
    return _Server((host, port), app)
