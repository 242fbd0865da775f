"""The headers and the shared responses of the document (``components.headers`` and
``components.responses``): caching and rate-limit headers, ``304`` and every error answer.
Each error response narrows the shared error schema to the ``code`` it can carry, so the
tests can tell a wrong error code from a right one.
"""

from __future__ import annotations

import copy
from typing import Any

from signatory.api.openapi.builders import ref
from signatory.api.openapi.constants import RATE_LIMIT_HEADERS
from signatory.api.openapi.schemas import ERROR

HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "A strong validator of the body; send it back in `If-None-Match`.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`public, max-age=…`: how many seconds a cache may reuse the answer.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed from your address in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the current window ends, as Unix time.",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds until the window ends.",
        "schema": {"type": "integer"},
    },
    "Access-Control-Allow-Origin": {
        "description": "`*`: any web page may read the answer.",
        "schema": {"type": "string", "const": "*"},
    },
}

SUCCESS_HEADERS = (
    "ETag",
    "Cache-Control",
    *RATE_LIMIT_HEADERS,
    "Retry-After",
    "Access-Control-Allow-Origin",
)


def _error_response(description: str, code: dict[str, Any]) -> dict[str, Any]:
    """An error response whose ``code`` is constrained by ``code`` (a JSON Schema)."""
    schema = copy.deepcopy(ERROR)
    schema["properties"]["error"]["properties"]["code"] = {
        **schema["properties"]["error"]["properties"]["code"],
        **code,
    }
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


RESPONSES: dict[str, Any] = {
    "NotModified": {
        "description": "Nothing changed since the `ETag` sent in `If-None-Match`: no body.",
        "headers": {name: ref("headers", name) for name in ("ETag", "Cache-Control")},
    },
    "BadRequest": _error_response(
        "A parameter cannot be used; `code` is `invalid_<parameter>` and the message "
        "says what it accepts.",
        {"pattern": "^invalid_[a-z_]+$"},
    ),
    "NotFound": _error_response(
        "No public letter with this slug (drafts included), or no such API path.",
        {"const": "not_found"},
    ),
    "MethodNotAllowed": {
        **_error_response(
            "Anything but `GET`, `HEAD` or `OPTIONS`; `Allow` lists what is.",
            {"const": "method_not_allowed"},
        ),
        "headers": {"Allow": {"schema": {"type": "string"}}},
    },
    "TooManyRequests": {
        **_error_response(
            "Too many requests from your address; wait `Retry-After` seconds.",
            {"const": "too_many_requests"},
        ),
        "headers": {name: ref("headers", name) for name in (*RATE_LIMIT_HEADERS, "Retry-After")},
    },
    "InternalError": {
        **_error_response(
            "A fault on our side (`internal_error`, 500), or the database busy or out of "
            "reach (`database_unavailable`, 503 with `Retry-After`); nothing was changed. "
            "Retry later.",
            {"enum": ["internal_error", "database_unavailable"]},
        ),
        "headers": {"Retry-After": ref("headers", "Retry-After")},
    },
}
