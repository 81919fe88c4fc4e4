"""The ``auth`` command: get a refresh token, check it, store it where asked, say what is next.

The refresh token is written only where the user asks (a new config file, mode 0600, or
Meltano's ``.env``), and is shown masked. The client secret is read from ``ZOHO_CLIENT_SECRET``
or a hidden prompt, never from the command line (it would stay in the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
import webbrowser
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from tap_zoho_crm.auth.grant import (
    TAP_SCOPES,
    AuthError,
    CallbackListener,
    Grant,
    accounts_server,
    consent_url,
    error_line,
    exchange_code,
    mask,
    new_state,
    region_of,
    verify_org,
)
from tap_zoho_crm.client.errors import ZohoConfigError
from tap_zoho_crm.config import REGIONS, accounts_url_for

PROG = "tap-zoho-crm auth"
DEFAULT_PORT = 8400
SECRET_ENV = "ZOHO_CLIENT_SECRET"  # noqa: S105 - a variable name
CLIENT_ID_ENV = "ZOHO_CLIENT_ID"
ENV_PREFIX = "TAP_ZOHO_CRM_"
#: Databricks secret scope and keys printed for the Lakeflow options.
SECRET_SCOPE = "zoho_crm"  # noqa: S105 - a scope name


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    cli = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Get a Zoho CRM refresh token for the tap. Self Client mode exchanges a code you "
            "generate in the API console; server mode opens Zoho's consent page and receives "
            f"the code on 127.0.0.1. The client secret is read from ${SECRET_ENV} or prompted."
        ),
    )
    cli.add_argument("--client-id", default=os.environ.get(CLIENT_ID_ENV), help="OAuth client id")
    cli.add_argument("--region", choices=list(REGIONS), help="data centre (default us)")
    cli.add_argument(
        "--accounts-url", help="Zoho Accounts URL instead of --region (a proxy, the emulator)"
    )
    cli.add_argument("--mode", choices=["self-client", "server"], default="self-client")
    cli.add_argument("--code", help="Self Client mode: the grant code (else prompted)")
    cli.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"server mode: redirect listener port (redirect URI http://127.0.0.1:PORT/callback; "
        f"default {DEFAULT_PORT})",
    )
    cli.add_argument("--open", action=argparse.BooleanOptionalAction, default=None)
    cli.add_argument("--timeout", type=float, default=300.0, help="server mode: seconds to wait")
    where = cli.add_mutually_exclusive_group(required=True)
    where.add_argument("--write-config", type=Path, help="new tap config file (mode 0600)")
    where.add_argument("--write-env", type=Path, help="Meltano's .env file (created 0600)")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the helper; one line on stderr and exit code 1 on any failure."""
    args = parser().parse_args(argv)
    try:
        run(args)
    except (AuthError, ZohoConfigError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(
            f"{PROG}: could not reach Zoho ({type(exc).__name__}); check --region and the network",
            file=sys.stderr,
        )
        return 1
    except (KeyboardInterrupt, EOFError):
        print(f"{PROG}: stopped; nothing was written", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> None:
    """The whole flow: credentials, code, exchange, check, store, next steps."""
    if not args.client_id:
        raise AuthError(f"give the client id: --client-id or ${CLIENT_ID_ENV}")
    accounts_url = accounts_url_for(args.region, args.accounts_url)
    _check_destination(args)
    secret = os.environ.get(SECRET_ENV) or _prompt_secret()
    session = requests.Session()
    session.headers["User-Agent"] = "tap-zoho-crm-auth"
    if args.mode == "server":
        grant = _server_flow(args, session, accounts_url, secret)
    else:
        code = args.code or _read_code()
        if not code:
            raise AuthError("no grant code given")
        grant = exchange_code(
            session,
            accounts_url=accounts_url,
            client_id=args.client_id,
            client_secret=secret,
            code=code,
            redirect_uri=None,
        )
    org = verify_org(session, grant)
    config = _tap_config(args.client_id, secret, grant)
    stored = _store(args, config)
    _print_next_steps(args, config, grant, org, stored)


def _read_code() -> str:
    """The grant code: prompted on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return input("Paste the grant code from the API console: ").strip()
    return sys.stdin.readline().strip()


def _prompt_secret() -> str:
    if not sys.stdin.isatty():
        raise AuthError(f"give the client secret in ${SECRET_ENV}")
    secret = getpass.getpass("Client secret (hidden): ").strip()
    if not secret:
        raise AuthError("no client secret given")
    return secret


def _server_flow(
    args: argparse.Namespace, session: requests.Session, accounts_url: str, secret: str
) -> Grant:
    state = new_state()
    with CallbackListener(args.port) as listener:
        url = consent_url(accounts_url, args.client_id, listener.redirect_uri, TAP_SCOPES, state)
        print(f"Redirect URI (register it for the client): {listener.redirect_uri}")
        print(f"Open this URL and accept:\n{url}", flush=True)
        if _should_open(args.open):
            webbrowser.open(url)
        params = listener.wait(args.timeout)
    if params.get("state") != state:
        raise AuthError("the redirect did not carry this run's state; run again")
    if params.get("error"):
        raise AuthError(error_line(params["error"], accounts_url=accounts_url, redirect_uri=None))
    if not params.get("code"):
        raise AuthError("the redirect carried no grant code; run again")
    return exchange_code(
        session,
        accounts_url=accounts_server(params, accounts_url),
        client_id=args.client_id,
        client_secret=secret,
        code=params["code"],
        redirect_uri=listener.redirect_uri,
    )


def _should_open(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    if not sys.stdin.isatty():
        return False
    return input("Open it in your browser now? [Y/n] ").strip().lower() in ("", "y", "yes")


def _tap_config(client_id: str, secret: str, grant: Grant) -> dict[str, str]:
    config = {"client_id": client_id, "client_secret": secret, "refresh_token": grant.refresh_token}
    region = region_of(grant.accounts_url)
    if region is not None:
        config["region"] = region
    else:
        config["base_url"] = grant.accounts_url
    return config


def _check_destination(args: argparse.Namespace) -> None:
    """Refuse an existing config file before the code is spent (it cannot be used twice)."""
    if args.write_config is not None and args.write_config.exists():
        raise AuthError(f"{args.write_config} exists; give a new file name (nothing was sent)")


def _store(args: argparse.Namespace, config: Mapping[str, str]) -> Path:
    if args.write_config is not None:
        path: Path = args.write_config
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise AuthError(f"cannot create {path} ({exc.strerror})") from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
            handle.write("\n")
        return path
    path = args.write_env
    _update_env_file(path, {f"{ENV_PREFIX}{k.upper()}": v for k, v in config.items()})
    return path


def _update_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Set ``KEY='value'`` lines in a dotenv file, keeping its other lines; atomic, mode 0600."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    except OSError as exc:
        raise AuthError(f"cannot read {path} ({exc.strerror})") from None
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    kept += [f"{key}='{value}'" for key, value in values.items()]
    try:
        descriptor, temp = tempfile.mkstemp(dir=path.parent or Path(), prefix=".env-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(kept) + "\n")
        os.replace(temp, path)
    except OSError as exc:
        raise AuthError(f"cannot write {path} ({exc.strerror})") from None


def _print_next_steps(
    args: argparse.Namespace,
    config: Mapping[str, str],
    grant: Grant,
    org: Mapping[str, Any],
    stored: Path,
) -> None:
    where = "region" if "region" in config else "base_url"
    shown = {
        **config,
        "client_secret": f"<in {stored}>",
        "refresh_token": f"<in {stored}>",
    }
    meltano = "meltano config set tap-zoho-crm"
    out = [
        f"Verified: the token reads org {org.get('company_name')!r} (id {org.get('id')}) "
        f"at {grant.api_domain}.",
        f"Refresh token {mask(grant.refresh_token)} written to {stored} (mode 0600).",
        "",
        "Tap config:",
        json.dumps(shown, indent=2),
    ]
    if args.write_config is not None:
        out += [f"Run: tap-zoho-crm --config {stored} --discover", ""]
        out += [
            "Meltano (secrets go to .env):",
            f"  {meltano} client_id {config['client_id']}",
            f"  {meltano} {where} {config[where]}",
            f"  {meltano} client_secret \"$(python3 -c 'import json,sys; "
            f'print(json.load(open(sys.argv[1]))["client_secret"])\' {stored})"',
            f"  {meltano} refresh_token \"$(python3 -c 'import json,sys; "
            f'print(json.load(open(sys.argv[1]))["refresh_token"])\' {stored})"',
        ]
    else:
        out += [
            "",
            f"Meltano reads these from {stored}: "
            + ", ".join(f"{ENV_PREFIX}{key.upper()}" for key in config),
            "  meltano run tap-zoho-crm target-jsonl   (or check: meltano config list "
            "tap-zoho-crm)",
        ]
    out += [
        "",
        "Databricks (Lakeflow options; keep the secrets in a secret scope):",
        f"  databricks secrets create-scope {SECRET_SCOPE}",
        f"  databricks secrets put-secret {SECRET_SCOPE} client_secret   # paste the client secret",
        f"  databricks secrets put-secret {SECRET_SCOPE} refresh_token   # paste the refresh token",
        f'  options: client_id="{config["client_id"]}", {where}="{config[where]}",',
        f'    client_value_tmp=dbutils.secrets.get("{SECRET_SCOPE}", "client_secret"),',
        f'    refresh_value_tmp=dbutils.secrets.get("{SECRET_SCOPE}", "refresh_token")',
    ]
    print("\n".join(out))
