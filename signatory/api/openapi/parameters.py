"""The query and path parameters of the document (``components.parameters``), named once and
referenced by the operations that accept them. Their bounds come from the same constants the
views and the list queries enforce, so the documented limits are the real ones.
"""

from __future__ import annotations

from typing import Any

from signatory.api.openapi.constants import DEFAULT_LIMIT, MAX_LIMIT, SIGNATURE_KINDS
from signatory.core.i18n import ORGANIZATION_TYPES
from signatory.lists.queries import SEARCH_MAX_LENGTH


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter. Given empty (``?kind=``) it counts as absent, as the
    document's introduction says; ``allowEmptyValue`` tells clients and test tools so."""
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema,
        "allowEmptyValue": True,
    }


PARAMETERS: dict[str, Any] = {
    "slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The letter's slug, as in its page's address.",
        "schema": {"type": "string", "examples": ["protect-civic-space"]},
    },
    "limit": _query(
        "limit",
        f"How many signatures per page, from 1 to {MAX_LIMIT}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    "cursor": _query(
        "cursor",
        "Where the page starts: `next_cursor` from the previous page, "
        "unchanged. Leave it out for the first page. Keep the same filters while you page.",
        {"type": "string"},
    ),
    "kind": _query(
        "kind",
        "One section only: `organization` or `individual`.",
        {"type": "string", "enum": SIGNATURE_KINDS},
    ),
    "country": _query(
        "country",
        "One country only: an ISO 3166-1 alpha-2 code such as `DE` or `KE` (case-insensitive).",
        {"type": "string", "pattern": "^[A-Za-z]{2}$", "examples": ["KE"]},
    ),
    "organization_type": _query(
        "organization_type",
        "Organizations of one type only (individuals have none): "
        + ", ".join(f"`{code}`" for code in ORGANIZATION_TYPES)
        + ".",
        {"type": "string", "enum": list(ORGANIZATION_TYPES)},
    ),
    "domain_verified": _query(
        "domain_verified",
        "Organizations only (individuals have no website to verify): `true`, "
        "those whose signer confirmed from an address at the organization's website domain; "
        "`false`, the others.",
        {"type": "string", "enum": ["true", "false"]},
    ),
    "q": _query(
        "q",
        "Names containing this text (organization, affiliation or signer), "
        f"ignoring case and accents: `cafe` finds `Café`. At most {SEARCH_MAX_LENGTH} "
        "characters.",
        {"type": "string", "maxLength": SEARCH_MAX_LENGTH},
    ),
    "sort": _query(
        "sort",
        "`signed` (order of signing, oldest first), `newest` (newest first) or "
        "`name` (by name, A to Z). A cursor only works with the sort it was made for.",
        {"type": "string", "enum": ["signed", "newest", "name"], "default": "signed"},
    ),
    "include": _query(
        "include",
        "`body` adds the texts: each version's and its translations' `body_html`.",
        {"type": "string", "enum": ["body"]},
    ),
}
