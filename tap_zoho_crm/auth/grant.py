"""Zoho Accounts for the auth helper: the consent URL, the loopback redirect, the code exchange.

Zoho's rules (API notes section 2.1): a grant code is single-use and short-lived (2 minutes from
the consent page, 3-10 minutes from a Self Client), so it is exchanged as soon as it arrives; a
refresh token comes only with ``access_type=offline`` (and again only with ``prompt=consent``);
the redirect names the user's data centre in ``accounts-server``, which the exchange must use.
Every refusal becomes one line saying what to do (`AuthError`); no token is ever in it.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.config import DATA_CENTRES, REGIONS, check_url

#: The scopes the tap reads with (README "Connect to Zoho"). The tap does not use Bulk Read, so
#: ``ZohoCRM.bulk.READ`` is not asked for; add it here if a stream ever does.
TAP_SCOPES = (
    "ZohoCRM.modules.READ",
    "ZohoCRM.settings.READ",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.coql.READ",
)
CALLBACK_PATH = "/callback"
TIMEOUT = 30.0


class AuthError(Exception):
    """A step of the helper failed; ``str()`` is the one line shown to the user."""


@dataclass(frozen=True)
class Grant:
    """What Zoho answered to a code exchange."""

    access_token: str
    refresh_token: str
    api_domain: str
    accounts_url: str

    def __repr__(self) -> str:
        """Keep both tokens out of reprs and tracebacks."""
        return f"Grant(api_domain={self.api_domain!r}, accounts_url={self.accounts_url!r})"


def mask(token: str) -> str:
    """A token shown to the user: its prefix and last four characters only."""
    return f"{token[:5]}…{token[-4:]}" if len(token) > 12 else "…"


def consent_url(
    accounts_url: str, client_id: str, redirect_uri: str, scopes: tuple[str, ...], state: str
) -> str:
    """The browser URL of Zoho's consent page, asking for a refresh token."""
    query = {
        "scope": ",".join(scopes),
        "client_id": client_id,
        "response_type": "code",
        "access_type": "offline",
        "prompt": "consent",
        "redirect_uri": redirect_uri,
        "state": state,
    }
    return f"{accounts_url}/oauth/v2/auth?{urlencode(query)}"


def new_state() -> str:
    """An unguessable ``state`` that ties the redirect to this run."""
    return secrets.token_urlsafe(16)


def accounts_server(params: dict[str, str], accounts_url: str) -> str:
    """The accounts URL the redirect names (Zoho's pointer to the user's data centre).

    Only a known Zoho accounts host, or the URL already in use, is followed: the client secret
    is sent there next.
    """
    named = params.get("accounts-server")
    if not named:
        return accounts_url
    try:
        url = check_url(named, "accounts-server")
    except ZohoConfigError as exc:
        raise AuthError(f"the redirect named an unusable accounts server: {exc}") from None
    host = urlsplit(url).hostname or ""
    if url != accounts_url and host not in DATA_CENTRES:
        raise AuthError(
            f"the redirect named an unknown accounts server {url}; pass --region for your data "
            "centre and run again"
        )
    return url


def region_of(accounts_url: str) -> str | None:
    """The ``region`` name of an accounts URL, if it is one of the named data centres."""
    return next((name for name, url in REGIONS.items() if url == accounts_url), None)


def error_line(error: str, *, accounts_url: str, redirect_uri: str | None) -> str:
    """One line for each refusal Zoho Accounts gives a code exchange or the consent page."""
    host = urlsplit(accounts_url).hostname
    lines = {
        "invalid_code": (
            f"Zoho Accounts ({host}) did not accept the grant code (invalid_code): it is "
            "mistyped, already used, or expired (a code lasts 2 minutes, a Self Client code "
            "3-10), or it was made in another data centre (check --region); generate a new "
            "code and run again at once"
        ),
        "invalid_client": (
            f"Zoho Accounts ({host}) does not know this client id (invalid_client): check "
            "--client-id, and that --region names the data centre whose API console holds the "
            "client (a client of another data centre is unknown here)"
        ),
        "invalid_client_secret": (
            "Zoho rejected the client secret (invalid_client_secret): copy it again from the "
            "API console into ZOHO_CLIENT_SECRET"
        ),
        "invalid_redirect_uri": (
            f"Zoho rejected the redirect URI {redirect_uri} (invalid_redirect_uri): register "
            "exactly this URI for the client in the API console, or pass the --port of the "
            "one registered"
        ),
        "access_denied": (
            "the consent page was answered with Reject (access_denied): run again and choose Accept"
        ),
    }
    return lines.get(error, f"Zoho Accounts refused the request ({error}); check the client")


def exchange_code(
    session: requests.Session,
    *,
    accounts_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None,
) -> Grant:
    """Trade a grant code for a refresh token (and a first access token)."""
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code.strip(),
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    body = _json(session.post(f"{accounts_url}/oauth/v2/token", data=form, timeout=TIMEOUT))
    if not body.get("access_token"):
        error = str(body.get("error") or "no access token in the answer")
        raise AuthError(error_line(error, accounts_url=accounts_url, redirect_uri=redirect_uri))
    if not body.get("refresh_token"):
        raise AuthError(
            "Zoho gave an access token but no refresh token: the consent lacked "
            "access_type=offline or prompt=consent; generate a new code and run again"
        )
    try:
        api_domain = check_url(str(body.get("api_domain") or ""), "api_domain")
    except ZohoConfigError as exc:
        raise AuthError(f"Zoho named no usable API domain: {exc}") from None
    return Grant(str(body["access_token"]), str(body["refresh_token"]), api_domain, accounts_url)


def verify_org(session: requests.Session, grant: Grant) -> dict[str, Any]:
    """One ``GET /crm/v8/org`` with the new token: the org the tap will read."""
    response = session.get(
        f"{grant.api_domain}/crm/v8/org",
        headers={"Authorization": f"Zoho-oauthtoken {grant.access_token}"},
        timeout=TIMEOUT,
    )
    body = _json(response)
    orgs = body.get("org")
    if response.status_code == 200 and isinstance(orgs, list) and orgs:
        return dict(orgs[0])
    code = str(body.get("code") or f"HTTP {response.status_code}")
    if code == "OAUTH_SCOPE_MISMATCH":
        raise AuthError(
            "the new token may not read the org (OAUTH_SCOPE_MISMATCH): the code was made "
            f"without the scope ZohoCRM.org.READ; generate it with {','.join(TAP_SCOPES)}"
        )
    raise AuthError(f"checking the new token with GET /crm/v8/org failed ({code})")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise AuthError(
            f"{urlsplit(response.url).netloc} did not answer JSON (HTTP {response.status_code}); "
            "check --region"
        ) from None
    if not isinstance(body, dict):
        raise AuthError(f"{urlsplit(response.url).netloc} answered unexpected JSON")
    return body


class CallbackListener:
    """The redirect target ``http://127.0.0.1:<port>/callback``: receives one redirect."""

    def __init__(self, port: int) -> None:
        self._received = threading.Event()
        self.params: dict[str, str] = {}
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                query = parse_qs(parts.query)
                listener.params = {key: values[0] for key, values in query.items() if values}
                self.send_response(200)
                self.send_header("Content-Type", "text/html;charset=UTF-8")
                self.end_headers()
                self.wfile.write(
                    b"<!doctype html><title>tap-zoho-crm</title>"
                    b"<p>Done: return to the terminal. You can close this tab.</p>"
                )
                listener._received.set()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the query holds the grant code."""

        try:
            self._server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise AuthError(
                f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pass another --port "
                "(and register its redirect URI)"
            ) from None
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        """The redirect's query parameters, or an error after ``timeout`` seconds."""
        if not self._received.wait(timeout):
            raise AuthError(
                f"no redirect reached {self.redirect_uri} within {timeout:.0f} s; open the "
                "consent URL in a browser on this machine and run again"
            )
        return self.params
