"""The full list of signatories: find anyone (filters, a name search, three orders), and its CSV.

Every filter lives in the query string, so any view of the list can be shared as a link:
``section`` (organization | individual), ``country`` (alpha-2), ``type`` (an organization
type code), ``verified`` (yes | no), ``q`` (a name, any case and accents), ``sort``
(signed | newest | name) and ``after`` (a cursor from a "more" link, within one section).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from flask import (
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext, lazy_gettext

from signatory.core.extensions import db
from signatory.core.reference import (
    ORGANIZATION_TYPES,
    countries,
    local_country_name,
    organization_types,
)
from signatory.core.text import folded
from signatory.models import Letter, SignatureKind
from signatory.public import bp, exports, live, service
from signatory.public.views import letter_or_404

SECTION_TITLES = {
    SignatureKind.ORGANIZATION: lazy_gettext("Organizations"),
    SignatureKind.INDIVIDUAL: lazy_gettext("Individuals"),
}

SORT_LABELS = {
    service.Sort.SIGNED: lazy_gettext("Order of signing"),
    service.Sort.NEWEST: lazy_gettext("Newest first"),
    service.Sort.NAME: lazy_gettext("Name (A–Z)"),
}

# How a table's caption says its order.
SORT_CAPTIONS = {
    service.Sort.SIGNED: lazy_gettext("in order of signing"),
    service.Sort.NEWEST: lazy_gettext("newest first"),
    service.Sort.NAME: lazy_gettext("by name"),
}

VERIFIED_ARGS = {"yes": True, "no": False}


@dataclass(frozen=True)
class ListView:
    """One view of the list, as the query string asked for it."""

    filters: service.ListFilters
    sort: service.Sort
    after: service.Cursor | service.NameCursor | None

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the section narrows the list."""
        f = self.filters
        return any(
            value is not None
            for value in (f.country, f.organization_type, f.domain_verified, f.search)
        )

    def query_args(self) -> dict[str, str]:
        """The filters and order as query arguments, for links that keep them."""
        f = self.filters
        args = {
            "country": f.country,
            "type": f.organization_type,
            "verified": None
            if f.domain_verified is None
            else ("yes" if f.domain_verified else "no"),
            "q": f.search,
            "sort": self.sort.value if self.sort != service.Sort.SIGNED else None,
        }
        return {key: value for key, value in args.items() if value is not None}


@dataclass(frozen=True)
class Section:
    """One section of the page as the template shows it."""

    kind: str
    title: str
    count: int
    page: service.Page
    more_url: str | None
    # Where script may add a newly published signatory without a reload: "top" (newest
    # first), "bottom" (signing order, last page) or "" (a filtered, sorted or later
    # page, where it only announces that there are new ones).
    live_insert: str


@dataclass(frozen=True)
class Option:
    code: str
    name: str
    count: int


def _bad_request(message: str) -> NoReturn:
    abort(400, description=message)


def _section_arg() -> str | None:
    raw = request.args.get("section", "")
    if not raw:
        return None
    if raw not in SECTION_TITLES:
        _bad_request(gettext("The section must be “organization” or “individual”."))
    return raw


def _country_arg() -> str | None:
    raw = request.args.get("country", "").strip().upper()
    if not raw:
        return None
    if raw not in countries():
        _bad_request(
            gettext(
                "The country must be a two-letter ISO 3166 code such as DE or KE. "
                "Choose one from the list."
            )
        )
    return raw


def _type_arg() -> str | None:
    raw = request.args.get("type", "").strip().lower()
    if not raw:
        return None
    if raw not in ORGANIZATION_TYPES:
        _bad_request(
            gettext(
                "The organization type must be one of: %(codes)s. Choose one from the list.",
                codes=", ".join(ORGANIZATION_TYPES),
            )
        )
    return raw


def _verified_arg() -> bool | None:
    raw = request.args.get("verified", "").strip().lower()
    if not raw:
        return None
    if raw not in VERIFIED_ARGS:
        _bad_request(gettext("“verified” must be “yes” (verified domains only) or “no”."))
    return VERIFIED_ARGS[raw]


def _search_arg() -> str | None:
    # Control characters cannot be typed into a name and some databases refuse them.
    typed = request.args.get("q", "")
    raw = " ".join(
        "".join(ch for ch in typed if ch.isspace() or unicodedata.category(ch) != "Cc").split()
    )
    if len(raw) > service.SEARCH_MAX_LENGTH:
        _bad_request(
            gettext(
                "Search for a name of at most %(max)d characters; a part of the name is enough.",
                max=service.SEARCH_MAX_LENGTH,
            )
        )
    return raw or None


def _sort_arg() -> service.Sort:
    raw = request.args.get("sort", "")
    if not raw:
        return service.Sort.SIGNED
    try:
        return service.Sort(raw)
    except ValueError:
        _bad_request(gettext("The order must be “signed” (order of signing), “newest” or “name”."))


def _after_arg(
    section: str | None, sort: service.Sort
) -> service.Cursor | service.NameCursor | None:
    raw = request.args.get("after", "")
    if not raw:
        return None
    if section is None:
        _bad_request(
            gettext(
                "“after” pages within one section: add section=organization "
                "or section=individual, or start again from the first page."
            )
        )
    try:
        return service.decode_position(raw, sort)
    except service.InvalidCursor:
        _bad_request(
            gettext(
                "This page link is damaged, out of date or made for another order. "
                "Start again from the first page of the list."
            )
        )


def parse_view() -> ListView:
    """The view the query string asks for; a 400 page naming the bad argument otherwise."""
    section = _section_arg()
    sort = _sort_arg()
    filters = service.ListFilters(
        kind=section,
        country=_country_arg(),
        organization_type=_type_arg(),
        domain_verified=_verified_arg(),
        search=_search_arg(),
    )
    return ListView(filters=filters, sort=sort, after=_after_arg(section, sort))


def _country_options(by_country: dict[str, int], selected: str | None) -> list[Option]:
    codes = set(by_country)
    # A chosen country with no signatories still shows as chosen in the form.
    if selected is not None:
        codes.add(selected)
    options = [Option(code, local_country_name(code), by_country.get(code, 0)) for code in codes]
    return sorted(options, key=lambda option: folded(option.name))


def _type_options(by_type: dict[str, int]) -> list[Option]:
    return [Option(code, name, by_type.get(code, 0)) for code, name in organization_types().items()]


def _kinds_to_show(letter: Letter, view: ListView, totals: service.Counts) -> list[str]:
    if view.filters.kind is not None:
        return [view.filters.kind]
    kinds = [SignatureKind.ORGANIZATION.value]
    # A letter that never took individuals has no such section to show, and an
    # organizations-only filter (type, verified domain) leaves nothing to show in it.
    if (letter.allow_individuals or totals.individuals) and not view.filters.organizations_only:
        kinds.append(SignatureKind.INDIVIDUAL.value)
    return kinds


def _live_insert(view: ListView, page: service.Page) -> str:
    if view.narrowed or view.after is not None:
        return ""
    if view.sort == service.Sort.NEWEST:
        return "top"
    if view.sort == service.Sort.SIGNED and page.next_cursor is None:
        return "bottom"
    return ""


def _section(letter: Letter, view: ListView, kind: str, shown: service.Counts) -> Section:
    page = service.find_page(
        db.session,
        letter,
        service.ListFilters(
            kind=kind,
            country=view.filters.country,
            organization_type=view.filters.organization_type,
            domain_verified=view.filters.domain_verified,
            search=view.filters.search,
        ),
        sort=view.sort,
        after=view.after,
        limit=current_app.config["PUBLIC_PAGE_SIZE"],
    )
    more_url = None
    if page.next_cursor is not None:
        more_url = url_for(
            "public.signatories",
            slug=letter.slug,
            section=kind,
            after=page.next_cursor,
            **view.query_args(),
            _anchor=f"{kind}s",
        )
    return Section(
        kind=kind,
        title=str(SECTION_TITLES[kind]),
        count=shown.organizations if kind == SignatureKind.ORGANIZATION else shown.individuals,
        page=page,
        more_url=more_url,
        live_insert=_live_insert(view, page),
    )


@bp.get("/letters/<slug>/signatories")
def signatories(slug: str) -> str:
    """Every published signatory: organizations, then individuals, a page at a time.

    Without ``section`` both sections show their first page; ``section`` with ``after``
    (a cursor from a "more" link) pages within one. The filters narrow both.
    """
    letter = letter_or_404(slug)
    view = parse_view()

    # Counts per revision of the list: between two changes they are not counted again.
    totals = live.list_cached(
        letter, "counts", lambda: service.published_counts(db.session, letter)
    )
    shown = (
        live.list_cached(
            letter,
            ("find_counts", view.filters),
            lambda: service.find_counts(db.session, letter, view.filters),
        )
        if view.narrowed
        else totals
    )
    sections = [
        _section(letter, view, kind, shown) for kind in _kinds_to_show(letter, view, totals)
    ]
    query_args = view.query_args()
    return render_template(
        "public/signatories.html",
        letter=letter,
        totals=totals,
        sections=sections,
        view=view,
        filters=view.filters,
        section=view.filters.kind,
        country=view.filters.country,
        sort_labels=SORT_LABELS,
        sort_caption=SORT_CAPTIONS[view.sort],
        country_options=_country_options(
            live.list_cached(
                letter, "countries", lambda: service.published_countries(db.session, letter)
            ),
            view.filters.country,
        ),
        type_options=_type_options(
            live.list_cached(
                letter, "types", lambda: service.published_organization_types(db.session, letter)
            )
        ),
        query_args=query_args,
        first_page_url=url_for(
            "public.signatories", slug=letter.slug, section=view.filters.kind, **query_args
        ),
        newest_url=url_for(
            "public.signatories",
            slug=letter.slug,
            section=view.filters.kind,
            **{**query_args, "sort": service.Sort.NEWEST.value},
        ),
        paged=view.after is not None,
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
