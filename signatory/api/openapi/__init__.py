"""The OpenAPI 3.1 document of the JSON API v1: the one description of what it answers.
``/api/v1/openapi.json`` serves it, ``/api/v1/docs`` renders it for people, and the tests
check every response the API gives against it, so the description, the docs page and the
code cannot drift apart unnoticed. The document is large, so its parts live in the modules
of this package (the shared ``constants``, the introductory ``description``, the
``schemas``, their ``examples``, the ``parameters``, the ``responses``, the ``paths``, their
assembly in ``spec`` and the ``docs_page`` reading of it); this module only re-exports what
the rest of the application uses, so callers import from ``signatory.api.openapi`` alone.
Descriptions are CommonMark, as OpenAPI specifies; the docs page renders them.
"""

from __future__ import annotations

from signatory.api.openapi.constants import (
    DEFAULT_LIMIT,
    LETTER_STATUSES,
    MAX_LIMIT,
    RATE_LIMIT_HEADERS,
    SIGNATURE_KINDS,
    VERSION,
    VERSION_KINDS,
)
from signatory.api.openapi.docs_page import (
    Endpoint,
    Field,
    Outcome,
    Parameter,
    Reference,
    reference,
)
from signatory.api.openapi.examples import EXAMPLES
from signatory.api.openapi.spec import document

__all__ = [
    "DEFAULT_LIMIT",
    "EXAMPLES",
    "LETTER_STATUSES",
    "MAX_LIMIT",
    "RATE_LIMIT_HEADERS",
    "SIGNATURE_KINDS",
    "VERSION",
    "VERSION_KINDS",
    "Endpoint",
    "Field",
    "Outcome",
    "Parameter",
    "Reference",
    "document",
    "reference",
]
