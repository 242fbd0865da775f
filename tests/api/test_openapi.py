"""The OpenAPI document: valid, complete, and what the endpoints actually answer.

``api_request`` is how every API test in this suite talks to the API: it checks the
answer against the document (status listed for that path and method, body valid against
the response's schema, no body where none is documented), so a field added to a response
but not to ``signatory/api/openapi/`` fails the tests.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from signatory import PROJECT_ROOT
from signatory.api import openapi
from signatory.models import Delivery, LetterVersion
from tests.factories import make_coordinator, make_letter, make_signature

BASE = "/api/v1"
_DOCUMENT_URI = "urn:signatory:openapi"


def _pointer(*parts: str) -> str:
    """A JSON pointer to ``parts`` (RFC 6901 escaping: ``~`` then ``/``)."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _follow(pointer: str) -> tuple[str, dict[str, Any]]:
    """The node at ``pointer`` and where it really is, following a ``$ref`` if it is one."""
    node: Any = openapi.document()
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if "$ref" in node:
        return _follow(node["$ref"].removeprefix("#"))
    return pointer, node


def _template_for(path: str) -> str | None:
    """The documented path template that ``path`` (below the base) falls under."""
    segments = path.split("/")
    for template in openapi.document()["paths"]:
        pattern = template.split("/")
        if len(pattern) == len(segments) and all(
            want == got or re.fullmatch(r"\{[a-z_]+\}", want)
            for want, got in zip(pattern, segments, strict=True)
        ):
            return template
    return None


def documented_response(url: str, method: str, status: int) -> tuple[str, dict[str, Any]]:
    """Where the document describes the answer to ``method url`` with ``status``."""
    path = urlsplit(url).path
    assert path.startswith(BASE + "/"), f"{url} is not an API URL"
    template = _template_for(path.removeprefix(BASE))
    if template is None:
        assert status == 404, f"{method} {url}: no documented path, yet it answered {status}"
        return _follow(_pointer("components", "responses", "NotFound"))
    item = openapi.document()["paths"][template]
    operation = method.lower()
    if operation not in item:
        # An undocumented method: the 405 documented on the path's GET says what it gets.
        assert status == 405, f"{method} {url}: undocumented method answered {status}"
        operation = "get"
    responses = item[operation]["responses"]
    for key in (str(status), f"{status // 100}XX"):
        if key in responses:
            return _follow(_pointer("paths", template, operation, "responses", key))
    raise AssertionError(f"{method} {url} answered {status}, which the document does not list")


def _validator(schema_pointer: str) -> Draft202012Validator:
    # The whole document is one resource, so "#/components/..." inside any schema resolves.
    resource = Resource.from_contents(openapi.document(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
    return Draft202012Validator(
        {"$ref": f"{_DOCUMENT_URI}#{schema_pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def assert_matches_document(response: TestResponse, url: str, method: str = "GET") -> None:
    """Fail unless the document lists this status here and the body fits its schema."""
    pointer, described = documented_response(url, method, response.status_code)
    content = described.get("content")
    if content is None:
        assert response.data == b"", f"{method} {url}: {response.status_code} must have no body"
        return
    assert response.mimetype == "application/json", f"{method} {url}: {response.mimetype}"
    schema_pointer = pointer + _pointer("content", "application/json", "schema")
    errors = sorted(
        _validator(schema_pointer).iter_errors(response.get_json()),
        key=lambda error: list(error.absolute_path),
    )
    assert not errors, f"{method} {url} ({response.status_code}) does not match the document:\n" + (
        "\n".join(f"  at {list(e.absolute_path)}: {e.message}" for e in errors)
    )


def api_request(
    client: FlaskClient,
    url: str,
    *,
    method: str = "GET",
    status: int = 200,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> TestResponse:
    """``method url`` through ``client``, checked for ``status`` and against the document."""
    response = client.open(url, method=method, headers=headers, **options)
    assert response.status_code == status, (
        f"{method} {url} answered {response.status_code}, expected {status}: "
        f"{response.get_data(as_text=True)[:300]}"
    )
    if method != "HEAD":
        assert_matches_document(response, url, method)
    return response


def api_json(client: FlaskClient, url: str, status: int = 200, **options: Any) -> Any:
    """The JSON body of ``GET url``, checked for ``status`` and against the document."""
    return api_request(client, url, status=status, **options).get_json()


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
        pointer = _pointer("paths", template, "get", "responses", "200")
        validator = _validator(pointer + _pointer("content", "application/json", "schema"))
        validator.validate(media["example"])


def test_an_undocumented_field_fails_the_check() -> None:
    example = json.loads(json.dumps(openapi.EXAMPLES["SignaturePage"]))
    example["signatures"][0]["email"] = "leak@example.org"
    pointer = _pointer("paths", "/letters/{slug}/signatures", "get", "responses", "200")
    validator = _validator(pointer + _pointer("content", "application/json", "schema"))

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
