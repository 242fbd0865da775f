"""JSON API v1: the public letters, one letter with its counts and delivery, its published
signatures page by page, its versions, and the OpenAPI document describing all of them.

Public fields only: signatures come from ``service.PublicSignature`` (which never selects
the email), versions without their authors, deliveries without their file. What each
answer holds is fixed in ``openapi.py``; the tests check every answer against it.

How every answer behaves, whatever the route:

- a success carries a strong ``ETag`` (a hash of the body) and a short public
  ``Cache-Control``, and a matching ``If-None-Match`` gets ``304`` with no body, so a
  shared cache in front can serve many readers from one answer;
- any origin may read it (CORS for ``GET``, preflights answered), on ``/api/`` only;
- each client address gets ``API_RATE_LIMIT`` requests, with the ``X-RateLimit-*``
  headers on every answer and a JSON ``429`` past the limit;
- every error, including 404 and 405, answers ``{"error": {"code", "message"}}``: the
  app's handlers in ``web.py`` do that for any path under ``/api/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, current_app, jsonify, render_template, request, url_for

from signatory.api import bp, openapi
from signatory.core.extensions import db, limiter
from signatory.core.reference import ORGANIZATION_TYPES, countries
from signatory.core.time import utcnow
from signatory.core.web import error_response
from signatory.manage import translations_service
from signatory.models import Letter, LetterTranslation, LetterVersion
from signatory.public import service

DEFAULT_LIMIT = openapi.DEFAULT_LIMIT
MAX_LIMIT = openapi.MAX_LIMIT
_LIMIT = re.compile(r"[0-9]{1,6}")
_BOOLEANS = {"true": True, "false": False}
_INCLUDES = frozenset({"body"})

# Headers a script on another origin may read besides the CORS-safelisted ones.
_EXPOSED = ", ".join(("ETag", "Retry-After", *openapi.RATE_LIMIT_HEADERS))
# A browser sends If-None-Match when a script revalidates by hand, which needs a preflight.
_ALLOWED_REQUEST_HEADERS = "If-None-Match, If-Modified-Since"
_PREFLIGHT_MAX_AGE = 24 * 3600


# --- HTTP behaviour -----------------------------------------------------------------------


def _rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _not_counted() -> bool:
    # A preflight is the browser's own request, paid for by the GET that follows; the docs
    # page is a page for people, which this limit is not about.
    return request.method == "OPTIONS" or request.endpoint == "api.docs"


def _limit_message() -> str:
    return (
        f"Too many requests from your address: the API allows {_rate_limit()}. "
        "Wait the number of seconds in Retry-After, then try again."
    )


# One budget for the whole API per address, not one per route: a client walking pages
# and a client polling the letter draw from the same allowance.
limiter.shared_limit(
    _rate_limit, scope="api", exempt_when=_not_counted, error_message=_limit_message
)(bp)


@bp.after_request
def _conditional(response: Response) -> Response:
    """ETag, Cache-Control and 304 for every successful read of the blueprint."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["API_CACHE_MAX_AGE"]
    return response.make_conditional(request)


@bp.after_app_request
def _api_headers(response: Response) -> Response:
    """CORS for every answer under /api/, and no caching of errors.

    An app-wide hook because an unknown path or a wrong method is answered before any
    blueprint is chosen, and those answers need the same headers. Nothing outside /api/
    is touched: the workspace and the pages never allow other origins.
    """
    if not request.path.startswith("/api/") or request.endpoint == "api.docs":
        return response
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = _EXPOSED
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        headers["Access-Control-Allow-Headers"] = _ALLOWED_REQUEST_HEADERS
        headers["Access-Control-Max-Age"] = str(_PREFLIGHT_MAX_AGE)
    if response.status_code >= 400:
        # A shared cache must not keep a 429 meant for one address, nor a passing 404.
        response.cache_control.no_store = True
    return response


# --- Parameters ---------------------------------------------------------------------------


class BadParameter(Exception):
    """A query parameter the API cannot use; answered as 400 ``invalid_<name>``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> tuple[Response | str, int]:
    return error_response(400, f"invalid_{error.name}", error.message)


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


def _organization_type_arg() -> str | None:
    raw = request.args.get("organization_type", "")
    if not raw:
        return None
    if raw not in ORGANIZATION_TYPES:
        raise BadParameter(
            "organization_type",
            "organization_type must be one of: " + ", ".join(ORGANIZATION_TYPES) + ".",
        )
    return raw


def _search_arg() -> str | None:
    raw = " ".join(request.args.get("q", "").split())
    if len(raw) > service.SEARCH_MAX_LENGTH:
        raise BadParameter(
            "q",
            f"q must be at most {service.SEARCH_MAX_LENGTH} characters; part of a name is enough.",
        )
    return raw or None


def _sort_arg() -> service.Sort:
    raw = request.args.get("sort", "")
    if not raw:
        return service.Sort.SIGNED
    try:
        return service.Sort(raw)
    except ValueError:
        raise BadParameter("sort", "sort must be 'signed', 'newest' or 'name'.") from None


def _domain_verified_arg() -> bool | None:
    raw = request.args.get("domain_verified", "")
    if not raw:
        return None
    if raw not in _BOOLEANS:
        raise BadParameter("domain_verified", "domain_verified must be 'true' or 'false'.")
    return _BOOLEANS[raw]


def _cursor_arg(sort: service.Sort) -> service.Cursor | service.NameCursor | None:
    raw = request.args.get("cursor", "")
    if not raw:
        return None
    try:
        return service.decode_position(raw, sort)
    except service.InvalidCursor:
        raise BadParameter(
            "cursor",
            "cursor is not one this API gave out for this sort; pass next_cursor from the "
            "previous response unchanged, or leave it out to start from the beginning.",
        ) from None


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
        "url": url_for("public.letter", slug=letter.slug, _external=True),
    }


def _counts_json(counts: service.Counts) -> dict[str, int]:
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
        for translation in translations_service.public_translations(db.session, version)
    ]
    return shape


def _delivery_json(letter: Letter, delivery: service.PublicDelivery) -> dict[str, Any]:
    return {
        "delivered_to": delivery.delivered_to,
        "delivered_at": _timestamp(delivery.delivered_at),
        "method": delivery.method,
        "organizations": delivery.organizations,
        "individuals": delivery.individuals,
        "sha256": delivery.sha256,
        # The public route serving the frozen file lives beside the letter's page.
        "download_url": url_for("public.letter", slug=letter.slug, _external=True)
        + "/delivered.csv",
    }


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


# --- Routes -------------------------------------------------------------------------------


@bp.get("/letters")
def letters() -> Response:
    """Every public letter (open first, then closed and delivered) with its counts."""
    return jsonify(
        {
            "letters": [
                {
                    **_letter_json(letter),
                    "counts": _counts_json(service.published_counts(db.session, letter)),
                }
                for letter in service.listed_letters(db.session)
            ]
        }
    )


@bp.get("/letters/<slug>")
def letter(slug: str) -> Response:
    """A public letter: its details, current version, counts and delivery record."""
    letter = _public_letter(slug)
    delivery = service.latest_delivery(db.session, letter)
    return jsonify(
        {
            "letter": _letter_json(letter),
            "version": _version_json(letter.current_version),
            "counts": _counts_json(service.published_counts(db.session, letter)),
            "counts_by_country": service.published_countries(db.session, letter),
            "counts_by_organization_type": service.published_organization_types(db.session, letter),
            "delivery": _delivery_json(letter, delivery) if delivery else None,
        }
    )


@bp.get("/letters/<slug>/signatures")
def signatures(slug: str) -> Response:
    """Published signatures, ``limit`` at a time after ``cursor``, in ``sort`` order.

    The same filters as the public list: ``kind``, ``country``, ``organization_type``,
    ``domain_verified`` and a name search ``q``.
    """
    letter = _public_letter(slug)
    limit = _limit_arg()
    filters = service.ListFilters(
        kind=_kind_arg(),
        country=_country_arg(),
        organization_type=_organization_type_arg(),
        domain_verified=_domain_verified_arg(),
        search=_search_arg(),
    )
    sort = _sort_arg()
    page = service.find_page(
        db.session, letter, filters, sort=sort, after=_cursor_arg(sort), limit=limit
    )
    return jsonify(
        {
            "signatures": [signature_json(signature) for signature in page.items],
            "next_cursor": page.next_cursor,
        }
    )


@bp.get("/letters/<slug>/versions")
def versions(slug: str) -> Response:
    """The versions of a letter's text, first to current; the texts with ``include=body``."""
    letter = _public_letter(slug)
    body = "body" in _include_arg()
    return jsonify({"versions": [_version_json(each, body=body) for each in letter.versions]})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi.document())


@bp.get("/docs")
def docs() -> str:
    """The API's reference for people, rendered from the OpenAPI document."""
    return render_template("api/docs.html", reference=openapi.reference())
