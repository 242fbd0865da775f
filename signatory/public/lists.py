"""The full list of signatories, and its CSV download."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, current_app, render_template, request, stream_with_context

from ..extensions import db
from ..models import Letter, SignatureKind
from ..reference import countries, country_name
from ..text import folded
from . import bp, exports, service
from .views import letter_or_404

SECTION_TITLES = {
    SignatureKind.ORGANIZATION: "Organizations",
    SignatureKind.INDIVIDUAL: "Individuals",
}


@dataclass(frozen=True)
class Section:
    """One section of the page as the template shows it."""

    kind: str
    title: str
    count: int
    page: service.Page


@dataclass(frozen=True)
class CountryOption:
    code: str
    name: str
    count: int


def _section_arg() -> str | None:
    raw = request.args.get("section", "")
    if not raw:
        return None
    if raw not in SECTION_TITLES:
        abort(400, description="The section must be “organization” or “individual”.")
    return raw


def _country_arg() -> str | None:
    raw = request.args.get("country", "").strip().upper()
    if not raw:
        return None
    if raw not in countries():
        abort(
            400,
            description="The country must be a two-letter ISO 3166 code such as DE or KE. "
            "Choose one from the list.",
        )
    return raw


def _after_arg(section: str | None) -> service.Cursor | None:
    raw = request.args.get("after", "")
    if not raw:
        return None
    if section is None:
        abort(
            400,
            description="“after” pages within one section: add section=organization "
            "or section=individual, or start again from the first page.",
        )
    try:
        return service.decode_cursor(raw)
    except service.InvalidCursor:
        abort(
            400,
            description="This page link is damaged or out of date. "
            "Start again from the first page of the list.",
        )


def _country_options(by_country: dict[str, int], selected: str | None) -> list[CountryOption]:
    codes = set(by_country)
    # A chosen country with no signatories still shows as chosen in the form.
    if selected is not None:
        codes.add(selected)
    options = [CountryOption(code, country_name(code), by_country.get(code, 0)) for code in codes]
    return sorted(options, key=lambda option: folded(option.name))


def _kinds_to_show(letter: Letter, section: str | None, totals: service.Counts) -> list[str]:
    if section is not None:
        return [section]
    kinds = [SignatureKind.ORGANIZATION.value]
    # A letter that never took individuals has no such section to show.
    if letter.allow_individuals or totals.individuals:
        kinds.append(SignatureKind.INDIVIDUAL.value)
    return kinds


@bp.get("/letters/<slug>/signatories")
def signatories(slug: str) -> str:
    """Every published signatory: organizations, then individuals, a page at a time.

    Without ``section`` both sections show their first page; ``section`` with ``after``
    (a cursor from a "more" link) pages within one. ``country`` narrows both.
    """
    letter = letter_or_404(slug)
    section = _section_arg()
    country = _country_arg()
    after = _after_arg(section)
    page_size = current_app.config["PUBLIC_PAGE_SIZE"]

    totals = service.published_counts(db.session, letter)
    by_country = service.published_countries(db.session, letter)
    shown = service.published_counts(db.session, letter, country=country) if country else totals
    sections = [
        Section(
            kind=kind,
            title=SECTION_TITLES[kind],
            count=shown.organizations if kind == SignatureKind.ORGANIZATION else shown.individuals,
            page=service.published_page(
                db.session, letter, kind=kind, country=country, after=after, limit=page_size
            ),
        )
        for kind in _kinds_to_show(letter, section, totals)
    ]
    return render_template(
        "public/signatories.html",
        letter=letter,
        totals=totals,
        sections=sections,
        section=section,
        country=country,
        country_options=_country_options(by_country, country),
        paged=after is not None,
        version_count=len(letter.versions),
    )


@bp.get("/letters/<slug>/signatories.csv")
def signatories_csv(slug: str) -> Response:
    """The published list as CSV (UTF-8 with BOM, formulas neutralised), streamed in batches."""
    letter = letter_or_404(slug)
    response = Response(
        stream_with_context(exports.iter_csv(db.session, letter)),
        content_type="text/csv; charset=utf-8",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{exports.csv_filename(letter)}"'
    )
    return response
