"""The query and path parameters of the document (``components.parameters``), named once and
referenced by the operations that accept them. Their bounds come from the same constants the
views and the list queries enforce, so the documented limits are the real ones.
"""

from __future__ import annotations

from typing import Any

from signatory.api.openapi.constants import DEFAULT_LIMIT, MAX_LIMIT, SIGNATURE_KINDS
from signatory.core.i18n import ORGANIZATION_TYPES
from signatory.lists.queries import SEARCH_MAX_LENGTH

PARAMETERS: dict[str, Any] = {
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
