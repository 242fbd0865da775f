"""JSON API v1: a letter with its counts, and its published signatures page by page.

Public fields only, built from ``service.PublicSignature`` (which never selects the
email). Every error, including 404 and 405, answers ``{"error": {"code", "message"}}``:
the app's handlers in ``web.py`` do that for any path under ``/api/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, jsonify, request, url_for

from ..extensions import db
from ..models import Letter, LetterVersion
from ..public import service
from ..reference import countries
from ..timeutil import utcnow
from ..web import error_response
from . import bp

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_LIMIT = re.compile(r"[0-9]{1,6}")


class BadParameter(Exception):
    """A query parameter the API cannot use; answered as 400 ``invalid_<name>``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> tuple[Response | str, int]:
    return error_response(400, f"invalid_{error.name}", error.message)


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _public_letter(slug: str) -> Letter:
    letter = service.letter_by_slug(db.session, slug)
    if letter is None:
        abort(404, description=f"There is no public letter with the slug {slug!r}.")
    return letter


def _limit_arg() -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _kind_arg() -> str | None:
    raw = request.args.get("kind", "")
    if not raw:
        return None
    if raw not in service.PUBLIC_KINDS:
        raise BadParameter("kind", "kind must be 'organization' or 'individual'.")
    return raw


def _country_arg() -> str | None:
    raw = request.args.get("country", "")
    if not raw:
        return None
    code = raw.upper()
    if code not in countries():
        raise BadParameter(
            "country", "country must be an ISO 3166-1 alpha-2 code such as 'DE' or 'KE'."
        )
    return code


def _cursor_arg() -> service.Cursor | None:
    raw = request.args.get("cursor", "")
    if not raw:
        return None
    try:
        return service.decode_cursor(raw)
    except service.InvalidCursor:
        raise BadParameter(
            "cursor",
            "cursor is not one this API gave out; pass next_cursor from the previous "
            "response unchanged, or leave it out to start from the beginning.",
        ) from None


def signature_json(signature: service.PublicSignature) -> dict[str, Any]:
    """The public fields of one signature, as the API documents them."""
    return {
        "id": signature.id,
        "kind": signature.kind,
        "organization": signature.organization,
        "country": signature.country,
        "organization_type": signature.organization_type,
        "website": signature.website,
        "name": signature.name,
        "title": signature.title,
        "domain_verified": signature.domain_verified,
        "signed_at": _timestamp(signature.published_at),
        "version": signature.version,
    }


def _version_json(version: LetterVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "created_at": _timestamp(version.created_at),
        "body_html": version.body_html,
    }


@bp.get("/letters/<slug>")
def letter(slug: str) -> Response:
    """A public letter: its details, current version and published counts."""
    letter = _public_letter(slug)
    counts = service.published_counts(db.session, letter)
    return jsonify(
        {
            "letter": {
                "slug": letter.slug,
                "title": letter.title,
                "recipient": letter.recipient,
                "status": letter.status,
                "deadline": _timestamp(letter.deadline),
                "accepts_signatures": letter.accepts_signatures(utcnow()),
                "url": url_for("public.letter", slug=letter.slug, _external=True),
            },
            "version": _version_json(letter.current_version),
            "counts": {
                "organizations": counts.organizations,
                "individuals": counts.individuals,
                "total": counts.total,
            },
        }
    )


@bp.get("/letters/<slug>/signatures")
def signatures(slug: str) -> Response:
    """Published signatures in signing order, ``limit`` at a time, after ``cursor``.

    Filters: ``kind`` (organization | individual) and ``country`` (alpha-2).
    """
    letter = _public_letter(slug)
    limit = _limit_arg()
    kind = _kind_arg()
    country = _country_arg()
    after = _cursor_arg()
    page = service.published_page(
        db.session, letter, kind=kind, country=country, after=after, limit=limit
    )
    return jsonify(
        {
            "signatures": [signature_json(signature) for signature in page.items],
            "next_cursor": page.next_cursor,
        }
    )
