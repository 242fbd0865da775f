"""The document read for people: what ``templates/api/docs.html`` shows. It walks the
document, following ``$ref``, into endpoints, parameters, statuses, field tables and
examples, and renders the CommonMark descriptions through the same sanitising renderer as
letters, so the page can never say anything the document does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup

from signatory.api.openapi.spec import document
from signatory.core.text import render_markdown


@dataclass(frozen=True)
class Field:
    """One field of a response, named by its path in the JSON (``signatures[].name``)."""

    name: str
    type: str
    required: bool
    description: Markup


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    type: str
    required: bool
    default: Any
    description: Markup


@dataclass(frozen=True)
class Outcome:
    """One documented status of an endpoint: ``200``, ``304``, ``404``…"""

    status: str
    description: Markup


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    anchor: str
    summary: str
    description: Markup
    parameters: list[Parameter]
    outcomes: list[Outcome]
    fields: list[Field]
    example_request: str | None
    example: str | None


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    base: str
    description: Markup
    endpoints: list[Endpoint]
    error_fields: list[Field]


def _markdown(text: str) -> Markup:
    # Our own text, but through the same renderer (and sanitiser) as letters anyway.
    return Markup(render_markdown(text))  # noqa: S704 - render_markdown sanitises


def _inline(text: str) -> Markup:
    """Markdown for a table cell: one paragraph without its ``<p>``."""
    html = render_markdown(text).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # noqa: S704 - render_markdown sanitises


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` replaced by the target; the node's own keys win."""
    seen = 0
    while "$ref" in node:
        seen += 1
        if seen > 10:
            raise ValueError(f"$ref loop at {node['$ref']}")
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def _type_name(schema: dict[str, Any]) -> str:
    schema = _resolve(schema)
    if "oneOf" in schema:
        return " or ".join(_type_name(option) for option in schema["oneOf"])
    kinds = schema.get("type", "object")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    names = []
    for kind in kinds:
        if kind == "array":
            names.append(f"array of {_type_name(schema['items'])}s")
        elif kind == "string" and "format" in schema:
            names.append(f"string ({schema['format']})")
        else:
            names.append(kind)
    return " or ".join(names)


def _fields(schema: dict[str, Any], prefix: str = "") -> list[Field]:
    """Every field below ``schema``, depth first, in the document's order."""
    schema = _resolve(schema)
    for option in schema.get("oneOf", ()):
        if _resolve(option).get("type") == "object":
            schema = _resolve(option)
    rows: list[Field] = []
    required = set(schema.get("required", ()))
    for name, child in schema.get("properties", {}).items():
        child = _resolve(child)
        path = f"{prefix}{name}"
        rows.append(
            Field(path, _type_name(child), name in required, _inline(child.get("description", "")))
        )
        if child.get("type") == "array":
            rows.extend(_fields(child["items"], f"{path}[]."))
        else:
            rows.extend(_fields(child, f"{path}."))
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        key = "code" if "propertyNames" in schema else "key"
        rows.append(Field(f"{prefix}<{key}>", _type_name(values), False, Markup("")))
    return rows


def _example_request(path: str) -> str:
    url = "/api/v1" + path.replace("{slug}", "protect-civic-space")
    if path.endswith("/signatures"):
        url += "?kind=organization&country=KE&limit=2"
    return url


def _endpoint(path: str, method: str, operation: dict[str, Any]) -> Endpoint:
    parameters = []
    for reference in operation.get("parameters", ()):
        parameter = _resolve(reference)
        parameters.append(
            Parameter(
                name=parameter["name"],
                location=parameter["in"],
                type=_type_name(parameter["schema"]),
                required=parameter.get("required", False),
                default=parameter["schema"].get("default"),
                description=_inline(parameter.get("description", "")),
            )
        )
    outcomes = [
        Outcome(status, _inline(_resolve(response)["description"]))
        for status, response in operation["responses"].items()
    ]
    media = operation["responses"]["200"]["content"]["application/json"]
    example = media.get("example")
    return Endpoint(
        method=method.upper(),
        path="/api/v1" + path,
        anchor=operation["operationId"],
        summary=operation["summary"],
        description=_markdown(operation["description"]),
        parameters=parameters,
        outcomes=outcomes,
        fields=_fields(media["schema"]) if example is not None else [],
        example_request=_example_request(path) if example is not None else None,
        example=json.dumps(example, indent=2, ensure_ascii=False) if example is not None else None,
    )


@cache
def reference() -> Reference:
    """The document arranged for the docs page: endpoints, parameters, fields, examples."""
    spec = document()
    return Reference(
        title=spec["info"]["title"],
        version=spec["info"]["version"],
        base=spec["servers"][0]["url"],
        description=_markdown(spec["info"]["description"]),
        endpoints=[
            _endpoint(path, method, operation)
            for path, item in spec["paths"].items()
            for method, operation in item.items()
        ],
        error_fields=_fields(spec["components"]["schemas"]["Error"]),
    )
