"""``tap-zoho-crm plan``: how the next run will read each stream, and what it will cost.

Given the same config, catalog and state as the run, each selected stream says how it will
read next (`ZohoStream.read_plan`: first sync, incremental from its bookmark, complete or
changed-parents junction pass...) and estimates its calls, credits and time from cheap counts
(`read_plan.CheapCounts`). The plan says how many calls it spent itself. Without ``--catalog``
the streams come from discovery (metadata calls), which the run then repeats, so those calls
are part of the estimate too.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from tap_zoho_crm.client.errors import ZohoConfigError, ZohoModuleUnavailableError
from tap_zoho_crm.client.usage import UNATTRIBUTED
from tap_zoho_crm.read_plan import CheapCounts, ReadPlan
from tap_zoho_crm.streams import ZohoStream
from tap_zoho_crm.tap import TapZohoCrm

#: Where the plan's own count calls are charged in the client's ledger.
PLAN_PROBES = "(plan)"
#: The discovery row's name.
DISCOVERY = "(discovery)"
#: Seconds per call assumed when the plan made no call to time.
DEFAULT_SECONDS_PER_CALL = 0.5


@dataclass(frozen=True)
class Plan:
    """Every selected stream's next read, and what finding that out cost."""

    rows: list[ReadPlan]
    spent_calls: int
    spent_credits: int
    seconds_per_call: float
    concurrency: int

    @property
    def calls(self) -> int:
        """Estimated calls of the next run."""
        return sum(row.calls for row in self.rows)

    @property
    def credits(self) -> int:
        """Estimated credits of the next run."""
        return sum(row.credits for row in self.rows)

    def seconds(self, row: ReadPlan | None = None) -> float:
        """Estimated wall time of one row, or of the whole run."""
        rows = [row] if row is not None else self.rows
        return sum(item.seconds(self.seconds_per_call, self.concurrency) for item in rows)

    def as_dict(self) -> dict[str, Any]:
        """For ``plan --json``."""
        return {
            "streams": [
                {**row.as_dict(), "seconds": round(self.seconds(row), 1)} for row in self.rows
            ],
            "total": {
                "calls": self.calls,
                "credits": self.credits,
                "seconds": round(self.seconds(), 1),
            },
            "spent": {"calls": self.spent_calls, "credits": self.spent_credits},
        }


def make_plan(tap: TapZohoCrm, *, catalog_given: bool) -> Plan:
    """Ask every selected stream of ``tap`` how it reads next; counts are charged to the plan."""
    ledger = tap.client.usage
    began = time.monotonic()
    streams = list(tap.streams.values())  # discovers when there is no catalog
    discovery = ledger.usage(UNATTRIBUTED)
    rows: list[ReadPlan] = []
    if not catalog_given and discovery.calls:
        rows.append(
            ReadPlan(
                DISCOVERY,
                "stream metadata (the run repeats it unless given --catalog)",
                calls=discovery.calls,
                credits=discovery.credits,
            )
        )
    counts = CheapCounts(tap.client, tap.settings.page_size)
    with ledger.attributed(PLAN_PROBES):
        for stream in streams:
            if not isinstance(stream, ZohoStream) or not stream.selected:
                continue
            try:
                rows.append(stream.read_plan(counts))
            except ZohoModuleUnavailableError as exc:
                rows.append(ReadPlan(stream.name, f"skipped: Zoho answers {exc.code}", 0, 0))
    concurrency = tap.client.concurrency()  # the org's edition limit, unless max_concurrency
    spent = [usage for usage in ledger.snapshot() if usage.name in {UNATTRIBUTED, PLAN_PROBES}]
    calls = sum(usage.calls for usage in spent)
    elapsed = time.monotonic() - began
    return Plan(
        rows=rows,
        spent_calls=calls,
        spent_credits=sum(usage.credits for usage in spent),
        seconds_per_call=elapsed / calls if calls else DEFAULT_SECONDS_PER_CALL,
        concurrency=concurrency,
    )


def _seconds(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def render(plan: Plan) -> str:
    """The plan as a table, then the totals and what the plan spent."""
    name_width = max([len("stream"), *(len(row.stream) for row in plan.rows)])
    mode_width = max([len("next read"), *(len(row.mode) for row in plan.rows)])
    header = (
        f"{'stream':<{name_width}}  {'next read':<{mode_width}}  {'records':>9}  "
        f"{'calls':>7}  {'credits':>7}  {'time':>7}  note"
    )
    lines = [header, "-" * len(header)]
    for row in plan.rows:
        records = f"{row.records:,}" if row.records is not None else "?"
        lines.append(
            f"{row.stream:<{name_width}}  {row.mode:<{mode_width}}  {records:>9}  "
            f"{row.calls:>7,}  {row.credits:>7,}  {_seconds(plan.seconds(row)):>7}  {row.note}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"Next run: about {plan.calls:,} API calls, {plan.credits:,} credits, "
        f"{_seconds(plan.seconds())} (at {plan.seconds_per_call:.2f} s per call, "
        f"{plan.concurrency} in flight in fan-outs)."
    )
    lines.append(
        f"This plan spent {plan.spent_calls:,} API calls ({plan.spent_credits:,} credits) "
        "on metadata and counts."
    )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-zoho-crm plan",
        description=(
            "Print how the next run will read each selected stream and its estimated API "
            "calls, credits and time. Spends only cheap calls (counts), and says how many."
        ),
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="config JSON file (repeatable), or ENV to read TAP_ZOHO_CRM_* variables",
    )
    parser.add_argument("--catalog", help="the catalog the run will use")
    parser.add_argument("--state", help="the state the run will start from")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    return parser


def _load_json(path: str, what: str) -> dict[str, Any]:
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ZohoConfigError(f"cannot read the {what} file {path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise ZohoConfigError(f"the {what} file {path} is not a JSON object")
    return loaded


def main(argv: Sequence[str]) -> None:
    """``tap-zoho-crm plan --config ... [--catalog ...] [--state ...] [--json]``."""
    args = _parser().parse_args(list(argv))
    files = [path for path in args.config if path != "ENV"]
    config: dict[str, Any] = {}
    for path in files:
        config.update(_load_json(path, "config"))
    catalog = _load_json(args.catalog, "catalog") if args.catalog else None
    state = _load_json(args.state, "state") if args.state else None
    try:
        tap = TapZohoCrm(
            config=config,
            catalog=catalog,
            state=state,
            parse_env_config="ENV" in args.config,
            setup_mapper=False,
        )
    except ConfigValidationError as exc:
        raise ZohoConfigError(f"invalid config: {'; '.join(exc.errors) or exc}") from None
    try:
        plan = make_plan(tap, catalog_given=catalog is not None)
    finally:
        tap.client.close()
    print(json.dumps(plan.as_dict(), indent=2) if args.json else render(plan))
