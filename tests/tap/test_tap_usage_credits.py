"""The client's credit count per call kind, against what the emulator charges for the same call."""

from __future__ import annotations

from typing import Any

import pytest

from tap_zoho_crm.client.errors import ZohoAPIError
from tap_zoho_crm.client.http import ZohoClient
from tap_zoho_crm.client.usage import UNATTRIBUTED
from tap_zoho_crm.config import ZohoSettings


def coql(tail: str) -> dict[str, str]:
    return {"select_query": f"select id from Leads where id > 0{tail}"}


CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("get records", "GET", "Leads", {"fields": "id", "per_page": 200}),
    ("get records, custom view", "GET", "Leads", {"fields": "id", "cvid": "12345"}),
    ("count", "GET", "Leads/actions/count", {}),
    ("deleted", "GET", "Leads/deleted", {"type": "all"}),
    ("users", "GET", "users", {"type": "AllUsers"}),
    ("coql, no limit", "POST", "coql", coql("")),
    ("coql, limit 200", "POST", "coql", coql(" limit 200")),
    ("coql, limit 201", "POST", "coql", coql(" limit 201")),
    ("coql, limit 1000", "POST", "coql", coql(" limit 1000")),
    ("coql, limit 2000", "POST", "coql", coql(" limit 2000")),
    ("coql, offset", "POST", "coql", coql(" limit 5 offset 900")),
    ("coql, offset first", "POST", "coql", coql(" limit 900, 1500")),
    ("refused", "GET", "Leads", {"fields": "id", "per_page": 999}),
]


@pytest.mark.parametrize(("kind", "method", "path", "args"), CALLS, ids=[c[0] for c in CALLS])
def test_credits_counted_match_the_emulators_charge(demo, kind, method, path, args):
    client = ZohoClient(ZohoSettings.from_config(demo.tap_config(), user_agent="test"))
    client.get("org")  # mint the token first: its call is not a CRM call
    before = client.usage.usage(UNATTRIBUTED).credits
    demo.stats.reset()
    try:
        if method == "GET":
            client.get(path, params=args)
        else:
            client.post_json(path, args)
    except ZohoAPIError:
        pass  # a refused call is still counted, as it is by Zoho
    finally:
        client.close()
    usage = client.usage.usage(UNATTRIBUTED)
    assert usage.credits - before == demo.stats.credits, kind
    assert usage.calls == 2
