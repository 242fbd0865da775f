"""Example bodies of the successful answers, keyed by schema name. They are shown on the docs
page and embedded in the document, and the tests check each against its schema, so they
cannot drift from what the API really answers; they are data only, apart from the schemas
they illustrate.
"""

from __future__ import annotations

from typing import Any

_LETTER_EXAMPLE: dict[str, Any] = {
    "slug": "protect-civic-space",
    "title": "Protect civic space in the treaty",
    "recipient": "Chair of the Ad Hoc Committee",
    "status": "open",
    "deadline": "2025-06-30T17:00:00Z",
    "accepts_signatures": True,
    "goal": 500,
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
        "lead": "initiator",
        "reconfirmed_version": 2,
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
        "lead": None,
        "reconfirmed_version": None,
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
