"""The storm: random SIGKILLs, mutations between runs, fault rates, every bad answer.

The real CLI (`python -m tap_zoho_crm`) runs at LOGLEVEL=DEBUG against an emulated org; a
consumer reads its stdout as a target would (upsert RECORDs by id, keep the last STATE) and
every run resumes from that STATE. Between runs, records are created, updated (a text value
and Modified_Time) and deleted. The storm asserts:

* nothing is lost: after every run that exits 0, and at the end, every live record of every
  stream is in the consumer's table with every field equal to the emulator's (id by id, value
  by value); the only extra ids are records deleted meanwhile;
* no run exits 0 while records are missing (the check above runs after every exit 0, and a
  run meeting a persistent bad answer must exit non-zero);
* no secret (client secret, refresh token, any access token issued) appears in any output.

`make test-storm` runs it; its summary line (kills, faults injected, records checked, lost)
is quoted in docs/robustness.md.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tap_zoho_crm.testing.emulator import ZohoEmulator
from tap_zoho_crm.testing.emulator.badanswers import BAD_ANSWER_KINDS
from tests.support.zoho_truth import secrets, text_field
from tests.tap.tap_helpers import compare_record, discover, listable_fields, select_only

pytestmark = pytest.mark.storm

REPO = Path(__file__).resolve().parents[2]
MODULES = ("Accounts", "Contacts", "Deals", "Leads")
SIZES = {"Leads": 800, "Contacts": 400, "Accounts": 200, "Deals": 250}
KILLS = 20
#: (error_rate, reset_rate) for the first and second half of the kills: 15 % and 30 %.
FAULT_RATES = ((0.10, 0.05), (0.20, 0.10))
ACCESS_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
SEED = int(os.environ.get("STORM_SEED", "16"))


@dataclass
class Consumer:
    """What a target keeps: rows upserted by id, and the last STATE."""

    tables: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    state: dict[str, Any] | None = None

    def feed(self, line: str) -> str | None:
        """Apply one complete line; the message type (None for a non-message line)."""
        try:
            message = json.loads(line)
        except ValueError:
            return None
        kind = message.get("type")
        if kind == "RECORD":
            record = message["record"]
            self.tables.setdefault(message["stream"], {})[int(record["id"])] = record
        elif kind == "STATE":
            self.state = message["value"]
        return str(kind)


@dataclass
class Run:
    returncode: int
    killed: bool
    records: int
    output: str


@dataclass
class Storm:
    zoho: ZohoEmulator
    workdir: Path
    catalog: str
    rng: random.Random
    consumer: Consumer = field(default_factory=Consumer)
    deleted: dict[str, set[int]] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    kills: int = 0
    checks: int = 0
    records_checked: int = 0
    nonzero: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)

    def config(self, **extra: Any) -> str:
        path = self.workdir / "config.json"
        config = self.zoho.tap_config(page_size=25, max_retries=8, max_retry_seconds=20, **extra)
        path.write_text(json.dumps(config))
        return str(path)

    def run(self, *, kill_after: int | None = None) -> Run:
        """One CLI sync from the consumer's last STATE; SIGKILLed after ``kill_after`` records."""
        args = [sys.executable, "-m", "tap_zoho_crm", "--config", self.config()]
        args += ["--catalog", self.catalog]
        if self.consumer.state is not None:
            state = self.workdir / "state.json"
            state.write_text(json.dumps(self.consumer.state))
            args += ["--state", str(state)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ZOHO_CRM_")}
        env["LOGLEVEL"] = "DEBUG"
        with tempfile.TemporaryFile("w+") as stderr:
            process = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO, env=env
            )
            assert process.stdout is not None
            records, killed, lines = 0, False, []
            for line in process.stdout:
                lines.append(line)
                if not line.endswith("\n"):
                    break  # a line cut by the kill: a target never sees it whole
                if self.consumer.feed(line) == "RECORD":
                    records += 1
                    if kill_after is not None and records >= kill_after and not killed:
                        process.send_signal(signal.SIGKILL)
                        killed = True
                        break
            process.stdout.close()
            returncode = process.wait(timeout=600)
            stderr.seek(0)
            output = "".join(lines) + stderr.read()
        self.outputs.append(output)
        if killed:
            self.kills += 1
        print(
            f"storm run {len(self.outputs)}: exit {returncode}, {records} records, "
            f"killed={killed}, faults so far {sum(self.zoho.faults.injected.values())}"
            + "".join(f"\n  {line[-400:]}" for line in _error_lines(output)),
            file=sys.stderr,
            flush=True,
        )
        return Run(returncode, killed, records, output)

    def mutate(self) -> None:
        """Creates, updates (a text value and Modified_Time) and deletes between runs."""
        for module in MODULES:
            ids = sorted(self.zoho.record_ids(module))
            name = text_field(self.zoho, module)
            for _ in range(self.rng.randint(0, 15)):
                self.zoho.create_record(
                    module, {name: f"storm new {self.rng.random()}"} if name else {}
                )
                self.mutations["created"] += 1
            chosen = self.rng.sample(ids, k=min(len(ids), self.rng.randint(0, 25)))
            if chosen:
                # One mass update (a shared Modified_Time: a tie block) and single ones.
                half = len(chosen) // 2
                self.zoho.update_records(
                    module, chosen[:half], {name: "storm mass"} if name else {}
                )
                for record_id in chosen[half:]:
                    value = {name: f"storm {self.rng.random()}"} if name else {}
                    self.zoho.update_record(module, record_id, value)
                self.mutations["updated"] += len(chosen)
            for record_id in self.rng.sample(ids, k=min(len(ids), self.rng.randint(0, 4))):
                if record_id in chosen:
                    continue
                self.zoho.delete_record(module, record_id)
                self.deleted.setdefault(module, set()).add(int(record_id))
                self.mutations["deleted"] += 1
            self.zoho.clock.advance(self.rng.choice([0, 1, 1, 30]))

    def missing(self) -> dict[str, list[str]]:
        """Per stream, what the consumer lacks or holds differently from the emulator."""
        problems: dict[str, list[str]] = {}
        for module in MODULES:
            fields = listable_fields(self.zoho, module)
            table = self.consumer.tables.get(module, {})
            live = {int(i) for i in self.zoho.record_ids(module)}
            found: list[str] = [f"{i}: missing" for i in sorted(live - set(table))]
            extra = set(table) - live - self.deleted.get(module, set())
            found += [f"{i}: neither live nor deleted" for i in sorted(extra)]
            for record_id in sorted(live & set(table)):
                diff = compare_record(
                    fields, self.zoho.get_record(module, str(record_id)), table[record_id]
                )
                found += [f"{record_id}: {d}" for d in diff]
                self.records_checked += 1
            if found:
                problems[module] = found
        self.checks += 1
        return problems

    def assert_complete(self, why: str) -> None:
        problems = self.missing()
        assert not problems, f"{why}: " + "; ".join(
            f"{module}: {len(p)} problem(s), first {p[:3]}" for module, p in problems.items()
        )

    def finish_clean(self, why: str) -> Run:
        """Faults off, one run to the end: it must exit 0 with everything in the table."""
        self.zoho.faults.update({"error_rate": 0.0, "reset_rate": 0.0, "bad_answer_kind": None})
        run = self.run()
        assert run.returncode == 0, f"{why}: exit {run.returncode}: {run.output[-2000:]}"
        self.assert_complete(why)
        return run


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "| ERROR" in line]


def test_storm(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    with ZohoEmulator(profile="minimal", seed=SEED, size=SIZES) as zoho:
        # Every run is a new process minting its own token: Zoho's 10 mints per 10 minutes
        # would make the storm wait on Accounts, not test the tap.
        zoho.token_mint_limit = None
        catalog = select_only(discover(zoho.tap_config()), set(MODULES))
        catalog_path = tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        storm = Storm(zoho, tmp_path, str(catalog_path), rng)

        # 1. Twenty SIGKILLs, each resumed from the consumer's last STATE, with mutations in
        #    between, at 15 % then 30 % faults, and one bad answer of each kind in turn.
        for kill in range(KILLS):
            error_rate, reset_rate = FAULT_RATES[0 if kill < KILLS // 2 else 1]
            kind = BAD_ANSWER_KINDS[kill % len(BAD_ANSWER_KINDS)]
            zoho.faults.update(
                {
                    "fault_seed": rng.randrange(1 << 30),
                    "error_rate": error_rate,
                    "reset_rate": reset_rate,
                    "bad_answer_kind": kind,
                    # Each kind's first turn is on the first stream read, so it is met before
                    # the kill; later turns land anywhere.
                    "bad_answer_path": "/crm/v8/"
                    + (MODULES[0] if kill < len(BAD_ANSWER_KINDS) else rng.choice(MODULES)),
                    "bad_answer_after": 0 if kill < len(BAD_ANSWER_KINDS) else rng.randint(0, 3),
                    "bad_answer_times": 1,
                    "bad_answer_rate": 1.0,
                }
            )
            # Runs that finish before their kill point are checked, and run again until one
            # is killed: every one of the twenty kills lands mid-sync.
            for _ in range(5):
                run = storm.run(kill_after=rng.randint(1, 400))
                if run.killed:
                    break
                if run.returncode == 0:
                    storm.assert_complete(f"kill {kill}: a run that exited 0")
                else:
                    storm.nonzero["faults"] += 1
                    assert len(_error_lines(run.output)) == 1, _error_lines(run.output)
                storm.mutate()
            storm.mutate()
        assert storm.kills == KILLS
        once = dict(zoho.faults.injected)
        assert all(once.get(kind, 0) >= 1 for kind in BAD_ANSWER_KINDS), once
        storm.finish_clean("after the kills")

        # 2. Every bad-answer kind persistently, on a module with changes to read: the run
        #    must exit non-zero (records are missing), naming the endpoint and the code;
        #    the next clean run completes.
        for kind in BAD_ANSWER_KINDS:
            module = rng.choice(MODULES)
            storm.mutate()
            zoho.update_records(module, sorted(zoho.record_ids(module))[:3])
            zoho.faults.update(
                {
                    "bad_answer_kind": kind,
                    "bad_answer_path": f"/crm/v8/{module}",
                    "bad_answer_after": 0,
                    "bad_answer_times": None,
                    "bad_answer_rate": 1.0,
                }
            )
            run = storm.run()
            assert run.returncode != 0, f"{kind}: exit 0 while {module} answers {kind}"
            assert storm.missing(), f"{kind}: nothing missing, so the failure was not tested"
            errors = _error_lines(run.output)
            assert len(errors) == 1, errors
            assert f"stream {module} failed" in errors[0], errors[0]
            assert f"/crm/v8/{module}" in errors[0], errors[0]
            storm.nonzero[kind] += 1
            storm.finish_clean(f"after persistent {kind}")

        # 3. No secret in any output, at DEBUG.
        leaked = secrets(zoho)
        for output in storm.outputs:
            for secret in leaked:
                assert secret not in output
            assert not ACCESS_TOKEN.search(output)

        injected = dict(zoho.faults.injected)
        summary = {
            "seed": SEED,
            "runs": len(storm.outputs),
            "kills": storm.kills,
            "faults_injected": sum(injected.values()),
            "faults_by_kind": injected,
            "faults_during_kills": once,
            "mutations": dict(storm.mutations),
            "non_zero_exits": dict(storm.nonzero),
            "completeness_checks": storm.checks,
            "records_checked": storm.records_checked,
            "lost": 0,
            "seconds": round(time.monotonic() - started),
        }
        print("\nSTORM SUMMARY " + json.dumps(summary, sort_keys=True))
