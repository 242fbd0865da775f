"""JSON API v1: the public letters, one letter with its counts and delivery, its published
signatures page by page, its versions, and the OpenAPI document describing all of them.

Public fields only: signatures come from ``lists.queries.PublicSignature`` (which never
selects the email), versions without their authors, deliveries without their file. What
each answer holds is fixed in ``openapi``; the tests check every answer against it. How
every answer behaves (caching, CORS, the rate limit, errors) is ``api.http``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, jsonify, render_template, request

from signatory.api import openapi
from signatory.api.http import BadParameter
from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.i18n import ORGANIZATION_TYPES
from signatory.core.time import utcnow
from signatory.core.web import absolute_url
from signatory.delivery.service import PublicDelivery, latest_delivery
from signatory.letters.queries import Counts, letter_by_slug, listed_letters, published_counts
from signatory.letters.texts import public_translations
from signatory.lists import filters, queries
from signatory.lists.queries import SEARCH_MAX_LENGTH, PublicSignature
from signatory.models import Letter, LetterTranslation, LetterVersion

routes = Routes("api")

DEFAULT_LIMIT = openapi.DEFAULT_LIMIT
MAX_LIMIT = openapi.MAX_LIMIT
_LIMIT = re.compile(r"[0-9]{1,6}")
_INCLUDES = frozenset({"body"})


# --- Parameters ---------------------------------------------------------------------------

# How the API names each list parameter in its errors (``invalid_<name>``), and what it says.
_LIST_PROBLEMS = {
    filters.KIND: ("kind", "kind must be 'organization' or 'individual'."),
    filters.COUNTRY: (
        "country",
        "country must be an ISO 3166-1 alpha-2 code such as 'DE' or 'KE'.",
    ),
    filters.ORGANIZATION_TYPE: (
        "organization_type",
        "organization_type must be one of: " + ", ".join(ORGANIZATION_TYPES) + ".",
    ),
    filters.DOMAIN_VERIFIED: ("domain_verified", "domain_verified must be 'true' or 'false'."),
    filters.SEARCH: (
        "q",
        f"q must be at most {SEARCH_MAX_LENGTH} characters; part of a name is enough.",
    ),
    filters.SORT: ("sort", "sort must be 'signed', 'newest' or 'name'."),
    filters.CURSOR: (
        "cursor",
        "cursor is not one this API gave out for this sort; pass next_cursor from the "
        "previous response unchanged, or leave it out to start from the beginning.",
    ),
}


def _public_letter(slug: str, *, with_versions: bool = True) -> Letter:
    letter = letter_by_slug(db.session, slug, with_versions=with_versions)
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


def _list_query() -> filters.ListQuery:
    try:
        return filters.parse_list_query(request.args, filters.API)
    except filters.InvalidListQuery as error:
        name, message = _LIST_PROBLEMS[error.field]
        raise BadParameter(name, message) from None


def _include_arg() -> frozenset[str]:
    raw = request.args.get("include", "")
    if not raw:
        return frozenset()
    included = frozenset(part.strip() for part in raw.split(","))
    if not included <= _INCLUDES:
        raise BadParameter("include", "include accepts 'body' (the text of each version).")
    return included


# --- Shapes -------------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _letter_json(letter: Letter) -> dict[str, Any]:
    return {
        "slug": letter.slug,
        "title": letter.title,
        "recipient": letter.recipient,
        "status": letter.status,
        "deadline": _timestamp(letter.deadline),
        "accepts_signatures": letter.accepts_signatures(utcnow()),
        "goal": letter.goal,
        "url": absolute_url("public.letter", slug=letter.slug),
    }


def _counts_json(counts: Counts) -> dict[str, int]:
    return {
        "organizations": counts.organizations,
        "individuals": counts.individuals,
        "total": counts.total,
    }


def _translation_json(
    version: LetterVersion, translation: LetterTranslation, *, body: bool
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "language": translation.language,
        "authoritative": translation.language == version.authoritative_language,
        "title": translation.title,
        "updated_at": _timestamp(translation.updated_at),
    }
    if body:
        shape["body_html"] = translation.body_html
    return shape


def _version_json(version: LetterVersion, *, body: bool = True) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "number": version.number,
        "kind": version.kind,
        "change_note": version.change_note,
        "created_at": _timestamp(version.created_at),
        "language": version.language,
        "authoritative_language": version.authoritative_language,
    }
    if body:
        shape["body_html"] = version.body_html
    # Only translations that match this version's text: copies awaiting review are not public.
    shape["translations"] = [
        _translation_json(version, translation, body=body)
        for translation in public_translations(db.session, version)
    ]
    return shape


def _delivery_json(letter: Letter, delivery: PublicDelivery) -> dict[str, Any]:
    return {
        "delivered_to": delivery.delivered_to,
        "delivered_at": _timestamp(delivery.delivered_at),
        "method": delivery.method,
        "organizations": delivery.organizations,
        "individuals": delivery.individuals,
        "sha256": delivery.sha256,
        "download_url": absolute_url("public.delivered_csv", slug=letter.slug),
    }


def signature_json(signature: PublicSignature) -> dict[str, Any]:
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
        "lead": signature.lead,
        "reconfirmed_version": signature.reconfirmed_version,
    }


# --- Routes -------------------------------------------------------------------------------


@routes.get("/letters")
def letters() -> Response:
    """Every public letter (open first, then closed and delivered) with its counts."""
    return jsonify(
        {
            "letters": [
                {
                    **_letter_json(letter),
                    "counts": _counts_json(published_counts(db.session, letter)),
                }
                for letter in listed_letters(db.session)
            ]
        }
    )


@routes.get("/letters/<slug>")
def letter(slug: str) -> Response:
    """A public letter: its details, current version, counts and delivery record."""
    letter = _public_letter(slug)
    delivery = latest_delivery(db.session, letter)
    return jsonify(
        {
            "letter": _letter_json(letter),
            "version": _version_json(letter.current_version),
            "counts": _counts_json(published_counts(db.session, letter)),
            "counts_by_country": queries.published_countries(db.session, letter),
            "counts_by_organization_type": queries.published_organization_types(db.session, letter),
            "delivery": _delivery_json(letter, delivery) if delivery else None,
        }
    )


@routes.get("/letters/<slug>/signatures")
def signatures(slug: str) -> Response:
    """Published signatures, ``limit`` at a time after ``cursor``, in ``sort`` order.

    The same filters as the public list: ``kind``, ``country``, ``organization_type``,
    ``domain_verified`` and a name search ``q``.
    """
    letter = _public_letter(slug, with_versions=False)
    limit = _limit_arg()
    query = _list_query()
    page = queries.find_page(
        db.session, letter, query.filters, sort=query.sort, after=query.after, limit=limit
    )
    return jsonify(
        {
            "signatures": [signature_json(signature) for signature in page.items],
            "next_cursor": page.next_cursor,
        }
    )


@routes.get("/letters/<slug>/versions")
def versions(slug: str) -> Response:
    """The versions of a letter's text, first to current; the texts with ``include=body``."""
    letter = _public_letter(slug)
    body = "body" in _include_arg()
    return jsonify({"versions": [_version_json(each, body=body) for each in letter.versions]})


@routes.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi.document())


@routes.get("/docs")
def docs() -> str:
    """The API's reference for people, rendered from the OpenAPI document."""
    return render_template("api/docs.html", reference=openapi.reference())
