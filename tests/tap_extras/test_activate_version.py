"""ACTIVATE_VERSION goes out only when `emit_activate_version_messages` says the target wants it.

Targets without support (target-jsonl) log a warning per message that the user can do nothing
about, so the default sends none. With the setting, a junction pass activates its version once
every row is out, and the SDK activates the full-table streams' versions at their start.
"""

from __future__ import annotations

from typing import Any

from tests.tap.tap_helpers import run_sync, select_only

STREAMS = {"Campaigns_Leads", "Roles"}


def kinds(messages: list[dict[str, Any]], stream: str) -> list[str]:
    return [m["type"] for m in messages if m.get("stream") == stream]


def test_no_activate_version_by_default(demo, demo_catalog):
    result = run_sync(demo.tap_config(), catalog=select_only(demo_catalog, STREAMS))
    assert result.records["Campaigns_Leads"]
    assert result.records["Roles"]
    assert not [m for m in result.messages if m["type"] == "ACTIVATE_VERSION"]


def test_activate_version_when_the_target_supports_it(demo, demo_catalog):
    config = demo.tap_config(emit_activate_version_messages=True)
    result = run_sync(config, catalog=select_only(demo_catalog, STREAMS))
    junction = kinds(result.messages, "Campaigns_Leads")
    assert junction.count("ACTIVATE_VERSION") == 1
    assert junction[-1] == "ACTIVATE_VERSION"  # after the pass's last row
    roles = kinds(result.messages, "Roles")
    assert roles.count("ACTIVATE_VERSION") == 1
    assert roles.index("ACTIVATE_VERSION") < roles.index("RECORD")  # the SDK's place: the start
    activated = {
        m["stream"]: m["version"] for m in result.messages if m["type"] == "ACTIVATE_VERSION"
    }
    for stream in STREAMS:
        versions = {
            m.get("version")
            for m in result.messages
            if m["type"] == "RECORD" and m["stream"] == stream
        }
        assert versions == {activated[stream]}, stream
