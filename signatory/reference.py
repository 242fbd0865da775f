"""Reference lists shown in forms and exports: countries (ISO 3166-1) and organization types."""

from __future__ import annotations

from functools import cache

import pycountry

from .text import folded

ORGANIZATION_TYPES: dict[str, str] = {
    "ngo": "Non-governmental organization",
    "company": "Company",
    "association": "Trade or industry association",
    "union": "Trade union",
    "academic": "University or research institute",
    "foundation": "Foundation",
    "faith": "Faith-based organization",
    "public": "Public body",
    "other": "Other",
}


@cache
def countries() -> dict[str, str]:
    """Alpha-2 code -> common name, sorted by name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: folded(item[1])))


def country_name(code: str) -> str:
    return countries().get(code, code)
