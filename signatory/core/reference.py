"""Reference lists shown in forms and exports: countries (ISO 3166-1) and organization types.

Pages show both in the reader's language; exports and the API keep the English names
(``countries()``, ``country_name``, ``ORGANIZATION_TYPES``), which are data, not interface.
"""

from __future__ import annotations

from functools import cache

import pycountry
from flask_babel import gettext

from signatory.core.i18n import DEFAULT_LOCALE, current_locale, territory_name
from signatory.core.text import folded


def N_(message: str) -> str:  # the name gettext's tools look for
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


ORGANIZATION_TYPES: dict[str, str] = {
    "ngo": N_("Non-governmental organization"),
    "company": N_("Company"),
    "association": N_("Trade or industry association"),
    "union": N_("Trade union"),
    "academic": N_("University or research institute"),
    "foundation": N_("Foundation"),
    "faith": N_("Faith-based organization"),
    "public": N_("Public body"),
    "other": N_("Other"),
}


def organization_types() -> dict[str, str]:
    """Organization type code -> its name in the current language, in a fixed order."""
    return {code: gettext(label) for code, label in ORGANIZATION_TYPES.items()}


def organization_type_name(code: str | None) -> str:
    """The name of an organization type in the current language (the code if unknown)."""
    label = ORGANIZATION_TYPES.get(code or "")
    return gettext(label) if label else (code or "")


@cache
def countries() -> dict[str, str]:
    """Alpha-2 code -> common English name, sorted by name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: folded(item[1])))


def country_name(code: str) -> str:
    """The English name of a country (exports, the API, feeds)."""
    return countries().get(code, code)


@cache
def _countries_in(locale: str) -> dict[str, str]:
    # CLDR's names (Babel) read naturally in each language; any it lacks stay in English.
    names = {code: territory_name(code, locale) or name for code, name in countries().items()}
    return dict(sorted(names.items(), key=lambda item: folded(item[1])))


def local_countries() -> dict[str, str]:
    """Alpha-2 code -> name in the current language, sorted by that name."""
    locale = current_locale()
    return countries() if locale == DEFAULT_LOCALE else _countries_in(locale)


def local_country_name(code: str) -> str:
    """A country's name in the current language, for pages."""
    return local_countries().get(code, code)
