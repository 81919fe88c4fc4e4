"""Message sources that run the real tap: as a subprocess and in-process, against the emulator."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from lakeflow_bridge.connector import ZohoCrmLakeflowConnect
from lakeflow_bridge.replay import collect_streams
from lakeflow_bridge.sources import (
    InProcessTapSource,
    TapRunError,
    TapSubprocessSource,
    iter_messages,
)
from tap_zoho_crm.tap import TapZohoCrm

STREAM = "Accounts"


def tap_argv() -> list[str]:
    executable = Path(sys.executable).with_name("tap-zoho-crm")
    return [str(executable)] if executable.exists() else [shutil.which("tap-zoho-crm") or ""]


def one_stream_catalog(zoho: Any) -> dict[str, Any]:
    connector = ZohoCrmLakeflowConnect({k: str(v) for k, v in zoho.tap_config().items()})
    return connector._catalog_for(STREAM)


def test_subprocess_and_in_process_taps_replay_to_the_same_records(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    catalog = one_stream_catalog(zoho)
    config = zoho.tap_config()
    truth = {int(i) for i in zoho.record_ids(STREAM)}

    piped = collect_streams(
        iter_messages(TapSubprocessSource(tap_argv(), config=config, catalog=catalog))
    )
    in_process = collect_streams(
        iter_messages(InProcessTapSource(TapZohoCrm, config=config, catalog=catalog))
    )
    assert set(piped) == set(in_process) == {STREAM}
    piped_ids = [r["id"] for r in piped[STREAM].records]
    assert sorted(piped_ids) == sorted(truth)
    assert [r["id"] for r in in_process[STREAM].records] == piped_ids
    assert piped[STREAM].bookmark == in_process[STREAM].bookmark
    assert piped[STREAM].bookmark is not None
    assert in_process[STREAM].schema == piped[STREAM].schema


@pytest.mark.parametrize("kind", ["subprocess", "in-process"])
def test_sources_stop_the_tap_once_the_sink_is_full(fresh_zoho: Any, kind: str) -> None:
    zoho = fresh_zoho()
    catalog = one_stream_catalog(zoho)
    config = zoho.tap_config()
    source: Any
    if kind == "subprocess":
        source = TapSubprocessSource(tap_argv(), config=config, catalog=catalog)
    else:
        source = InProcessTapSource(TapZohoCrm, config=config, catalog=catalog)
    records: list[Any] = []

    def sink(message: Any) -> bool:
        parsed = json.loads(message) if isinstance(message, bytes | str) else message
        if parsed["type"] == "RECORD":
            records.append(parsed)
        return len(records) < 3

    before = zoho.stats.calls["GET /crm/v8/{module}"]
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    source.run(sink)
    assert len(records) == 3
    # One page was enough: the tap did not go on reading the module.
    assert zoho.stats.calls["GET /crm/v8/{module}"] - before <= 2
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_failing_tap_subprocess_reports_its_error_without_the_secret(fresh_zoho: Any) -> None:
    zoho = fresh_zoho()
    config = dict(zoho.tap_config(), client_secret="wrong-secret-value-123")
    source = TapSubprocessSource(tap_argv(), config=config, catalog=one_stream_catalog(zoho))
    with pytest.raises(TapRunError, match="exited with code") as caught:
        source.run(lambda _message: True)
    assert "wrong-secret-value-123" not in str(caught.value)
    assert zoho.refresh_token not in str(caught.value)
