"""The whole OpenAPI 3.1 document, assembled from the parts the other modules hold. It is a
module of its own so that the docs page's reader (which resolves ``$ref`` against the whole
document) can import it without importing the package that re-exports both.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from signatory.api.openapi.constants import VERSION
from signatory.api.openapi.description import DESCRIPTION
from signatory.api.openapi.parameters import PARAMETERS
from signatory.api.openapi.paths import PATHS
from signatory.api.openapi.responses import HEADERS, RESPONSES
from signatory.api.openapi.schemas import SCHEMAS


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document; callers must not modify it (take a deep copy to do so)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "signatory JSON API",
            "version": VERSION,
            "summary": "Open letters, their counts, signatures and versions: public fields only.",
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/api/v1"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "headers": HEADERS,
        },
    }
