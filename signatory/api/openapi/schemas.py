"""The schemas of the document (``components.schemas``): the shape of every body the API
answers, errors included. Fixed shapes say ``additionalProperties: false``, so a field the
code adds to a response without documenting it here fails the tests; the field tables of
the docs page are read from these schemas.
"""

from __future__ import annotations

from typing import Any

from signatory.api.openapi.builders import count, fixed_object, nullable, ref, timestamp
from signatory.api.openapi.constants import (
    LEAD_ROLES,
    LETTER_STATUSES,
    SIGNATURE_KINDS,
    VERSION_KINDS,
)
from signatory.core.i18n import ORGANIZATION_TYPES

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
    "deadline": nullable(timestamp("When signing closes by itself; null for no deadline.")),
    "accepts_signatures": {
        "type": "boolean",
        "description": "Open and before its deadline, right now.",
    },
    "goal": nullable(
        {
            "type": "integer",
            "minimum": 1,
            "description": "The number of published signatures the coordinators aim for; "
            "null for no goal.",
        }
    ),
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
    "created_at": timestamp("When this version was published."),
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
    "updated_at": timestamp("When the translation was last saved."),
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
    "organization": nullable(
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
    "organization_type": nullable(
        {
            "type": "string",
            "enum": list(ORGANIZATION_TYPES),
            "description": "For organizations, one of "
            + ", ".join(f"`{code}`" for code in ORGANIZATION_TYPES)
            + "; null for individuals.",
        }
    ),
    "website": nullable({"type": "string", "description": "The organization's website."}),
    "name": {"type": "string", "description": "The signer's name."},
    "title": nullable({"type": "string", "description": "The signer's title or role."}),
    "domain_verified": {
        "type": "boolean",
        "description": "The signer confirmed from an email address at the organization's "
        "website domain; always false for individuals.",
    },
    "signed_at": timestamp("When the signature was published."),
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "The version of the letter's text it was signed against.",
    },
    "lead": nullable(
        {
            "type": "string",
            "enum": LEAD_ROLES,
            "description": "For a lead organization, whether it initiated or co-sponsors the "
            "letter (the letter names its leads first); null for every other signature.",
        }
    ),
    "reconfirmed_version": nullable(
        {
            "type": "integer",
            "minimum": 2,
            "description": "The newest version of the text its signer re-confirmed the "
            "signature on after a substantive change (`version` stays the one first signed); "
            "null when it was not re-confirmed.",
        }
    ),
}

_COUNTS = fixed_object(
    {
        "organizations": count("Published organization signatures."),
        "individuals": count("Published individual signatures."),
        "total": count("The sum of the two."),
    }
)

_DELIVERY = fixed_object(
    {
        "delivered_to": {"type": "string", "description": "Who received the letter."},
        "delivered_at": timestamp("When it was delivered."),
        "method": {"type": "string", "description": 'How, e.g. "in person" or "by email".'},
        "organizations": count("Organization signatures in the delivered list."),
        "individuals": count("Individual signatures in the delivered list."),
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

ERROR = fixed_object(
    {
        "error": {
            **fixed_object(
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


SCHEMAS: dict[str, Any] = {
    "Error": ERROR,
    "Counts": _COUNTS,
    "Letter": fixed_object(_LETTER_FIELDS),
    "LetterSummary": fixed_object(
        {**_LETTER_FIELDS, "counts": {**ref("schemas", "Counts"), "description": "Published."}}
    ),
    "Version": fixed_object(_VERSION_FIELDS),
    "VersionSummary": fixed_object(_VERSION_FIELDS, optional=("body_html",)),
    "Translation": fixed_object(_TRANSLATION_FIELDS, optional=("body_html",)),
    "Delivery": _DELIVERY,
    "Signature": fixed_object(_SIGNATURE_FIELDS),
    "LetterList": fixed_object(
        {
            "letters": {
                "type": "array",
                "items": ref("schemas", "LetterSummary"),
                "description": "Every public letter; there are few, so there are no pages.",
            }
        }
    ),
    "LetterDetail": fixed_object(
        {
            "letter": {**ref("schemas", "Letter"), "description": "The letter."},
            "version": {
                **ref("schemas", "Version"),
                "description": "The current version.",
            },
            "counts": {
                **ref("schemas", "Counts"),
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
                "oneOf": [ref("schemas", "Delivery"), {"type": "null"}],
                "description": "What was handed over to the recipient; null until delivered.",
            },
        }
    ),
    "SignaturePage": fixed_object(
        {
            "signatures": {
                "type": "array",
                "items": ref("schemas", "Signature"),
                "description": "Up to `limit` signatures, oldest first.",
            },
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        }
    ),
    "VersionList": fixed_object(
        {
            "versions": {
                "type": "array",
                "items": ref("schemas", "VersionSummary"),
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
