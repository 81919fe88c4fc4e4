"""meltano.yml stays in step with the tap, and Meltano treats the secrets as secrets.

The extractor's settings are declared by hand in meltano.yml (Meltano cannot ask a custom plugin),
so they can drift from the tap's config schema. These tests read the real schema from
`tap-zoho-crm --about --format=json` and fail with the YAML to paste when they differ.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_zoho_crm.config import ALIASES
from tests.support.meltano import PROJECT_ROOT, MeltanoProject

TAP = Path(sys.executable).with_name("tap-zoho-crm")
SECRET_SETTINGS = {"client_secret", "refresh_token"}


@cache
def tap_about() -> dict[str, Any]:
    completed = subprocess.run(
        [str(TAP), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    about: dict[str, Any] = json.loads(completed.stdout)
    return about


@cache
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    return loaded


def plugin(kind: str, name: str) -> dict[str, Any]:
    matches = [p for p in project()["plugins"][kind] if p["name"] == name]
    assert len(matches) == 1, f"meltano.yml must declare {kind[:-1]} {name!r} exactly once"
    return matches[0]


def json_types(prop: dict[str, Any]) -> set[str]:
    declared = prop.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    for option in prop.get("anyOf", []) + prop.get("oneOf", []):
        if isinstance(option, dict):
            types |= json_types(option)
    return types - {"null"}


def meltano_kind(prop: dict[str, Any]) -> str:
    """The Meltano setting kind that matches a JSON-Schema property of the tap's config.

    Secrets are `kind: password` with `sensitive: true`, as on the Meltano Hub (Meltano 4 reads
    the pair as a sensitive string).
    """
    if prop.get("secret"):
        return "password"
    types = json_types(prop)
    for json_type, kind in (
        ("object", "object"),
        ("array", "array"),
        ("boolean", "boolean"),
        ("integer", "integer"),
        ("number", "decimal"),
    ):
        if json_type in types:
            return kind
    if prop.get("format") in {"date-time", "date"}:
        return "date_iso8601"
    return "string"


def expected_setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if prop.get("title"):
        entry["label"] = prop["title"]
    entry["kind"] = meltano_kind(prop)
    if "default" in prop and prop["default"] is not None:
        entry["value"] = prop["default"]
    if prop.get("secret"):
        entry["sensitive"] = True
    if name in ALIASES:
        entry["hidden"] = True
    entry["description"] = prop.get("description")
    return entry


# Defaults that depend on other settings (`base_url` is resolved with the data centre) are not
# handed to the tap by Meltano: an explicit value would hide that a user never set it.
DEFAULTS_LEFT_TO_THE_TAP = {"base_url"}


def test_extractor_settings_match_the_taps_about() -> None:
    properties: dict[str, Any] = tap_about()["settings"]["properties"]
    declared = {s["name"]: s for s in plugin("extractors", "tap-zoho-crm")["settings"]}
    problems = []
    for name, prop in properties.items():
        want = expected_setting(name, prop)
        have = declared.get(name)
        if have is None:
            problems.append((f"missing setting {name!r}", want))
            continue
        if name in DEFAULTS_LEFT_TO_THE_TAP:
            want.pop("value", None)
        for key in ("kind", "description", "value", "hidden"):
            if have.get(key) != want.get(key):
                problems.append((f"{name}.{key}: {have.get(key)!r} != {want.get(key)!r}", want))
        if bool(have.get("sensitive")) != bool(prop.get("secret")):
            problems.append((f"{name}.sensitive must be {bool(prop.get('secret'))}", want))
    problems += [
        (f"meltano.yml declares {name!r}, which the tap does not have", {})
        for name in declared.keys() - properties.keys()
    ]
    if problems:
        fixes = [want for _, want in problems if want]
        pytest.fail(
            "meltano.yml is out of step with `tap-zoho-crm --about`:\n  "
            + "\n  ".join(problem for problem, _ in problems)
            + "\nExpected entries:\n"
            + yaml.safe_dump(fixes, sort_keys=False, allow_unicode=True, width=100)
        )


def test_every_secret_and_its_alias_is_sensitive() -> None:
    properties: dict[str, Any] = tap_about()["settings"]["properties"]
    secrets = {name for name, prop in properties.items() if prop.get("secret")}
    # The seed doc's aliases (client_value_tmp, refresh_value_tmp) are secrets too.
    assert SECRET_SETTINGS | {"client_value_tmp", "refresh_value_tmp"} <= secrets
    declared = {s["name"]: s for s in plugin("extractors", "tap-zoho-crm")["settings"]}
    assert {name for name, s in declared.items() if s.get("sensitive")} == secrets


def test_extractor_capabilities_match_the_taps_about() -> None:
    declared = set(plugin("extractors", "tap-zoho-crm")["capabilities"])
    assert declared == set(tap_about()["capabilities"])


def test_settings_groups_name_declared_settings_and_accept_the_aliases() -> None:
    extractor = plugin("extractors", "tap-zoho-crm")
    declared = {s["name"] for s in extractor["settings"]}
    groups = [set(group) for group in extractor["settings_group_validation"]]
    assert all(group <= declared for group in groups)
    for secret in ("client_secret", "client_value_tmp"):
        for token in ("refresh_token", "refresh_value_tmp"):
            assert {"client_id", secret, token} in groups


def test_every_plugin_installs_without_the_hub() -> None:
    assert project()["send_anonymous_usage_stats"] is False
    assert project()["requires_meltano"] == ">=4.0"
    for kind in ("extractors", "loaders"):
        for definition in project()["plugins"][kind]:
            # A custom plugin: no `variant` (that needs the Hub), everything needed to install it.
            assert "variant" not in definition, definition["name"]
            assert {"namespace", "pip_url", "executable"} <= definition.keys(), definition["name"]
    assert plugin("extractors", "tap-zoho-crm")["pip_url"] == "-e ."
    assert plugin("loaders", "target-jsonl")["pip_url"] == "target-jsonl==0.1.4"
    postgres = plugin("loaders", "target-postgres")
    assert postgres["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    assert postgres["namespace"] == "target_postgres"


@pytest.mark.meltano
def test_config_set_keeps_secrets_out_of_meltano_yml(tmp_path: Path) -> None:
    # A copy of the project file: `meltano config set` edits it, and this must not touch the repo.
    shutil.copy(PROJECT_ROOT / "meltano.yml", tmp_path / "meltano.yml")
    meltano = MeltanoProject(sys_dir=tmp_path / ".sys", database=tmp_path / "m.db", root=tmp_path)
    secret = "s3cret-value-for-config-test"
    meltano.run("config", "set", "tap-zoho-crm", "client_id", "1000.CLIENT")
    meltano.run("config", "set", "tap-zoho-crm", "client_secret", secret)
    meltano.run("config", "set", "tap-zoho-crm", "refresh_value_tmp", secret + "-refresh")

    assert secret not in (tmp_path / "meltano.yml").read_text()
    assert "1000.CLIENT" in (tmp_path / "meltano.yml").read_text()
    dotenv = (tmp_path / ".env").read_text()
    assert f"TAP_ZOHO_CRM_CLIENT_SECRET='{secret}'" in dotenv
    assert f"TAP_ZOHO_CRM_REFRESH_VALUE_TMP='{secret}-refresh'" in dotenv

    listing = meltano.run("config", "list", "tap-zoho-crm")
    assert secret not in listing.output
    assert "TAP_ZOHO_CRM_CLIENT_SECRET" in listing.output
    assert "(redacted)" in listing.output
