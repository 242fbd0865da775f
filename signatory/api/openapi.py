"""The OpenAPI 3.1 document of the JSON API v1: the one description of what it answers.

``/api/v1/openapi.json`` serves it, ``/api/v1/docs`` renders it for people, and the tests
check every response the API gives against it, so the description, the docs page and
the code cannot drift apart unnoticed. Fixed shapes say ``additionalProperties: false``:
a field added to a response without being documented here fails the tests.

Descriptions are CommonMark, as OpenAPI specifies; the docs page renders them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup

from signatory.core.i18n import ORGANIZATION_TYPES
from signatory.core.text import render_markdown
from signatory.lists.queries import SEARCH_MAX_LENGTH

VERSION = "1.2.0"

# Query limits, shared with the views that enforce them.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LETTER_STATUSES = ["open", "closed", "delivered"]
SIGNATURE_KINDS = ["organization", "individual"]
VERSION_KINDS = ["initial", "correction", "substantive"]

# Rate-limit and caching headers, documented once and referenced from every success.
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

_DESCRIPTION = """\
A read-only API for the public: open letters, how many have signed them, who signed
them, the versions of their text and, once delivered, what was handed over.

**Public fields only.** Email addresses are never part of any response, and signatures
that are unconfirmed, awaiting review, rejected or withdrawn are never listed. Draft
letters do not exist as far as the API is concerned: they answer `404`, the same as a
slug that was never used.

**Requests.** `GET` (and `HEAD`) only, no authentication, no cookies. Unknown query
parameters are ignored, and a parameter given with an empty value (`?kind=`) counts as
absent. Every answer, errors included, is `application/json` in UTF-8. Times are ISO 8601
in UTC with a `Z` suffix; microseconds appear only when they are not zero.

**Caching.** Every successful answer carries a strong `ETag` and `Cache-Control: public,
max-age=…` (a few seconds), so a shared cache in front can absorb many readers. Send the
`ETag` back in `If-None-Match` and the API answers `304 Not Modified` with an empty body
while nothing changed.

**Browsers.** Any origin may read the API (`Access-Control-Allow-Origin: *`); preflight
`OPTIONS` requests are answered. The rate-limit headers and `ETag` are exposed to scripts.

**Rate limits.** Requests are counted per client address. Every answer says where you
stand: `X-RateLimit-Limit` (requests allowed in the window), `X-RateLimit-Remaining`,
`X-RateLimit-Reset` (Unix time the window ends) and `Retry-After` (seconds). Past the
limit the API answers `429` with the error object; wait `Retry-After` seconds.

**Errors.** Every error answers with the matching status and
`{"error": {"code": "…", "message": "…"}}`. `code` is stable and meant for programs
(`invalid_<parameter>`, `not_found`, `method_not_allowed`, `too_many_requests`,
`internal_error`); `message` is for people and may change. An unknown letter is reported
before any bad parameter.
"""


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, as JSON Schema 2020-12 says it (OpenAPI 3.1 has no ``nullable``)."""
    nullable = dict(schema)
    nullable["type"] = [schema["type"], "null"]
    if "enum" in nullable:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A fixed-shape object: every property required unless ``optional``, nothing more."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


def _timestamp(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


def _count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description}


_LETTER_FIELDS: dict[str, Any] = {
    "slug": {"type": "string", "description": "The letter's identifier in URLs."},
    "title": {"type": "string", "description": "The letter's title."},
    "recipient": {
        "type": "string",
        "description": 'Free text, e.g. "Chair of the Ad Hoc Committee".',
    },
    "status": {
        "type": "string",
        "enum": LETTER_STATUSES,
        "description": "`open`, `closed` or `delivered` (drafts are never returned).",
    },
    "deadline": _nullable(_timestamp("When signing closes by itself; null for no deadline.")),
    "accepts_signatures": {
        "type": "boolean",
        "description": "Open and before its deadline, right now.",
    },
    "url": {"type": "string", "format": "uri", "description": "The letter's public page."},
}

_LANGUAGE_TAG: dict[str, Any] = {
    "type": "string",
    "pattern": "^[a-z]{2}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$",
    "examples": ["en", "fr", "pt-BR", "zh-Hant"],
}

_VERSION_FIELDS: dict[str, Any] = {
    "number": {
        "type": "integer",
        "minimum": 1,
        "description": "The version's number, from 1; every signature records the version "
        "it was signed against.",
    },
    "kind": {
        "type": "string",
        "enum": VERSION_KINDS,
        "description": "`initial` (the first text), `correction` (typos, formatting) or "
        "`substantive` (a change to what the letter says).",
    },
    "change_note": {
        "type": "string",
        "description": "What changed, in the editor's words; empty for the first version.",
    },
    "created_at": _timestamp("When this version was published."),
    "body_html": {
        "type": "string",
        "description": "The text as sanitised HTML (no scripts, styles or event handlers).",
    },
    "language": {
        **_LANGUAGE_TAG,
        "description": "The language of this version's own text (`body_html`), a BCP 47 tag.",
    },
    "authoritative_language": {
        **_LANGUAGE_TAG,
        "description": "The language of the authoritative text, the one that counts where "
        "the texts differ: `language`, or one of the `translations`.",
    },
    "translations": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Translation"},
        "description": "The version's text in other languages, by language tag; empty when "
        "it has none. Each belongs to this version only: a new version starts without them.",
    },
}

_TRANSLATION_FIELDS: dict[str, Any] = {
    "language": {**_LANGUAGE_TAG, "description": "The translation's language, a BCP 47 tag."},
    "authoritative": {
        "type": "boolean",
        "description": "Whether this translation is the authoritative text of its version.",
    },
    "title": {"type": "string", "description": "The letter's title in this language."},
    "updated_at": _timestamp("When the translation was last saved."),
    "body_html": {
        "type": "string",
        "description": "The translated text as sanitised HTML; present when the version's "
        "own `body_html` is.",
    },
}

_SIGNATURE_FIELDS: dict[str, Any] = {
    "id": {"type": "integer", "description": "Stable identifier of the signature."},
    "kind": {
        "type": "string",
        "enum": SIGNATURE_KINDS,
        "description": "`organization` or `individual`.",
    },
    "organization": _nullable(
        {
            "type": "string",
            "description": "For organizations, the organization's name; for individuals, "
            "an optional affiliation shown **for identification only** (it does not mean "
            "the organization signed).",
        }
    ),
    "country": {
        "type": "string",
        "pattern": "^[A-Z]{2}$",
        "description": "ISO 3166-1 alpha-2 code.",
    },
    "organization_type": _nullable(
        {
            "type": "string",
            "enum": list(ORGANIZATION_TYPES),
            "description": "For organizations, one of "
            + ", ".join(f"`{code}`" for code in ORGANIZATION_TYPES)
            + "; null for individuals.",
        }
    ),
    "website": _nullable({"type": "string", "description": "The organization's website."}),
    "name": {"type": "string", "description": "The signer's name."},
    "title": _nullable({"type": "string", "description": "The signer's title or role."}),
    "domain_verified": {
        "type": "boolean",
        "description": "The signer confirmed from an email address at the organization's "
        "website domain; always false for individuals.",
    },
    "signed_at": _timestamp("When the signature was published."),
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "The version of the letter's text it was signed against.",
    },
}

_COUNTS = _object(
    {
        "organizations": _count("Published organization signatures."),
        "individuals": _count("Published individual signatures."),
        "total": _count("The sum of the two."),
    }
)

_DELIVERY = _object(
    {
        "delivered_to": {"type": "string", "description": "Who received the letter."},
        "delivered_at": _timestamp("When it was delivered."),
        "method": {"type": "string", "description": 'How, e.g. "in person" or "by email".'},
        "organizations": _count("Organization signatures in the delivered list."),
        "individuals": _count("Individual signatures in the delivered list."),
        "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "SHA-256 of the delivered CSV file, in hex: check a download "
            "against it.",
        },
        "download_url": {
            "type": "string",
            "format": "uri",
            "description": "The delivered CSV file, byte for byte as it was handed over.",
        },
    }
)

_ERROR = _object(
    {
        "error": {
            **_object(
                {
                    "code": {
                        "type": "string",
                        "description": "Stable, for programs: e.g. `invalid_limit`, `not_found`.",
                    },
                    "message": {
                        "type": "string",
                        "description": "For people; it names the parameter at fault, and may "
                        "change.",
                    },
                }
            ),
            "description": "What went wrong.",
        }
    }
)

# --- Examples, shown on the docs page and checked against the schemas by the tests --------

_LETTER_EXAMPLE: dict[str, Any] = {
    "slug": "protect-civic-space",
    "title": "Protect civic space in the treaty",
    "recipient": "Chair of the Ad Hoc Committee",
    "status": "open",
    "deadline": "2025-06-30T17:00:00Z",
    "accepts_signatures": True,
    "url": "https://letters.example.org/letters/protect-civic-space",
}
_COUNTS_EXAMPLE = {"organizations": 412, "individuals": 1380, "total": 1792}
_TRANSLATION_EXAMPLE: dict[str, Any] = {
    "language": "fr",
    "authoritative": False,
    "title": "Protéger l'espace civique dans le traité",
    "updated_at": "2025-03-02T11:20:00Z",
    "body_html": "<p>Nous, organisations soussignées, demandons …</p>",
}
_VERSION_EXAMPLE: dict[str, Any] = {
    "number": 2,
    "kind": "correction",
    "change_note": "Fixed the committee's name in the second paragraph.",
    "created_at": "2025-03-01T09:00:00Z",
    "body_html": "<p>We, the undersigned organizations, ask …</p>",
    "language": "en",
    "authoritative_language": "en",
    "translations": [_TRANSLATION_EXAMPLE],
}
_SIGNATURE_EXAMPLES: list[dict[str, Any]] = [
    {
        "id": 1031,
        "kind": "organization",
        "organization": "Civic Watch Kenya",
        "country": "KE",
        "organization_type": "ngo",
        "website": "https://civicwatch.example.org",
        "name": "Wanjiru Kamau",
        "title": "Executive Director",
        "domain_verified": True,
        "signed_at": "2025-03-01T09:30:15Z",
        "version": 1,
    },
    {
        "id": 1188,
        "kind": "organization",
        "organization": "Nairobi Lawyers Collective",
        "country": "KE",
        "organization_type": "association",
        "website": "https://nlc.example.org",
        "name": "Otieno Were",
        "title": None,
        "domain_verified": False,
        "signed_at": "2025-03-02T14:02:41Z",
        "version": 2,
    },
]

EXAMPLES: dict[str, Any] = {
    "LetterList": {"letters": [{**_LETTER_EXAMPLE, "counts": _COUNTS_EXAMPLE}]},
    "LetterDetail": {
        "letter": _LETTER_EXAMPLE,
        "version": _VERSION_EXAMPLE,
        "counts": _COUNTS_EXAMPLE,
        "counts_by_country": {"DE": 310, "FR": 655, "KE": 827},
        "counts_by_organization_type": {"association": 97, "ngo": 281, "union": 34},
        "delivery": None,
    },
    "SignaturePage": {
        "signatures": _SIGNATURE_EXAMPLES,
        "next_cursor": "MTc0MDkyNDE2MTAwMDAwMC4xMTg4",
    },
    "VersionList": {
        "versions": [
            {
                "number": 1,
                "kind": "initial",
                "change_note": "",
                "created_at": "2025-02-20T16:45:00Z",
                "language": "en",
                "authoritative_language": "en",
                "translations": [],
            },
            {
                **{key: value for key, value in _VERSION_EXAMPLE.items() if key != "body_html"},
                "translations": [
                    {
                        key: value
                        for key, value in _TRANSLATION_EXAMPLE.items()
                        if key != "body_html"
                    }
                ],
            },
        ]
    },
}

# --- Parameters -------------------------------------------------------------------------

_PARAMETERS: dict[str, Any] = {
    "slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The letter's slug, as in its page's address.",
        "schema": {"type": "string"},
    },
    "limit": {
        "name": "limit",
        "in": "query",
        "description": f"How many signatures per page, from 1 to {MAX_LIMIT}.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "description": "Where the page starts: `next_cursor` from the previous page, "
        "unchanged. Leave it out for the first page. Keep the same filters while you page.",
        "schema": {"type": "string"},
    },
    "kind": {
        "name": "kind",
        "in": "query",
        "description": "One section only: `organization` or `individual`.",
        "schema": {"type": "string", "enum": SIGNATURE_KINDS},
    },
    "country": {
        "name": "country",
        "in": "query",
        "description": "One country only: an ISO 3166-1 alpha-2 code such as `DE` or `KE` "
        "(case-insensitive).",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
    },
    "organization_type": {
        "name": "organization_type",
        "in": "query",
        "description": "Organizations of one type only (individuals have none): "
        + ", ".join(f"`{code}`" for code in ORGANIZATION_TYPES)
        + ".",
        "schema": {"type": "string", "enum": list(ORGANIZATION_TYPES)},
    },
    "domain_verified": {
        "name": "domain_verified",
        "in": "query",
        "description": "Organizations only (individuals have no website to verify): `true`, "
        "those whose signer confirmed from an address at the organization's website domain; "
        "`false`, the others.",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "q": {
        "name": "q",
        "in": "query",
        "description": "Names containing this text (organization, affiliation or signer), "
        f"ignoring case and accents: `cafe` finds `Café`. At most {SEARCH_MAX_LENGTH} "
        "characters.",
        "schema": {"type": "string", "maxLength": SEARCH_MAX_LENGTH},
    },
    "sort": {
        "name": "sort",
        "in": "query",
        "description": "`signed` (order of signing, oldest first), `newest` (newest first) or "
        "`name` (by name, A to Z). A cursor only works with the sort it was made for.",
        "schema": {"type": "string", "enum": ["signed", "newest", "name"], "default": "signed"},
    },
    "include": {
        "name": "include",
        "in": "query",
        "description": "`body` adds the texts: each version's and its translations' `body_html`.",
        "schema": {"type": "string", "enum": ["body"]},
    },
}

# --- Responses --------------------------------------------------------------------------

_HEADERS: dict[str, Any] = {
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

_SUCCESS_HEADERS = (
    "ETag",
    "Cache-Control",
    *RATE_LIMIT_HEADERS,
    "Retry-After",
    "Access-Control-Allow-Origin",
)


def _error_response(description: str, code: dict[str, Any]) -> dict[str, Any]:
    """An error response whose ``code`` is constrained by ``code`` (a JSON Schema)."""
    schema = copy.deepcopy(_ERROR)
    schema["properties"]["error"]["properties"]["code"] = {
        **schema["properties"]["error"]["properties"]["code"],
        **code,
    }
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


_RESPONSES: dict[str, Any] = {
    "NotModified": {
        "description": "Nothing changed since the `ETag` sent in `If-None-Match`: no body.",
        "headers": {name: _ref("headers", name) for name in ("ETag", "Cache-Control")},
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
        "headers": {name: _ref("headers", name) for name in (*RATE_LIMIT_HEADERS, "Retry-After")},
    },
    "InternalError": _error_response(
        "A fault on our side; nothing was changed. Retry later.",
        {"const": "internal_error"},
    ),
}


def _ok(description: str, schema: str, example: str | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ref("schemas", schema)}
    if example is not None:
        media["example"] = EXAMPLES[example]
    return {
        "description": description,
        "headers": {name: _ref("headers", name) for name in _SUCCESS_HEADERS},
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
    responses = {"200": ok, "304": _ref("responses", "NotModified")}
    named = {"400": "BadRequest", "404": "NotFound"}
    for status in errors:
        responses[status] = _ref("responses", named[status])
    responses["405"] = _ref("responses", "MethodNotAllowed")
    responses["429"] = _ref("responses", "TooManyRequests")
    responses["5XX"] = _ref("responses", "InternalError")
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
    }
    if parameters:
        operation["parameters"] = [_ref("parameters", name) for name in parameters]
    operation["responses"] = responses
    return operation


_PATHS: dict[str, Any] = {
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

_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR,
    "Counts": _COUNTS,
    "Letter": _object(_LETTER_FIELDS),
    "LetterSummary": _object(
        {**_LETTER_FIELDS, "counts": {**_ref("schemas", "Counts"), "description": "Published."}}
    ),
    "Version": _object(_VERSION_FIELDS),
    "VersionSummary": _object(_VERSION_FIELDS, optional=("body_html",)),
    "Translation": _object(_TRANSLATION_FIELDS, optional=("body_html",)),
    "Delivery": _DELIVERY,
    "Signature": _object(_SIGNATURE_FIELDS),
    "LetterList": _object(
        {
            "letters": {
                "type": "array",
                "items": _ref("schemas", "LetterSummary"),
                "description": "Every public letter; there are few, so there are no pages.",
            }
        }
    ),
    "LetterDetail": _object(
        {
            "letter": {**_ref("schemas", "Letter"), "description": "The letter."},
            "version": {
                **_ref("schemas", "Version"),
                "description": "The current version.",
            },
            "counts": {
                **_ref("schemas", "Counts"),
                "description": "Published signatures by section.",
            },
            "counts_by_country": {
                "type": "object",
                "description": "Published signatures (both sections) per country, by ISO "
                "3166-1 alpha-2 code; countries nobody signed from are left out.",
                "propertyNames": {"pattern": "^[A-Z]{2}$"},
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "counts_by_organization_type": {
                "type": "object",
                "description": "Published organization signatures per organization type; "
                "types nobody signed as are left out.",
                "propertyNames": {"enum": list(ORGANIZATION_TYPES)},
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "delivery": {
                "oneOf": [_ref("schemas", "Delivery"), {"type": "null"}],
                "description": "What was handed over to the recipient; null until delivered.",
            },
        }
    ),
    "SignaturePage": _object(
        {
            "signatures": {
                "type": "array",
                "items": _ref("schemas", "Signature"),
                "description": "Up to `limit` signatures, oldest first.",
            },
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        }
    ),
    "VersionList": _object(
        {
            "versions": {
                "type": "array",
                "items": _ref("schemas", "VersionSummary"),
                "description": "Oldest first; `body_html` only with `include=body`.",
            }
        }
    ),
    "OpenAPIDocument": {
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "description": "An OpenAPI 3.1 document.",
    },
}


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document; callers must not modify it (take a deep copy to do so)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "signatory JSON API",
            "version": VERSION,
            "summary": "Open letters, their counts, signatures and versions: public fields only.",
            "description": _DESCRIPTION,
        },
        "servers": [{"url": "/api/v1"}],
        "paths": _PATHS,
        "components": {
            "schemas": _SCHEMAS,
            "parameters": _PARAMETERS,
            "responses": _RESPONSES,
            "headers": _HEADERS,
        },
    }


# --- The document read for people: what the docs page shows -------------------------------


@dataclass(frozen=True)
class Field:
    """One field of a response, named by its path in the JSON (``signatures[].name``)."""

    name: str
    type: str
    required: bool
    description: Markup


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    type: str
    required: bool
    default: Any
    description: Markup


@dataclass(frozen=True)
class Outcome:
    """One documented status of an endpoint: ``200``, ``304``, ``404``…"""

    status: str
    description: Markup


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    anchor: str
    summary: str
    description: Markup
    parameters: list[Parameter]
    outcomes: list[Outcome]
    fields: list[Field]
    example_request: str | None
    example: str | None


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    base: str
    description: Markup
    endpoints: list[Endpoint]
    error_fields: list[Field]


def _markdown(text: str) -> Markup:
    # Our own text, but through the same renderer (and sanitiser) as letters anyway.
    return Markup(render_markdown(text))  # noqa: S704 - render_markdown sanitises


def _inline(text: str) -> Markup:
    """Markdown for a table cell: one paragraph without its ``<p>``."""
    html = render_markdown(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # noqa: S704 - render_markdown sanitises


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` replaced by the target; the node's own keys win."""
    seen = 0
    while "$ref" in node:
        seen += 1
        if seen > 10:
            raise ValueError(f"$ref loop at {node['$ref']}")
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def _type_name(schema: dict[str, Any]) -> str:
    schema = _resolve(schema)
    if "oneOf" in schema:
        return " or ".join(_type_name(option) for option in schema["oneOf"])
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    names = []
    for kind in kinds:
        if kind == "array":
            names.append(f"array of {_type_name(schema['items'])}s")
        elif kind == "string" and "format" in schema:
            names.append(f"string ({schema['format']})")
        else:
            names.append(kind)
    return " or ".join(names)


def _fields(schema: dict[str, Any], prefix: str = "") -> list[Field]:
    """Every field below ``schema``, depth first, in the document's order."""
    schema = _resolve(schema)
    for option in schema.get("oneOf", ()):
        if _resolve(option).get("type") == "object":
            schema = _resolve(option)
    rows: list[Field] = []
    required = set(schema.get("required", ()))
    for name, child in schema.get("properties", {}).items():
        child = _resolve(child)
        path = f"{prefix}{name}"
        rows.append(
            Field(path, _type_name(child), name in required, _inline(child.get("description", "")))
        )
        if child.get("type") == "array":
            rows.extend(_fields(child["items"], f"{path}[]."))
        else:
            rows.extend(_fields(child, f"{path}."))
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        key = "code" if "propertyNames" in schema else "key"
        rows.append(Field(f"{prefix}<{key}>", _type_name(values), False, Markup("")))
    return rows


def _example_request(path: str) -> str:
    url = "/api/v1" + path.replace("{slug}", "protect-civic-space")
    if path.endswith("/signatures"):
        url += "?kind=organization&country=KE&limit=2"
    return url


def _endpoint(path: str, method: str, operation: dict[str, Any]) -> Endpoint:
    parameters = []
    for reference in operation.get("parameters", ()):
        parameter = _resolve(reference)
        parameters.append(
            Parameter(
                name=parameter["name"],
                location=parameter["in"],
                type=_type_name(parameter["schema"]),
                required=parameter.get("required", False),
                default=parameter["schema"].get("default"),
                description=_inline(parameter.get("description", "")),
            )
        )
    outcomes = [
        Outcome(status, _inline(_resolve(response)["description"]))
        for status, response in operation["responses"].items()
    ]
    media = operation["responses"]["200"]["content"]["application/json"]
    example = media.get("example")
    return Endpoint(
        method=method.upper(),
        path="/api/v1" + path,
        anchor=operation["operationId"],
        summary=operation["summary"],
        description=_markdown(operation["description"]),
        parameters=parameters,
        outcomes=outcomes,
        fields=_fields(media["schema"]) if example is not None else [],
        example_request=_example_request(path) if example is not None else None,
        example=json.dumps(example, indent=2, ensure_ascii=False) if example is not None else None,
    )


@cache
def reference() -> Reference:
    """The document arranged for the docs page: endpoints, parameters, fields, examples."""
    spec = document()
    return Reference(
        title=spec["info"]["title"],
        version=spec["info"]["version"],
        base=spec["servers"][0]["url"],
        description=_markdown(spec["info"]["description"]),
        endpoints=[
            _endpoint(path, method, operation)
            for path, item in spec["paths"].items()
            for method, operation in item.items()
        ],
        error_fields=_fields(spec["components"]["schemas"]["Error"]),
    )
