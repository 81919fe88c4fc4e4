"""Bad answers and bad records: what a real Zoho (or a proxy in front of it) has answered.

Zoho has answered an error body with HTTP 200 (``{"code": "INTERNAL_ERROR", "status":
"error"}``), and a success whose ``data`` holds an error entry; a proxy or a cut connection
gives an HTML page, malformed, truncated or empty JSON with status 200; a broken answer can
lack its ``data`` list. Records can come back without a usable ``Modified_Time`` or ``id``
(in every record list: ``data`` of records, related lists, COQL and deleted lists, and
``users``; in a deleted list the time spoiled is ``deleted_time``, its key).
None of this is the documented API, so every kind is a switch (``Faults.bad_answer_kind``,
``Faults.bad_records``), off by default, applied to CRM success answers only.
"""

from __future__ import annotations

import json
from typing import Any

from .http import JSON_TYPE, Response

#: The bad-answer kinds ``Faults.bad_answer_kind`` takes.
BAD_ANSWER_KINDS = (
    "error_body_200",
    "data_entry_error",
    "html_200",
    "malformed_json",
    "truncated_json",
    "empty_200",
    "no_data",
)

#: The bad-record kinds ``Faults.bad_records`` maps record ids to.
BAD_RECORD_KINDS = (
    "missing_modified_time",
    "null_modified_time",
    "invalid_modified_time",
    "non_numeric_id",
)

_ERROR = {
    "code": "INTERNAL_ERROR",
    "details": {},
    "message": "Internal Server Error",
    "status": "error",
}


def bad_answer(kind: str, good: Response) -> Response:
    """The answer of ``kind`` in place of the success ``good`` (status 200 throughout)."""
    if kind == "error_body_200":
        return Response.json(200, _ERROR)
    if kind == "data_entry_error":
        return Response.json(200, {"data": [_ERROR]})
    if kind == "html_200":
        page = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
        return Response(200, page, {"Content-Type": "text/html"})
    if kind == "malformed_json":
        return Response(200, b'{"data": [{"id": "1",,}]', {"Content-Type": JSON_TYPE})
    if kind == "truncated_json":
        body = good.body if len(good.body) > 2 else b'{"data": []}'
        return Response(200, body[: max(1, len(body) // 2)], {"Content-Type": JSON_TYPE})
    if kind == "empty_200":
        return Response(200, b"", {"Content-Type": JSON_TYPE})
    if kind == "no_data":
        return Response.json(200, {"info": {"per_page": 200, "count": 0, "more_records": False}})
    raise ValueError(f"unknown bad answer kind {kind!r}; one of {', '.join(BAD_ANSWER_KINDS)}")


#: The keys of an answer that hold a record list.
RECORD_LISTS = ("data", "users")


def time_key(path: str) -> str:
    """The datetime a walk of ``path`` is keyed by: a deleted list's ``deleted_time``."""
    return "deleted_time" if path.endswith("/deleted") else "Modified_Time"


def spoil_records(good: Response, bad_records: dict[str, str], path: str = "") -> Response:
    """``good`` (an answer of ``path``) with the records named in ``bad_records`` spoiled.

    ``bad_records`` maps id -> kind; the ``*_modified_time`` kinds spoil the path's
    `time_key`.
    """
    try:
        payload: Any = json.loads(good.body)
    except ValueError:
        return good
    lists = [payload.get(key) for key in RECORD_LISTS] if isinstance(payload, dict) else []
    data = next((found for found in lists if isinstance(found, list)), None)
    if data is None:
        return good
    key = time_key(path)
    changed = False
    for record in data:
        kind = bad_records.get(str(record.get("id"))) if isinstance(record, dict) else None
        if kind is None:
            continue
        changed = True
        if kind == "missing_modified_time":
            record.pop(key, None)
        elif kind == "null_modified_time":
            record[key] = None
        elif kind == "invalid_modified_time":
            record[key] = "yesterday at noon"
        elif kind == "non_numeric_id":
            record["id"] = f"x{record['id']}"
        else:
            raise ValueError(f"unknown bad record kind {kind!r}; one of {BAD_RECORD_KINDS}")
    return Response.json(good.status, payload, good.headers) if changed else good
