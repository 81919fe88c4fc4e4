"""Progress lines during a sync and the cost report at its end, checked against the emulator.

Every call the tap sends is counted by the emulator's own call log; the report's per-stream
calls and credits must add up to it exactly, fan-out calls on pool threads included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from singer_sdk.singerlib.encoding import GenericSingerWriter
from singer_sdk.singerlib.messages import Message
from tap_helpers import cli, discover, run_sync, select_only, write_json

from tap_zoho_crm.client.errors import ZohoCreditsExhaustedError
from tap_zoho_crm.tap import TapZohoCrm
from tap_zoho_crm.testing.emulator import ZohoEmulator
from tests.support.call_log import crm_calls
from tests.support.zoho_truth import modified_times

#: Emulator latency for the tests that count progress lines: a sync of 50-100 pages then spans
#: several 0.1 s intervals however fast the machine (it once outran a 1 s interval on CI).
SLOW_CALL_S = 0.02

PROGRESS = re.compile(
    r"Progress (?P<stream>\S+): (?P<records>[\d,]+)(?: of (?P<total>[\d,]+))? records, "
    r"(?P<calls>[\d,]+) API calls, (?P<credits>[\d,]+) credits in \S+(?:, ETA (?P<eta>\S+))?$"
)
REPORT = re.compile(
    r"Run report (?P<stream>\S+): (?P<records>[\d,]+) records, (?P<calls>[\d,]+) API calls, "
    r"(?P<credits>[\d,]+) credits in \S+$"
)
TOTAL = re.compile(
    r"Run report total: (?P<records>[\d,]+) records, (?P<calls>[\d,]+) API calls, "
    r"(?P<credits>[\d,]+) credits; credits remaining today: (?P<remaining>.+)$"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


class Lines(logging.Handler):
    """Every message the tap logs, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def matching(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return [m for m in map(pattern.match, self.messages) if m is not None]


@contextmanager
def tap_lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger(TapZohoCrm.name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class CountingWriter(GenericSingerWriter[str, Message]):
    """Counts RECORD messages per stream (20,000 full records need not be kept)."""

    def __init__(self) -> None:
        self.records: dict[str, int] = {}

    def serialize_message(self, message: Message) -> str:
        return ""

    def write_message(self, message: Message) -> None:
        payload = message.to_dict()
        if payload["type"] == "RECORD":
            self.records[payload["stream"]] = self.records.get(payload["stream"], 0) + 1


def test_progress_lines_on_a_20000_record_sync_show_a_running_total_and_an_eta():
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 20_000}) as zoho:
        config = {**zoho.tap_config(), "progress_interval_seconds": 0.1}
        catalog = select_only(discover(config), {"Leads"})
        total = zoho.count("Leads")
        zoho.stats.reset()
        zoho.faults.latency_s = SLOW_CALL_S
        writer = CountingWriter()
        with tap_lines() as lines:
            TapZohoCrm(
                config=config, catalog=catalog, parse_env_config=False, message_writer=writer
            ).sync_all()
        calls, credits = crm_calls(zoho), zoho.stats.credits

    assert total == 20_000
    assert writer.records == {"Leads": total}
    progress = [m for m in lines.matching(PROGRESS) if m["stream"] == "Leads"]
    assert len(progress) >= 3, lines.messages
    running = [number(m["records"]) for m in progress]
    assert running == sorted(running)
    assert running[0] < running[-1] <= total
    # The total comes from one actions/count call, asked once the stream outlived an interval.
    assert all(number(m["total"]) == total for m in progress)
    # An ETA needs a rate: every line has one once the first records are in.
    assert all(m["eta"] for m in progress if 0 < number(m["records"]) < total)
    assert [number(m["calls"]) for m in progress] == sorted(number(m["calls"]) for m in progress)
    assert zoho.stats.calls["GET /crm/v8/{module}/actions/count"] == 1

    (report,) = [m for m in lines.matching(REPORT) if m["stream"] == "Leads"]
    assert number(report["records"]) == total
    assert number(report["calls"]) == calls
    assert number(report["credits"]) == credits
    (summary,) = lines.matching(TOTAL)
    assert (number(summary["records"]), number(summary["calls"])) == (total, calls)


def test_the_report_attributes_every_call_and_credit_to_its_stream(fresh_demo):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = discover(config)
    zoho.clock.advance(86_401)  # discovery's credits leave the rolling 24-hour window
    zoho.faults.daily_credits = 1500  # past half of it, Zoho reports the credits remaining
    zoho.stats.reset()
    with tap_lines() as lines:
        result = run_sync(config, catalog=catalog)
    calls, credits = crm_calls(zoho), zoho.stats.credits

    reports = {m["stream"]: m for m in lines.matching(REPORT)}
    for stream, records in result.records.items():
        assert number(reports[stream]["records"]) == len(records), stream
    assert sum(number(m["calls"]) for m in reports.values()) == calls
    assert sum(number(m["credits"]) for m in reports.values()) == credits
    assert "(tap)" not in reports  # with a catalog, no call is made outside a stream
    (summary,) = lines.matching(TOTAL)
    assert number(summary["calls"]) == calls
    assert number(summary["credits"]) == credits
    assert number(summary["records"]) == sum(len(rows) for rows in result.records.values())
    # The last X-API-CREDITS-REMAINING the emulator sent: the budget less what was charged.
    assert number(summary["remaining"]) == 1500 - credits


def test_fan_out_calls_on_pool_threads_are_charged_to_their_stream(fresh_demo):
    zoho = fresh_demo
    config = {**zoho.tap_config(), "max_concurrency": 4}
    catalog = select_only(discover(config), {"Deals_Contact_Roles"})
    zoho.stats.reset()
    result = run_sync(config, catalog=catalog)
    usage = {row.name: row for row in result.tap.client.usage.snapshot()}
    assert set(usage) == {"Deals_Contact_Roles"}
    related = zoho.stats.calls["GET /crm/v8/{module}/{id}/{related}"]
    assert related == zoho.count("Deals")  # one related-list call per deal, on pool threads
    assert usage["Deals_Contact_Roles"].calls == crm_calls(zoho)
    assert usage["Deals_Contact_Roles"].records == len(result.records["Deals_Contact_Roles"])


def test_progress_and_report_are_info_lines_silenced_by_log_level_warning(fresh_demo, tmp_path):
    demo = fresh_demo
    demo.faults.latency_s = SLOW_CALL_S  # six pages then outlast an interval on any machine
    config = {**demo.tap_config(), "progress_interval_seconds": 0.05}
    catalog = select_only(discover(config), {"Leads"})
    args = [
        "--config",
        write_json(tmp_path / "config.json", config),
        "--catalog",
        write_json(tmp_path / "catalog.json", catalog),
    ]
    loud = cli(args)
    quiet = cli(["--log-level", "warning", *args])
    assert loud.returncode == quiet.returncode == 0, loud.stderr[-2000:] + quiet.stderr[-2000:]
    assert "Run report total:" in loud.stderr
    assert "Progress Leads: " in loud.stderr
    records = [run.stdout.count('"type":"RECORD"') for run in (loud, quiet)]
    assert records[0] == records[1] == demo.count("Leads")
    assert "Run report" not in quiet.stderr
    assert "Progress " not in quiet.stderr
    assert " INFO " not in quiet.stderr


def test_a_run_stopped_by_the_credit_budget_still_reports_what_it_spent(fresh_demo):
    zoho = fresh_demo
    config = zoho.tap_config()
    catalog = discover(config)
    zoho.clock.advance(86_401)  # discovery's credits leave the rolling 24-hour window
    zoho.faults.daily_credits = 100
    zoho.stats.reset()
    with tap_lines() as lines, pytest.raises(ZohoCreditsExhaustedError):
        run_sync(config, catalog=catalog)
    (summary,) = lines.matching(TOTAL)
    assert number(summary["calls"]) == crm_calls(zoho)
    assert number(summary["credits"]) == zoho.stats.credits == 100
    assert number(summary["remaining"]) == 0


def test_an_incremental_eta_costs_one_coql_count():
    """From a start, the expected total is one COQL count(id), not `plan`'s exact bisection."""
    with ZohoEmulator(profile="minimal", seed=5, size={"Leads": 20_000}) as zoho:
        times = sorted(modified_times(zoho, "Leads").values())
        start = times[len(times) // 2]
        expected = sum(1 for at in times if at >= start)
        config = {
            **zoho.tap_config(windowed_reads=False),
            "progress_interval_seconds": 0.1,
            "start_date": start.isoformat(),
        }
        catalog = select_only(discover(config), {"Leads"})
        zoho.stats.reset()
        zoho.faults.latency_s = SLOW_CALL_S
        with tap_lines() as lines:
            TapZohoCrm(
                config=config,
                catalog=catalog,
                parse_env_config=False,
                message_writer=CountingWriter(),
            ).sync_all()
        coql_calls = zoho.stats.calls["POST /crm/v8/coql"]
    progress = [m for m in lines.matching(PROGRESS) if m["stream"] == "Leads"]
    assert progress, lines.messages
    assert {number(m["total"]) for m in progress if m["total"]} == {expected}
    assert coql_calls == 1
