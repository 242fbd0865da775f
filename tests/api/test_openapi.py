"""The OpenAPI document: valid, complete, and what the endpoints actually answer.

Every API test in this suite talks to the API through ``tests.api.responses``, which checks
each answer against the document.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy.orm import Session

from signatory import PROJECT_ROOT
from signatory.api import openapi
from signatory.models import Delivery, LetterVersion
from tests.api.responses import BASE, api_json, api_request, json_pointer, schema_validator
from tests.factories import make_coordinator, make_letter, make_signature

# --- the document itself ------------------------------------------------------------------


def test_document_is_a_valid_openapi_3_1_description() -> None:
    document = openapi.document()

    validate_openapi(document)
    assert document["openapi"].startswith("3.1.")


def test_document_is_served_as_json(client: FlaskClient) -> None:
    served = api_json(client, f"{BASE}/openapi.json")

    assert served == json.loads(json.dumps(openapi.document()))


def test_every_api_route_is_documented_and_every_documented_path_exists(app: Flask) -> None:
    routes = {
        re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix(BASE))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.docs"
    }

    assert routes == set(openapi.document()["paths"])


def test_every_documented_example_matches_its_schema() -> None:
    for template, item in openapi.document()["paths"].items():
        media = item["get"]["responses"]["200"]["content"]["application/json"]
        if "example" not in media:
            continue
        pointer = json_pointer("paths", template, "get", "responses", "200")
        validator = schema_validator(
            pointer + json_pointer("content", "application/json", "schema")
        )
        validator.validate(media["example"])


def test_an_undocumented_field_fails_the_check() -> None:
    example = json.loads(json.dumps(openapi.EXAMPLES["SignaturePage"]))
    example["signatures"][0]["email"] = "leak@example.org"
    pointer = json_pointer("paths", "/letters/{slug}/signatures", "get", "responses", "200")
    validator = schema_validator(pointer + json_pointer("content", "application/json", "schema"))

    with pytest.raises(jsonschema.ValidationError, match="email"):
        validator.validate(example)


# --- the endpoints against it -------------------------------------------------------------


def test_every_endpoint_of_a_delivered_letter_matches_the_document(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", status="delivered")
    editor = make_coordinator(session)
    session.add(
        LetterVersion(
            letter=letter,
            number=2,
            kind="substantive",
            change_note="Adds a paragraph on access to drafts.",
            body_markdown="New text.",
            body_html="<p>New text.</p>",
            author_id=editor.id,
        )
    )
    make_signature(session, letter, country="KE", organization_type="union")
    make_signature(session, letter, kind="individual", organization="Uni", title=None)
    session.add(
        Delivery(
            letter=letter,
            delivered_to="Chair of the Ad Hoc Committee",
            delivered_at=datetime(2025, 4, 1, 10, 0, tzinfo=UTC),
            method="in person",
            csv_bytes=b"\xef\xbb\xbfSection\r\n",
            sha256="a" * 64,
            organizations=1,
            individuals=1,
        )
    )
    make_letter(session, slug="closed-one", status="closed")
    session.commit()

    for url in (
        f"{BASE}/letters",
        f"{BASE}/letters/civic",
        f"{BASE}/letters/civic/signatures",
        f"{BASE}/letters/civic/signatures?limit=1",
        f"{BASE}/letters/civic/signatures?kind=individual",
        f"{BASE}/letters/civic/versions",
        f"{BASE}/letters/civic/versions?include=body",
        f"{BASE}/letters/closed-one",
        f"{BASE}/openapi.json",
    ):
        api_request(client, url)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"{BASE}/letters/civic/signatures?limit=0", 400),
        (f"{BASE}/letters/civic/versions?include=authors", 400),
        (f"{BASE}/letters/nope", 404),
        (f"{BASE}/letters/nope/versions", 404),
        (f"{BASE}/no/such/path", 404),
    ],
)
def test_errors_match_the_document(
    client: FlaskClient, session: Session, url: str, status: int
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    api_request(client, url, status=status)


def test_wrong_method_matches_the_document(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        api_request(client, f"{BASE}/letters/civic", method=method, status=405)


def test_not_modified_matches_the_document(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()
    etag = api_request(client, f"{BASE}/letters/civic").headers["ETag"]

    api_request(client, f"{BASE}/letters/civic", headers={"If-None-Match": etag}, status=304)


def test_an_empty_query_parameter_is_documented_and_answered_as_absent(
    client: FlaskClient, session: Session
) -> None:
    # schemathesis found that the schemas refused `?country=` (a pattern) and `?include=` (an
    # enum) while the API treats them as absent: every query parameter says allowEmptyValue.
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, country="KE")
    make_signature(session, letter, kind="individual", country="DE")
    session.commit()
    parameters = openapi.document()["components"]["parameters"]

    for template, item in openapi.document()["paths"].items():
        url = BASE + template.replace("{slug}", "civic")
        without = api_json(client, url)
        for reference in item["get"].get("parameters", ()):
            parameter = parameters[reference["$ref"].rsplit("/", 1)[1]]
            if parameter["in"] != "query":
                continue
            assert parameter["allowEmptyValue"] is True, parameter["name"]
            assert api_json(client, f"{url}?{parameter['name']}=") == without, parameter["name"]


# --- the page for people ------------------------------------------------------------------


def test_docs_page_shows_every_endpoint_parameter_and_field(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    document = openapi.document()
    for template in document["paths"]:
        assert f"GET {BASE}{template}" in page, template
    for parameter in document["components"]["parameters"].values():
        assert f"<code>{parameter['name']}</code>" in page, parameter["name"]
    for field in ("signatures[].domain_verified", "delivery.sha256", "counts_by_country"):
        assert f"<code>{field}</code>" in page, field
    assert 'href="/api/v1/openapi.json"' in page


def test_docs_page_shows_the_examples(client: FlaskClient) -> None:
    page = client.get(f"{BASE}/docs").get_data(as_text=True)

    assert "Civic Watch Kenya" in page
    assert "GET /api/v1/letters/protect-civic-space/signatures?kind=organization" in page


def test_docs_page_tables_have_captions_and_header_scopes(client: FlaskClient) -> None:
    page = client.get(f"{BASE}/docs").get_data(as_text=True)

    assert page.count("<table") == page.count("<caption>")
    assert '<th scope="col">' in page
    assert '<th scope="row">' in page


def test_docs_md_keeps_in_step_with_the_document() -> None:
    text = (PROJECT_ROOT / "docs" / "api.md").read_text()
    document = openapi.document()

    for template in document["paths"]:
        assert BASE + template.replace("{slug}", "<slug>") in text, template
    for parameter in document["components"]["parameters"].values():
        if parameter["in"] == "query":
            assert f"`{parameter['name']}`" in text, parameter["name"]
            assert f"`invalid_{parameter['name']}`" in text, parameter["name"]
    assert "/api/v1/docs" in text
