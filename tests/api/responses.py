"""How the API tests talk to the API: every answer checked against the OpenAPI document.

``api_request`` checks the answer against the document (status listed for that path and
method, body valid against the response's schema, no body where none is documented), so a
field added to a response but not to ``signatory/api/openapi/`` fails the tests.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from signatory.api import openapi

BASE = "/api/v1"
_DOCUMENT_URI = "urn:signatory:openapi"


def json_pointer(*parts: str) -> str:
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
        return _follow(json_pointer("components", "responses", "NotFound"))
    item = openapi.document()["paths"][template]
    operation = method.lower()
    if operation not in item:
        # An undocumented method: the 405 documented on the path's GET says what it gets.
        assert status == 405, f"{method} {url}: undocumented method answered {status}"
        operation = "get"
    responses = item[operation]["responses"]
    for key in (str(status), f"{status // 100}XX"):
        if key in responses:
            return _follow(json_pointer("paths", template, operation, "responses", key))
    raise AssertionError(f"{method} {url} answered {status}, which the document does not list")


def schema_validator(schema_pointer: str) -> Draft202012Validator:
    """A validator for the schema at ``schema_pointer`` in the document."""
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
    schema_pointer = pointer + json_pointer("content", "application/json", "schema")
    errors = sorted(
        schema_validator(schema_pointer).iter_errors(response.get_json()),
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
