"""``python -m tap_zoho_crm.testing.emulator --profile demo --port 0``: serve until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .emulator import ZohoEmulator
from .profiles import PROFILES


def _size(value: str) -> tuple[str, int]:
    module, sep, count = value.partition("=")
    if not sep or not count.isdigit():
        raise argparse.ArgumentTypeError("use MODULE=COUNT, e.g. Leads=200000")
    return module, int(count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tap_zoho_crm.testing.emulator",
        description="Serve an emulated Zoho CRM v8 org (and its OAuth server) on 127.0.0.1.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-inventory", action="store_true", help="Quotes etc. fail on read")
    parser.add_argument("--size", type=_size, action="append", default=[], metavar="MODULE=N")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access-token lifetime (s)")
    parser.add_argument("--user-time-zone", default=None, help="the API user's IANA zone")
    parser.add_argument(
        "--token-mint-limit",
        type=int,
        default=10,
        help="access tokens per refresh token per 10 minutes (0 = unlimited)",
    )
    parser.add_argument("--non-admin", action="store_true", help="the API user is not an admin")
    args = parser.parse_args(argv)
    try:
        emu = ZohoEmulator(
            profile=args.profile,
            seed=args.seed,
            size=dict(args.size) or None,
            inventory=not args.no_inventory,
            token_ttl=args.token_ttl,
            user_time_zone=args.user_time_zone,
            host=args.host,
            port=args.port,
            token_mint_limit=args.token_mint_limit or None,
            admin=not args.non_admin,
        )
        emu.start()
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"Zoho CRM emulator (profile {args.profile}) at {emu.base_url}", flush=True)
    print(
        f"client_id={emu.client_id} client_secret={emu.client_secret} "
        f"refresh_token={emu.refresh_token}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
