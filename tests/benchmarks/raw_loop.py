"""The floor the tap is measured against: a plain ``requests`` + ``json.loads`` read of a module.

Run as a script by ``test_record_path_bench.py`` (in its own process, so its CPU time and peak
RSS are its own). It asks for the same pages the tap asks for: the same fields, 200 records a
page, sorted by Modified_Time ascending, each query anchored with ``If-Modified-Since`` on the
last instant read (the keyset walk of ``tap_zoho_crm/paging.py``, without the tap's checks).
Records are parsed and counted, nothing else: no normalisation, no state, no output.

Usage: ``python raw_loop.py BASE_URL MODULE FIELDS`` (FIELDS comma-separated), with the access
token in ``ZOHO_ACCESS_TOKEN`` (not on the command line, where ``ps`` shows it); prints one JSON
line ``{"records": new records, "calls": GET calls}``.
"""

from __future__ import annotations

import json
import os
import sys

import requests


def main(base_url: str, module: str, fields: str) -> None:
    token_value = os.environ["ZOHO_ACCESS_TOKEN"]
    session = requests.Session()
    url = f"{base_url}/crm/v8/{module}"
    params = {
        "fields": fields,
        "per_page": 200,
        "sort_by": "Modified_Time",
        "sort_order": "asc",
        "converted": "both",  # Leads hides converted records otherwise (as the tap asks)
    }
    since: str | None = None
    token: str | None = None
    seen_at_since: set[str] = set()
    records = calls = 0
    while True:
        headers = {"Authorization": f"Zoho-oauthtoken {token_value}"}
        if since is not None:
            headers["If-Modified-Since"] = since
        query = {**params, "page_token": token} if token else params
        response = session.get(url, params=query, headers=headers, timeout=60)
        calls += 1
        if response.status_code in {204, 304}:
            break
        response.raise_for_status()
        body = json.loads(response.content)
        page = body["data"]
        new = [r for r in page if r["Modified_Time"] != since or r["id"] not in seen_at_since]
        records += len(new)
        if not body["info"]["more_records"]:
            break
        last = page[-1]["Modified_Time"]
        if last == since:
            # Inside a block of more than a page sharing one instant: page on within the query.
            seen_at_since.update(r["id"] for r in page if r["Modified_Time"] == last)
            token = body["info"]["next_page_token"]
        else:
            since, token = last, None
            seen_at_since = {r["id"] for r in page if r["Modified_Time"] == last}
    print(json.dumps({"records": records, "calls": calls}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
