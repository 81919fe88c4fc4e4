"""Zoho Accounts: the token endpoint, the consent page, and access-token checks on CRM calls.

Token-endpoint errors answer HTTP 200 with an ``error`` key, as Zoho does; throttling (more than
``token_mint_limit`` mints per refresh token in 10 minutes) answers 400 "Access Denied".

Grant codes (Zoho Accounts, section 2.1 of the API notes): the consent page's codes and the API
console's Self Client codes are single-use and expire (2 minutes; Self Client 3-10 minutes), a
used or expired one answers ``invalid_code``. A consent code brings a refresh token only with
``access_type=offline``, and after the user's first one only with ``prompt=consent`` too.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

from .datagen import mix
from .errors import ApiError
from .http import Context, Request, Response

if TYPE_CHECKING:
    from .clock import Clock

MINT_WINDOW = 600
GRANT_CODE_TTL = 120
DEFAULT_SCOPE = (
    "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ "
    "ZohoCRM.coql.READ ZohoCRM.bulk.read"
)
THROTTLED = {
    "error_description": (
        "You have made too many requests continuously. Please try again after some time."
    ),
    "error": "Access Denied",
    "status": "failure",
}


def _token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


@dataclass
class RefreshToken:
    client_id: str
    user_id: str
    scope: str
    revoked: bool = False
    mints: deque[float] = field(default_factory=deque)


@dataclass
class AccessToken:
    refresh_token: str
    user_id: str
    expires_at: float
    scope: str = DEFAULT_SCOPE


@dataclass
class GrantCode:
    client_id: str
    user_id: str
    scope: str
    redirect_uri: str | None  # None: a Self Client code (exchanged without redirect_uri)
    expires_at: float
    offline: bool = True


class OAuthServer:
    def __init__(
        self, clock: Clock, seed: int, api_user_id: str, token_ttl: int, mint_limit: int | None
    ) -> None:
        self.clock = clock
        self.token_ttl = token_ttl
        self.mint_limit = mint_limit
        self.auto_consent = False
        h = mix(seed, 4242)
        self.client_id = f"1000.{h:016X}{mix(h, 1):016X}"[:37]
        self.client_secret = f"{mix(h, 2):016x}{mix(h, 3):016x}{mix(h, 4):010x}"[:42]
        self.api_user_id = api_user_id
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, GrantCode] = {}
        #: Users who already received a refresh token through the consent page.
        self.consented: set[str] = set()
        self._lock = threading.Lock()
        self.refresh_token = self.issue_refresh_token(api_user_id)

    # -- tokens ---------------------------------------------------------------------------
    def issue_refresh_token(self, user_id: str, scope: str = DEFAULT_SCOPE) -> str:
        token = _token()
        with self._lock:
            self.refresh_tokens[token] = RefreshToken(self.client_id, user_id, scope)
        return token

    def self_client_code(self, scope: str = DEFAULT_SCOPE, ttl: float = 180) -> str:
        """A code as the API console's Self Client "Generate Code" gives it (3-10 minutes)."""
        code = _token()
        with self._lock:
            self.codes[code] = GrantCode(
                self.client_id, self.api_user_id, scope, None, self.clock.time() + ttl
            )
        return code

    def revoke(self, token: str) -> bool:
        with self._lock:
            found = self.refresh_tokens.get(token)
            if found is None:
                return False
            found.revoked = True
            for access, info in list(self.access_tokens.items()):
                if info.refresh_token == token:
                    del self.access_tokens[access]
            return True

    def mint(self, refresh_token: str, *, count: bool = True) -> str:
        """A new access token for a refresh token (tests may skip the throttle with count=False)."""
        with self._lock:
            rt = self.refresh_tokens[refresh_token]
            if count:
                rt.mints.append(self.clock.time())
            access = _token()
            self.access_tokens[access] = AccessToken(
                refresh_token, rt.user_id, self.clock.time() + self.token_ttl, rt.scope
            )
            return access

    def _throttled(self, rt: RefreshToken) -> bool:
        if self.mint_limit is None:
            return False
        now = self.clock.time()
        while rt.mints and now - rt.mints[0] >= MINT_WINDOW:
            rt.mints.popleft()
        return len(rt.mints) >= self.mint_limit

    # -- endpoints ------------------------------------------------------------------------
    def token_endpoint(self, ctx: Context, req: Request) -> Response:
        params = _params(req)
        grant = params.get("grant_type", "")
        client_id = params.get("client_id", "")
        if grant not in ("refresh_token", "authorization_code"):
            return Response.json(200, {"error": "unsupported_grant_type"})
        if client_id != self.client_id:
            return Response.json(200, {"error": "invalid_client"})
        if params.get("client_secret", "") != self.client_secret:
            return Response.json(200, {"error": "invalid_client_secret"})
        base = ctx.emu.base_url
        if grant == "authorization_code":
            return self._code_grant(params, base)
        token = params.get("refresh_token", "")
        with self._lock:
            rt = self.refresh_tokens.get(token)
            if rt is None or rt.revoked or rt.client_id != client_id:
                return Response.json(200, {"error": "invalid_code"})
            if self._throttled(rt):
                return Response.json(400, THROTTLED)
            scope = rt.scope
        access = self.mint(token)
        return Response.json(
            200,
            {
                "access_token": access,
                "scope": scope,
                "api_domain": base,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
            },
        )

    def _code_grant(self, params: dict[str, str], base: str) -> Response:
        with self._lock:
            code = self.codes.pop(params.get("code", ""), None)
        if code is None or code.expires_at < self.clock.time():
            return Response.json(200, {"error": "invalid_code"})
        if code.redirect_uri is not None and (
            params.get("redirect_uri", code.redirect_uri) != code.redirect_uri
        ):
            return Response.json(200, {"error": "invalid_redirect_uri"})
        refresh = self.issue_refresh_token(code.user_id, code.scope)
        access = self.mint(refresh)
        answer = {
            "access_token": access,
            "refresh_token": refresh,
            "scope": code.scope,
            "api_domain": base,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
        }
        if not code.offline:
            del answer["refresh_token"]
        return Response.json(200, answer)

    def revoke_endpoint(self, ctx: Context, req: Request) -> Response:
        token = _params(req).get("token", "")
        self.revoke(token)
        return Response.json(200, {"status": "success"})

    def consent(self, ctx: Context, req: Request) -> Response:
        """GET shows the consent page; POST (the page's form) or auto-consent redirects."""
        params = _params(req)
        if params.get("client_id") != self.client_id:
            return _html(400, "<h1>Invalid Client</h1><p>The client_id is not registered.</p>")
        if params.get("response_type", "code") != "code" or not params.get("redirect_uri"):
            return _html(
                400,
                "<h1>Invalid Request</h1><p>response_type=code and redirect_uri are required.</p>",
            )
        if req.method == "GET" and not self.auto_consent:
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
                if k != "approve"
            )
            page = (
                "<!doctype html><title>Zoho Accounts (emulator)</title>"
                f"<h1>Grant access</h1><p>Scopes: {html.escape(params.get('scope', ''))}</p>"
                f'<form method="post" action="/oauth/v2/auth">{hidden}'
                '<button name="approve" value="true">Accept</button>'
                '<button name="approve" value="false">Reject</button></form>'
            )
            return _html(200, page)
        redirect = params["redirect_uri"]
        query: dict[str, str] = {}
        if req.method == "POST" and params.get("approve") != "true":
            query["error"] = "access_denied"
        else:
            code = _token()
            with self._lock:
                offline = params.get("access_type") == "offline" and (
                    params.get("prompt") == "consent" or self.api_user_id not in self.consented
                )
                if offline:
                    self.consented.add(self.api_user_id)
                self.codes[code] = GrantCode(
                    self.client_id,
                    self.api_user_id,
                    params.get("scope") or DEFAULT_SCOPE,
                    redirect,
                    self.clock.time() + GRANT_CODE_TTL,
                    offline,
                )
            query["code"] = code
            query["location"] = "us"
            query["accounts-server"] = ctx.emu.base_url
        if "state" in params:
            query["state"] = params["state"]
        sep = "&" if "?" in redirect else "?"
        return Response(302, b"", {"Location": f"{redirect}{sep}{urlencode(query)}"})

    # -- CRM auth -------------------------------------------------------------------------
    def authenticate(self, header: str | None) -> AccessToken:
        """The token (user, scope) behind an Authorization header, or Zoho's 401."""
        if not header or not header.strip():
            raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {})
        scheme, _, token = header.strip().partition(" ")
        if scheme not in ("Zoho-oauthtoken", "Bearer") or not token.strip():
            raise ApiError(401, "AUTHENTICATION_FAILURE", "Authentication failed", {})
        with self._lock:
            found = self.access_tokens.get(token.strip())
        if found is None or found.expires_at <= self.clock.time():
            raise ApiError(401, "INVALID_TOKEN", "invalid oauth token", {})
        return found


def _params(req: Request) -> dict[str, str]:
    """Query-string and form-body parameters together (Zoho accepts either)."""
    out = {k: v[0] for k, v in req.query.items() if v}
    ctype = req.header("Content-Type") or ""
    if req.body and "json" not in ctype:
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        out.update({k: v[0] for k, v in form.items() if v})
    return out


def _html(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), {"Content-Type": "text/html;charset=UTF-8"})
