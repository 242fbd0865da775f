"""The JSON API against its own OpenAPI document, fuzzed by schemathesis: every operation with
generated parameters, valid and invalid (cursors, filters, search text, page sizes, unknown
slugs and wrong methods), never answers 5xx, answers only documented statuses, content types,
headers and bodies, and shapes every error as ``{"error": {"code", "message"}}``.

The schema is the one the app serves at ``/api/v1/openapi.json``, and schemathesis calls the
app directly as a WSGI application; the data is a letter with published signatures of both
kinds from several countries and types (and rows that must never show), a delivered letter,
a closed one and a draft.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from signatory import create_app
from signatory.api import openapi
from signatory.core.extensions import db
from signatory.core.i18n import countries
from signatory.models import Delivery, Signature
from tests.conftest import _config, database_copy
from tests.factories import make_letter, make_signature

# The slug the document gives as its example, so the examples and coverage phases reach it.
OPEN = "protect-civic-space"
DELIVERED = "delivered-letter"
CLOSED = "closed-letter"
DRAFT = "draft-letter"
# The slugs a case may be pointed at instead of the generated one: letters with data, and one
# that exists but is not public (a draft answers 404 like an unknown slug).
SLUGS = (OPEN, DELIVERED, CLOSED, DRAFT)

# Countries the letters have signatures from: a generated code fits the pattern but is seldom
# one of ISO 3166-1's, and the API refuses it before the other parameters matter.
COUNTRIES = ("KE", "de", "BR", "za")

# A modest number of generated requests per operation and phase, the same ones on every run.
BOUNDED = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# What no answer may contain: every signer's email, and the names on rows that are not public.
PRIVATE: set[str] = set()


def _populate() -> None:
    session = db.session
    letter = make_letter(session, slug=OPEN)
    for country, organization_type, name in (
        ("DE", "ngo", "Digitale Rechte e.V."),
        ("KE", "union", "Kenya Workers Union"),
        ("BR", "academic", "Universidade Café"),
        ("FR", "foundation", "Fondation Éclair"),
        ("KE", "ngo", "Civic Watch Kenya"),
    ):
        make_signature(
            session, letter, organization=name, country=country, organization_type=organization_type
        )
    make_signature(session, letter, kind="organization", domain_verified=False, country="IN")
    make_signature(session, letter, kind="individual", organization="Uni Nairobi", country="KE")
    make_signature(session, letter, kind="individual", title=None, country="DE", name="Zoë")
    # Never public: they must not show, nor change any answer's shape.
    for status in ("pending_review", "withdrawn", "unconfirmed", "rejected"):
        hidden = f"Hidden {status.replace('_', ' ').title()}"
        make_signature(session, letter, status=status, country="US", name=hidden)
        PRIVATE.add(hidden)

    delivered = make_letter(session, slug=DELIVERED, status="delivered")
    make_signature(session, delivered, country="ZA", organization_type="public")
    make_signature(session, delivered, kind="individual", country="ZA")
    session.add(
        Delivery(
            letter=delivered,
            delivered_to="Chair of the Ad Hoc Committee",
            delivered_at=datetime(2025, 4, 1, 10, 0, tzinfo=UTC),
            method="in person",
            csv_bytes=b"\xef\xbb\xbfSection\r\n",
            sha256="b" * 64,
            organizations=1,
            individuals=1,
        )
    )
    make_letter(session, slug=CLOSED, status="closed")
    draft = make_letter(session, slug=DRAFT, status="draft", title="Hidden Draft Title")
    make_signature(session, draft, name="Hidden Draft Signer")
    PRIVATE.update(("Hidden Draft Title", "Hidden Draft Signer"))
    session.flush()
    PRIVATE.update(session.scalars(select(Signature.email)))
    session.commit()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, migrated_database: str) -> Iterator[Flask]:
    """One app for the module on its own copy of the migrated database, its API limit raised
    so that hundreds of generated requests are answered rather than cut off with 429."""
    tmp = tmp_path_factory.mktemp("api-schema")
    with database_copy(migrated_database, tmp) as url:
        yield from _app_on(url, tmp)


def _app_on(url: str, tmp: Path) -> Iterator[Flask]:
    app = create_app(_config(tmp, url, API_RATE_LIMIT="100000 per minute"))
    with app.app_context():
        _populate()
    yield app
    with app.app_context():
        db.engine.dispose()


# The document the app serves at /api/v1/openapi.json (tests/api/test_openapi.py checks that
# they are the same), loaded when the module is collected so that each operation is a test of
# its own; the requests go to the module's app (``case.call_and_validate(app=...)``).
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi.document()))
schema.config.generation.update(modes=list(GenerationMode))


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the generated slugs are swapped for a real one, so that the query parameters are
    tried against letters with data and not only refused with 404 by an unknown slug. (If
    the slug was the part made invalid on purpose, schemathesis judges the value actually
    sent, so a swap to a valid slug is not taken for accepted invalid data.)"""
    if not path_parameters or "slug" not in path_parameters:
        return st.just(path_parameters)
    real = st.sampled_from(SLUGS).map(lambda slug: {**path_parameters, "slug": slug})
    return st.one_of(st.just(path_parameters), real)


@schema.hook
def flatmap_query(context: Any, query: dict[str, Any]) -> Any:
    """Half the generated countries are swapped for one with signatures, for the same reason."""
    if not query or not isinstance(query.get("country"), str):
        return st.just(query)
    real = st.sampled_from(COUNTRIES).map(lambda code: {**query, "country": code})
    return st.one_of(st.just(query), real)


def _assert_error_shape(response: Any) -> None:
    """Every error: JSON ``{"error": {"code", "message"}}``, both non-empty strings."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error


def _assert_nothing_private(response: Any) -> None:
    assert PRIVATE, "the letters were not set up"
    # Read as JSON: the body escapes non-ASCII characters, which a plain search would miss.
    text = json.dumps(response.json(), ensure_ascii=False) if response.content else ""
    leaked = sorted(value for value in PRIVATE if value in text)
    assert not leaked, leaked


def _assert_accepted_unless_unknowable(case: Any, response: Any) -> None:
    """A request the document calls valid is answered, except for the two values whose
    validity no schema can say: a cursor is an opaque token the API gave out, and a country
    is one of the ISO 3166-1 codes (``XX`` fits the pattern and is none)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 400:
        return
    code = response.json()["error"]["code"]
    query = case.query or {}
    if code == "invalid_country":
        assert str(query.get("country", "")).upper() not in countries(), query
    else:
        assert code == "invalid_cursor", f"a valid request was refused: {code} {query}"
        assert query.get("cursor"), query


@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented(app: Flask, case: Any) -> None:
    # Every built-in check (no 5xx; documented status, content type, headers and body;
    # invalid input refused; wrong methods answered 405) but the acceptance of valid input,
    # which is judged below knowing which values a schema cannot vouch for.
    response = case.call_and_validate(app=app, excluded_checks=[positive_data_acceptance])

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        _assert_error_shape(response)
    _assert_accepted_unless_unknowable(case, response)
    _assert_nothing_private(response)


# --- Cursors: real ones, altered ones and forged ones --------------------------------------

SIGNATURES = schema["/letters/{slug}/signatures"]["GET"]
SORTS = ("signed", "newest", "name")


def _page(app: Flask, query: dict[str, Any]) -> Any:
    """One page of the open letter, asked for through the documented operation and checked
    against the document like any generated case."""
    case = SIGNATURES.Case(path_parameters={"slug": OPEN}, query=query)
    response = case.call_and_validate(app=app, excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        _assert_error_shape(response)
    _assert_nothing_private(response)
    return response


@pytest.fixture(scope="module")
def real_cursors(app: Flask) -> dict[str, list[str]]:
    """Every ``next_cursor`` the API gives walking the open letter two at a time, per sort."""
    cursors: dict[str, list[str]] = {}
    for sort in SORTS:
        query: dict[str, Any] = {"sort": sort, "limit": 2}
        cursors[sort] = []
        while True:
            body = _page(app, query).json()
            if body["next_cursor"] is None:
                break
            cursors[sort].append(body["next_cursor"])
            query = {**query, "cursor": body["next_cursor"]}
        # Eight published signatures, two a page: four pages, the last without a cursor.
        assert len(cursors[sort]) == 3, cursors
    return cursors


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


# Cursors in the shape the API gives out, with any position in them: times and ids far past
# or beyond the end, zero, and names with any text.
forged = st.one_of(
    st.builds("{}.{}".format, st.integers(0, 10**17 - 1), st.integers(0, 10**18 - 1)),
    st.builds("n{}:{}".format, st.integers(0, 10**18 - 1), st.text(max_size=300)),
).map(_b64)


@st.composite
def altered(draw: st.DrawFn, cursor: str) -> str:
    """``cursor`` truncated, extended or with one character replaced."""
    at = draw(st.integers(0, len(cursor)))
    how = draw(st.sampled_from(["truncate", "insert", "replace"]))
    piece = draw(st.text(min_size=1, max_size=3))
    if how == "truncate":
        return cursor[:at]
    if how == "insert":
        return cursor[:at] + piece + cursor[at:]
    return cursor[:at] + piece + cursor[at + 1 :]


@BOUNDED
@given(data=st.data(), sort=st.sampled_from(SORTS))
def test_any_cursor_gets_a_page_or_invalid_cursor(
    app: Flask, real_cursors: dict[str, list[str]], data: st.DataObject, sort: str
) -> None:
    mine = real_cursors[sort]
    theirs = [cursor for other in SORTS if other != sort for cursor in real_cursors[other]]
    cursor = data.draw(
        st.one_of(
            forged,
            st.sampled_from(mine).flatmap(altered),
            st.sampled_from(theirs),
        ),
        label="cursor",
    )

    response = _page(app, {"sort": sort, "cursor": cursor, "limit": 3})

    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "invalid_cursor", response.text


def test_the_real_cursors_walk_every_signature_once(
    app: Flask, real_cursors: dict[str, list[str]]
) -> None:
    everyone = [row["id"] for row in _page(app, {"limit": 200}).json()["signatures"]]
    for sort in SORTS:
        seen = [row["id"] for row in _page(app, {"sort": sort, "limit": 2}).json()["signatures"]]
        for cursor in real_cursors[sort]:
            page = _page(app, {"sort": sort, "limit": 2, "cursor": cursor}).json()
            seen += [row["id"] for row in page["signatures"]]

        assert sorted(seen) == sorted(everyone), sort
        assert len(everyone) == 8
