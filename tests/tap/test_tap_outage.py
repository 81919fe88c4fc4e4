"""An outage ends the run after a few streams instead of spending every stream's retries.

A stream whose answers outlast their retries fails alone, and the next streams still run
(`tests/tap/test_tap_bad_answers.py`). When three streams in a row fail that way, Zoho (or the
way to it) is down: the run stops, every stream's state keeps its bookmark.
"""

from __future__ import annotations

import pytest
from tap_helpers import discover, run_sync

from tap_zoho_crm.run_outcome import OUTAGE_STREAMS, StreamsFailedError
from tap_zoho_crm.testing.emulator import ZohoEmulator


def test_three_streams_failing_on_retries_end_the_run():
    with ZohoEmulator(profile="minimal", seed=3) as zoho:
        config = zoho.tap_config(max_retries=2, max_retry_seconds=2, streams_in_flight=1)
        catalog = discover(config)
        zoho.faults.error_rate = 1.0  # every CRM answer a 500, from now on
        zoho.stats.reset()
        with pytest.raises(StreamsFailedError, match=f"{OUTAGE_STREAMS} streams in a row"):
            run_sync(config, catalog=catalog)
        streams = [e["tap_stream_id"] for e in catalog["streams"]]
        assert len(streams) > 2 * OUTAGE_STREAMS
        tried = {key for key in zoho.stats.calls_by_module if key[0].startswith("GET /crm/")}
        assert len(tried) == OUTAGE_STREAMS  # one endpoint per stream read, then the run stopped
