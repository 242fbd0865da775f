"""From a spreadsheet's columns to the sign form's fields, and each row checked by the sign
form's own rules (``signatures.signing``'s plain functions, which the form runs too).

A cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` and their
full-width forms, ``core.spreadsheets.FORMULA_TRIGGERS``) refuses its row rather than
being stored neutralised: a neutralised cell would publish the signer's name with a
quote mark before it, which nobody typed; an organization called "=HYPERLINK(…)" is an
attack or an export gone wrong, and either way the coordinator should look at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pycountry
from babel import Locale
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from signatory.core.i18n import ORGANIZATION_TYPES, countries
from signatory.core.spreadsheets import FORMULA_TRIGGERS
from signatory.core.text import comparison_key
from signatory.models import SignatureKind
from signatory.models.signature import NAME_MAX
from signatory.signatures import signing
from signatory.signatures.signing import EMAIL_MAX, REQUIRED, WEBSITE_MAX, FieldRefused

# The sign form's fields, in the order its page shows them (and errors are listed in).
FIELDS = (
    "kind", "organization", "organization_type", "website", "country", "name", "title", "email",
)  # fmt: skip
FIELD_LABELS = {
    "kind": _l("Kind (organization or individual)"),
    "organization": _l("Organization"),
    "organization_type": _l("Type of organization"),
    "website": _l("Organization website"),
    "country": _l("Country"),
    "name": _l("Signer name"),
    "title": _l("Title or role"),
    "email": _l("Email"),
}
# What a column's name may be, folded (``comparison_key``), in English, French, Spanish.
_HEADERS = {
    "kind": ("kind", "signingas", "signsas", "section", "signatorykind", "tipo de firma"),
    "organization": (
        "organization", "organisation", "org", "company", "entity", "organizationname",
        "organisationname", "nomdelorganisation", "organizacion", "entidad", "empresa",
        "structure", "affiliation",
    ),
    "organization_type": (
        "organizationtype", "organisationtype", "typeoforganization", "orgtype", "type",
        "sector", "typedorganisation", "typedestructure", "tipodeorganizacion", "tipo",
    ),
    "website": ("website", "web", "site", "url", "homepage", "siteweb", "siteinternet",
                "sitioweb", "paginaweb"),
    "country": ("country", "countrycode", "pays", "pais", "nation", "iso"),
    "name": ("name", "fullname", "signer", "signername", "signatory", "contact", "nom",
             "nomcomplet", "nombre", "yourname", "contactname", "person"),
    "title": ("title", "role", "position", "jobtitle", "function", "fonction", "titre",
              "poste", "cargo", "puesto"),
    "email": ("email", "mail", "emailaddress", "workemail", "courriel", "adressemail",
              "correo", "correoelectronico"),
}  # fmt: skip
_BY_HEADER = {comparison_key(name): f for f, names in _HEADERS.items() for name in names}
# Words a column's name may contain, tried when no name matched exactly, in this order.
_HINTS = (
    ("mail", "email"), ("country", "country"), ("pays", "country"), ("web", "website"),
    ("url", "website"), ("type", "organization_type"), ("organi", "organization"),
    ("compan", "organization"), ("title", "title"), ("role", "title"), ("name", "name"),
    ("nom", "name"),
)  # fmt: skip

_KINDS = {
    **dict.fromkeys(
        ("organization", "organisation", "org", "organizacion", "company", "group"),
        SignatureKind.ORGANIZATION.value,
    ),
    **dict.fromkeys(
        ("individual", "individu", "individuel", "individuelle", "particulier", "person",
         "personne", "persona", "individuo", "personal"),
        SignatureKind.INDIVIDUAL.value,
    ),
}  # fmt: skip
_TYPE_WORDS = {
    "nonprofit": "ngo", "nonprofitorganization": "ngo", "ong": "ngo", "charity": "ngo",
    "business": "company", "corporation": "company", "enterprise": "company",
    "entreprise": "company", "empresa": "company", "university": "academic",
    "universite": "academic", "universidad": "academic", "research": "academic",
    "tradeunion": "union", "syndicat": "union", "sindicato": "union",
    "government": "public", "publicbody": "public", "church": "faith",
    "religious": "faith", "fondation": "foundation", "fundacion": "foundation",
}  # fmt: skip


def guess_mapping(header: list[str]) -> dict[int, str]:
    """Column index -> field, from the columns' names; each field to one column at most."""
    mapping: dict[int, str] = {}
    for index, name in enumerate(header):
        found = _BY_HEADER.get(comparison_key(name))
        if found and found not in mapping.values():
            mapping[index] = found
    for index, name in enumerate(header):
        if index in mapping:
            continue
        key = comparison_key(name)
        for hint, found in _HINTS:
            if key and hint in key and found not in mapping.values():
                mapping[index] = found
                break
    return dict(sorted(mapping.items()))


@cache
def _country_names() -> dict[str, str]:
    """Every folded country name in English, French and Spanish -> its alpha-2 code."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name", "alpha_3"):
            value = getattr(country, attribute, None)
            if value:
                names.setdefault(comparison_key(value), country.alpha_2)
    for locale in ("en", "fr", "es"):
        for code, name in Locale.parse(locale).territories.items():
            if code in countries():
                names.setdefault(comparison_key(name), code)
    return names


def country_code(value: str) -> str | None:
    """``value`` as an ISO 3166-1 alpha-2 code: a code, or a name in English, French, Spanish."""
    if len(value) == 2 and value.upper() in countries():
        return value.upper()
    return _country_names().get(comparison_key(value))


@cache
def _type_names() -> dict[str, str]:
    names = {comparison_key(code): code for code in ORGANIZATION_TYPES}
    names.update(_TYPE_WORDS)
    for locale in ("en", "fr", "es"):
        with force_locale(locale):
            for code, label in ORGANIZATION_TYPES.items():
                names.setdefault(comparison_key(gettext(label)), code)
    return names


def organization_type_code(value: str) -> str | None:
    """``value`` as an organization type code: a code, or its name in English, French, Spanish."""
    return _type_names().get(comparison_key(value))


@dataclass
class CheckedRow:
    """One row: the fields as the sign form would store them, and what is wrong with them."""

    number: int
    values: dict[str, str]
    # (field or "" for the whole row, message), in the form's order.
    errors: list[tuple[str, str]] = field(default_factory=list)
    email_domain: str = ""

    @property
    def is_organization(self) -> bool:
        return self.values["kind"] == SignatureKind.ORGANIZATION

    def refuse(self, name: str, message: str) -> None:
        self.errors.append((name, message))


def check_row(
    number: int,
    cells: list[str],
    mapping: dict[int, str],
    *,
    allow_individuals: bool,
    check_deliverability: bool,
) -> CheckedRow:
    """The row's fields, each checked as the sign form checks what a signer typed."""
    raw = {name: "" for name in FIELDS}
    for index, name in mapping.items():
        if index < len(cells):
            raw[name] = cells[index].strip()
    row = CheckedRow(number, dict(raw))
    broken = set()
    for name, value in raw.items():
        if value and value[0] in FORMULA_TRIGGERS:
            broken.add(name)
            row.refuse(
                name,
                gettext(
                    "This cell starts with “%(sign)s”, which a spreadsheet runs as a "
                    "formula. Correct it in the file (names never start so), or delete "
                    "the row.",
                    sign=value[0],
                ),
            )
    _check_kind(row, raw["kind"], allow_individuals=allow_individuals)
    checks = (
        ("organization", _check_organization),
        ("organization_type", _check_organization_type),
        ("website", _check_website),
        ("country", _check_country),
        ("name", _check_name),
        ("title", _check_title),
        ("email", lambda r, v: _check_email(r, v, check_deliverability)),
    )
    for name, check in checks:
        if name in broken:
            continue
        try:
            check(row, raw[name])
        except FieldRefused as error:
            row.refuse(name, str(error))
    return row


def _check_kind(row: CheckedRow, value: str, *, allow_individuals: bool) -> None:
    if value:
        kind = _KINDS.get(comparison_key(value))
        if kind is None:
            row.refuse("kind", gettext("Write “organization” or “individual”."))
            kind = SignatureKind.ORGANIZATION.value
    elif row.values["organization_type"] or row.values["website"] or not allow_individuals:
        # No kind given: a row with an organization's type or website signs for it.
        kind = SignatureKind.ORGANIZATION.value
    else:
        kind = SignatureKind.INDIVIDUAL.value
    row.values["kind"] = kind
    if kind == SignatureKind.INDIVIDUAL and not allow_individuals:
        row.refuse("kind", gettext("This letter is signed by organizations only."))


def _text(value: str, limit: int, *, url_allowed: bool = False) -> None:
    signing.check_length(value, limit)
    signing.check_one_line(value)
    if not url_allowed:
        signing.check_no_url(value)


def _check_organization(row: CheckedRow, value: str) -> None:
    _text(value, NAME_MAX)
    signing.check_organization(value, is_organization=row.is_organization)


def _check_organization_type(row: CheckedRow, value: str) -> None:
    if not row.is_organization:
        row.values["organization_type"] = ""
        return
    code = organization_type_code(value) if value else ""
    if value and code is None:
        raise FieldRefused(
            gettext(
                "Unknown type “%(value)s”: use one of %(codes)s, or its name.",
                value=value,
                codes=", ".join(ORGANIZATION_TYPES),
            )
        )
    signing.check_organization_type(code or "", is_organization=True)
    row.values["organization_type"] = code or ""


def _check_website(row: CheckedRow, value: str) -> None:
    if not row.is_organization:
        row.values["website"] = ""
        return
    _text(value, WEBSITE_MAX, url_allowed=True)
    row.values["website"] = signing.checked_website(value, is_organization=True)


def _check_country(row: CheckedRow, value: str) -> None:
    if not value:
        raise FieldRefused(str(REQUIRED["country"]))
    code = country_code(value)
    if code is None:
        raise FieldRefused(
            gettext(
                "Unknown country “%(value)s”: use its two-letter code (DE) or its name in "
                "English, French or Spanish.",
                value=value,
            )
        )
    signing.check_country(code)
    row.values["country"] = code


def _check_name(row: CheckedRow, value: str) -> None:
    if not value:
        raise FieldRefused(str(REQUIRED["name"]))
    _text(value, NAME_MAX)


def _check_title(row: CheckedRow, value: str) -> None:
    if value:
        _text(value, NAME_MAX)


def _check_email(row: CheckedRow, value: str, check_deliverability: bool) -> None:
    if not value:
        raise FieldRefused(str(REQUIRED["email"]))
    signing.check_length(value, EMAIL_MAX)
    email, row.email_domain = signing.checked_email(
        value, check_deliverability=check_deliverability
    )
    row.values["email"] = email
