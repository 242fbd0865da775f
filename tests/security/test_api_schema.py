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

import copy
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from signatory import create_app
from signatory.api import openapi
from signatory.core.extensions import db
from signatory.core.i18n import countries
from signatory.models import Delivery
from tests.conftest import _config
from tests.factories import make_letter, make_signature

OPEN = "civic-space"
DELIVERED = "delivered-letter"
CLOSED = "closed-letter"
DRAFT = "draft-letter"
# The slugs a case may be pointed at instead of the generated one: letters with data, and one
# that exists but is not public (a draft answers 404 like an unknown slug).
SLUGS = (OPEN, DELIVERED, CLOSED, DRAFT)

# A modest number of generated requests per operation and phase, the same ones on every run.
BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


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
    # Never public: they must not change any answer's shape.
    make_signature(session, letter, status="pending_review", country="US")
    make_signature(session, letter, status="withdrawn", country="US")
    make_signature(session, letter, status="unconfirmed", country="US")

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
    make_letter(session, slug=DRAFT, status="draft")
    session.commit()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, migrated_database: Path) -> Iterator[Flask]:
    """One app for the module on its own copy of the migrated database, its API limit raised
    so that hundreds of generated requests are answered rather than cut off with 429."""
    tmp = tmp_path_factory.mktemp("api-schema")
    database = tmp / "signatory.sqlite3"
    shutil.copyfile(migrated_database, database)
    app = create_app(_config(tmp, database, API_RATE_LIMIT="100000 per minute"))
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


def _points_at_a_letter(case: Any) -> bool:
    """Whether a case's generated slug may be replaced by a real one: it has one, and the slug
    is not the part schemathesis made invalid on purpose."""
    if "slug" not in (case.path_parameters or {}):
        return False
    component = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    return component is None or component.mode is not GenerationMode.NEGATIVE


def _assert_error_shape(response: Any) -> None:
    """Every error: JSON ``{"error": {"code", "message"}}``, both non-empty strings."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error


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
@schema.given(slug=st.one_of(st.none(), st.sampled_from(SLUGS)))
@BOUNDED
def test_every_operation_answers_as_documented(app: Flask, case: Any, slug: str | None) -> None:
    if slug is not None and _points_at_a_letter(case):
        case.path_parameters["slug"] = slug

    # Every built-in check (no 5xx; documented status, content type, headers and body;
    # invalid input refused; wrong methods answered 405) but the acceptance of valid input,
    # which is judged below knowing which values a schema cannot vouch for.
    response = case.call_and_validate(app=app, excluded_checks=[positive_data_acceptance])

    assert response.status_code < 500, response.text
    with open('/tmp/stats.txt','a') as f: f.write(f'{case.method} {case.operation.path} {response.status_code} {case.meta.phase.name} {case.meta.generation.mode} {response.request.url}\n')
    if response.status_code >= 400:
        _assert_error_shape(response)
    _assert_accepted_unless_unknowable(case, response)
