"""The paths of the document: one operation per endpoint, with its summary, its prose, its
parameters and the statuses it can answer. Every operation shares the same ``304``, ``405``,
``429`` and ``5XX`` answers, so they are added in one place; the tests check that these paths
are exactly the routes the blueprint serves.
"""

from __future__ import annotations

from typing import Any

from signatory.api.openapi.builders import ref
from signatory.api.openapi.examples import EXAMPLES
from signatory.api.openapi.responses import SUCCESS_HEADERS


def _ok(description: str, schema: str, example: str | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": ref("schemas", schema)}
    if example is not None:
        media["example"] = EXAMPLES[example]
    return {
        "description": description,
        "headers": {name: ref("headers", name) for name in SUCCESS_HEADERS},
        "content": {"application/json": media},
    }


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    ok: dict[str, Any],
    *,
    parameters: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
) -> dict[str, Any]:
    responses = {"200": ok, "304": ref("responses", "NotModified")}
    named = {"400": "BadRequest", "404": "NotFound"}
    for status in errors:
        responses[status] = ref("responses", named[status])
    responses["405"] = ref("responses", "MethodNotAllowed")
    responses["429"] = ref("responses", "TooManyRequests")
    responses["5XX"] = ref("responses", "InternalError")
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
    }
    if parameters:
        operation["parameters"] = [ref("parameters", name) for name in parameters]
    operation["responses"] = responses
    return operation


PATHS: dict[str, Any] = {
    "/letters": {
        "get": _operation(
            "listLetters",
            "Public letters",
            "Every letter that is not a draft: open ones first, then closed and delivered, "
            "newest first, each with its published counts.",
            _ok("The letters.", "LetterList", "LetterList"),
        )
    },
    "/letters/{slug}": {
        "get": _operation(
            "getLetter",
            "One letter",
            "The letter, its current version, how many have signed (by section, by country "
            "and by organization type) and, once delivered, the delivery record.",
            _ok("The letter.", "LetterDetail", "LetterDetail"),
            parameters=("slug",),
            errors=("404",),
        )
    },
    "/letters/{slug}/signatures": {
        "get": _operation(
            "listSignatures",
            "Published signatures, a page at a time",
            "Published signatures, filtered as the public list is, in the order of `sort` "
            "(by default the order they were published, oldest first). Pages are "
            "cursor-based: start without `cursor`; while `next_cursor` is not null, ask for "
            "the next page with `cursor=<next_cursor>` and the same filters and sort. Every "
            "page costs the same however deep; in signing order, signatures published while "
            "you page appear at the end, none twice and none skipped. There is no total in "
            "the page: use `counts` from the letter. Names and titles are the signers' own "
            "text: escape them before putting them into HTML, and neutralise a leading `=`, "
            "`+`, `-` or `@` before putting them into a spreadsheet.",
            _ok("A page of signatures.", "SignaturePage", "SignaturePage"),
            parameters=(
                "slug",
                "limit",
                "cursor",
                "kind",
                "country",
                "organization_type",
                "domain_verified",
                "q",
                "sort",
            ),
            errors=("400", "404"),
        )
    },
    "/letters/{slug}/versions": {
        "get": _operation(
            "listVersions",
            "Versions of the letter's text",
            "Every published version, first to current. Publishing a new version never "
            "rewrites an old one, and each signature says which version it was signed "
            "against. Each version lists its translations and says which text is "
            "authoritative; signatures count once whatever language they were made in. "
            "The texts are left out unless `include=body`.",
            _ok("The versions.", "VersionList", "VersionList"),
            parameters=("slug", "include"),
            errors=("400", "404"),
        )
    },
    "/openapi.json": {
        "get": _operation(
            "getOpenAPI",
            "This description",
            "The OpenAPI 3.1 document describing the API; the page `/api/v1/docs` shows "
            "it for people.",
            _ok("The OpenAPI document.", "OpenAPIDocument"),
        )
    },
}
