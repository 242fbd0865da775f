"""Small builders of JSON Schema 2020-12 fragments that the schemas, the responses and the
paths all use: a ``$ref`` into the components, a nullable variant, a fixed-shape object, a
timestamp and a count. Keeping them in one place keeps every part of the document spelling
these shapes the same way; they are internal to the package.
"""

from __future__ import annotations

from typing import Any


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null, as JSON Schema 2020-12 says it (OpenAPI 3.1 has no ``nullable``)."""
    widened = dict(schema)
    widened["type"] = [schema["type"], "null"]
    if "enum" in widened:
        widened["enum"] = [*schema["enum"], None]
    return widened


def fixed_object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A fixed-shape object: every property required unless ``optional``, nothing more."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


def timestamp(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


def count(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "description": description}
