"""The public list's pages and files: find anyone, download it, watch it, chart it, reuse it.

Every filter lives in the query string, so any view of the list can be shared as a link:
``section`` (organization | individual), ``country`` (alpha-2), ``type`` (an organization
type code), ``verified`` (yes | no), ``q`` (a name, any case and accents), ``sort``
(signed | newest | name) and ``after`` (a cursor from a "more" link, within one section);
``lists.filters`` reads them. Besides the list: its CSV and JSON downloads, the endpoint
open pages poll (``live.json``), the charts (``stats``), the embeddable widget, the Atom
feed and the picture a shared link shows (``preview.png``).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import LazyString, gettext, lazy_gettext

from signatory import caching
from signatory.core.access import Routes
from signatory.core.extensions import db
from signatory.core.i18n import (
    ORGANIZATION_TYPES,
    current_locale,
    local_country_name,
    organization_types,
)
from signatory.core.text import folded
from signatory.core.time import utcnow
from signatory.core.web import absolute_url
from signatory.letters.lookup import no_such_letter, public_letter_or_404
from signatory.letters.queries import published_counts
from signatory.lists import feeds, preview, share, writers
from signatory.lists import live as live_list
from signatory.lists import queries as service
from signatory.lists.charts import letter_charts
from signatory.lists.filters import (
    COUNTRY,
    CURSOR,
    CURSOR_WITHOUT_KIND,
    DOMAIN_VERIFIED,
    KIND,
    ORGANIZATION_TYPE,
    PAGES,
    SEARCH,
    SORT,
    InvalidListQuery,
    ListQuery,
    parse_list_query,
)
from signatory.models import Letter, SignatureKind

routes = Routes("public")

SECTION_TITLES: dict[str, LazyString] = {
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


def _query_problem(field: str) -> str:
    """What a page says about a query-string value it cannot use."""
    if field == KIND:
        return gettext("The section must be “organization” or “individual”.")
    if field == COUNTRY:
        return gettext(
            "The country must be a two-letter ISO 3166 code such as DE or KE. "
            "Choose one from the list."
        )
    if field == ORGANIZATION_TYPE:
        return gettext(
            "The organization type must be one of: %(codes)s. Choose one from the list.",
            codes=", ".join(ORGANIZATION_TYPES),
        )
    if field == DOMAIN_VERIFIED:
        return gettext("“verified” must be “yes” (verified domains only) or “no”.")
    if field == SEARCH:
        return gettext(
            "Search for a name of at most %(max)d characters; a part of the name is enough.",
            max=service.SEARCH_MAX_LENGTH,
        )
    if field == SORT:
        return gettext("The order must be “signed” (order of signing), “newest” or “name”.")
    if field == CURSOR_WITHOUT_KIND:
        return gettext(
            "“after” pages within one section: add section=organization "
            "or section=individual, or start again from the first page."
        )
    assert field == CURSOR, field
    return gettext(
        "This page link is damaged, out of date or made for another order. "
        "Start again from the first page of the list."
    )


def _list_query() -> ListQuery:
    """The view the query string asks for; a 400 page naming the bad argument otherwise."""
    try:
        return parse_list_query(request.args, PAGES)
    except InvalidListQuery as error:
        abort(400, description=_query_problem(error.field))


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


def _country_options(by_country: dict[str, int], selected: str | None) -> list[Option]:
    codes = set(by_country)
    # A chosen country with no signatories still shows as chosen in the form.
    if selected is not None:
        codes.add(selected)
    options = [Option(code, local_country_name(code), by_country.get(code, 0)) for code in codes]
    return sorted(options, key=lambda option: folded(option.name))


def _type_options(by_type: dict[str, int]) -> list[Option]:
    return [Option(code, name, by_type.get(code, 0)) for code, name in organization_types().items()]


def _kinds_to_show(letter: Letter, view: ListQuery, totals: service.Counts) -> list[str]:
    if view.filters.kind is not None:
        return [view.filters.kind]
    kinds = [SignatureKind.ORGANIZATION.value]
    # A letter that never took individuals has no such section to show, and an
    # organizations-only filter (type, verified domain) leaves nothing to show in it.
    if (letter.allow_individuals or totals.individuals) and not view.filters.organizations_only:
        kinds.append(SignatureKind.INDIVIDUAL.value)
    return kinds


def _live_insert(view: ListQuery, page: service.Page) -> str:
    if view.narrowed or view.after is not None:
        return ""
    if view.sort == service.Sort.NEWEST:
        return "top"
    if view.sort == service.Sort.SIGNED and page.next_cursor is None:
        return "bottom"
    return ""


def _section(letter: Letter, view: ListQuery, kind: str, shown: service.Counts) -> Section:
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
        kept: dict[str, Any] = view.query_args()
        more_url = url_for(
            "public.signatories",
            slug=letter.slug,
            section=kind,
            after=page.next_cursor,
            **kept,
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


@routes.get("/letters/<slug>/signatories")
def signatories(slug: str) -> Response:
    """Every published signatory: organizations, then individuals, a page at a time.

    Without ``section`` both sections show their first page; ``section`` with ``after``
    (a cursor from a "more" link) pages within one. The filters narrow both.
    """
    return live_list.kept_page("signatories", slug, lambda _: _signatories_page(slug))


def _signatories_page(slug: str) -> str:
    letter = public_letter_or_404(slug)
    view = _list_query()

    # Counts per revision of the list: between two changes they are not counted again.
    totals = live_list.list_cached(letter, "counts", lambda: published_counts(db.session, letter))
    shown = (
        live_list.list_cached(
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
    query_args: dict[str, Any] = view.query_args()
    return render_template(
        "lists/signatories.html",
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
            live_list.list_cached(
                letter, "countries", lambda: service.published_countries(db.session, letter)
            ),
            view.filters.country,
        ),
        type_options=_type_options(
            live_list.list_cached(
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
        # The lead organizations, named before the sections: their own small read.
        leads=live_list.list_cached(
            letter, "leads", lambda: service.lead_organizations(db.session, letter)
        ),
    )


@routes.get("/letters/<slug>/signatories.csv")
def signatories_csv(slug: str) -> Response:
    """The published list as CSV (UTF-8 with BOM, formulas neutralised), streamed in batches."""
    letter = public_letter_or_404(slug, with_versions=False)
    response = Response(
        stream_with_context(writers.iter_csv(db.session, letter)),
        content_type="text/csv; charset=utf-8",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{writers.csv_filename(letter)}"'
    )
    return response


@routes.get("/letters/<slug>/signatories.json")
def signatories_json(slug: str) -> Response:
    """The published list as JSON (UTF-8, public fields only), streamed in batches."""
    letter = public_letter_or_404(slug, with_versions=False)
    response = Response(
        stream_with_context(
            writers.iter_json(
                db.session, letter, base_url=current_app.config["BASE_URL"], now=utcnow()
            )
        ),
        content_type="application/json; charset=utf-8",
    )
    filename = writers.json_filename(letter)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@routes.get("/letters/<slug>/live.json")
def live(slug: str) -> Response:
    """The published count by section and the newest signatories, for pages that poll.

    Conditional: ``304`` with an empty body while the list is unchanged, after one read
    of the letter's list state; only a changed list reads the letter itself.
    """
    state = live_list.current_list_state(slug)
    if state is None:
        no_such_letter()

    def render() -> Response:
        letter = public_letter_or_404(slug, with_versions=False)
        body = json.dumps(live_list.live_body(letter), ensure_ascii=False, separators=(",", ":"))
        return Response(body, content_type="application/json; charset=utf-8")

    response = live_list.revalidated(
        state,
        render,
        variant="live",
        max_age=live_list.MAX_AGE,
        stale=live_list.STALE,
    )
    # Public facts, no credentials: any site may read them (an embedded counter, say).
    response.access_control_allow_origin = "*"
    return response


@routes.get("/letters/<slug>/stats")
def stats(slug: str) -> Response:
    """Charts of the published list: by country, by organization type, and over time."""
    return live_list.kept_page("stats", slug, _stats_page)


def _stats_page(letter: Letter) -> str:
    session = db.session
    counts = live_list.list_cached(letter, "counts", lambda: published_counts(session, letter))
    countries = live_list.list_cached(
        letter, "countries", lambda: service.published_countries(session, letter)
    )
    types = live_list.list_cached(
        letter, "types", lambda: service.published_organization_types(session, letter)
    )
    per_day = live_list.list_cached(
        letter, "per_day", lambda: service.published_per_day(session, letter)
    )
    charts = letter_charts(countries, types, per_day)
    return render_template(
        "lists/stats.html",
        letter=letter,
        counts=counts,
        by_country=charts.by_country,
        world=charts.world,
        by_type=charts.by_type,
        over_time=charts.over_time,
    )


@routes.get("/letters/<slug>/widget")
def widget(slug: str) -> Response:
    """A small page for other sites to frame: the count, the newest organizations, a link to sign.

    It is the only page with ``frame-ancestors *`` (and so without ``X-Frame-Options``):
    it holds nothing but public facts and links that leave the frame. It reads no
    session, so a shared cache may keep it; the count then updates itself by polling.
    """
    letter = public_letter_or_404(slug, with_versions=False)
    accepting = letter.accepts_signatures(utcnow())

    def render() -> Response:
        latest = live_list.list_cached(
            letter,
            ("latest", share.WIDGET_ORGANIZATIONS),
            lambda: service.latest_public(db.session, letter, limit=share.WIDGET_ORGANIZATIONS),
        )
        counts = live_list.list_cached(
            letter, "counts", lambda: published_counts(db.session, letter)
        )
        page = render_template(
            "lists/widget.html",
            letter=letter,
            counts=counts,
            organizations=latest.organizations,
            limit=share.WIDGET_ORGANIZATIONS,
            accepting=accepting,
            letter_url=absolute_url("public.letter", slug=letter.slug),
        )
        return Response(page, content_type="text/html; charset=utf-8")

    # Whether signing is open changes the page without changing the list.
    response = live_list.revalidated(
        live_list.ListState.of(letter),
        render,
        variant=f"widget-{int(accepting)}",
        max_age=30,
        stale=30,
    )
    response.headers["Content-Security-Policy"] = share.WIDGET_POLICY
    return response


@routes.get("/letters/<slug>/preview.png")
def preview_image(slug: str) -> Response:
    """The letter's card for link previews (``og:image``): a 1200×630 PNG of its title,
    recipient and published count.

    Its words are in the language of ``?lang=`` alone (English without it, or for a code
    the site does not speak), as the widget's are: the letter page links the card in its
    own language, and a shared cache keeps one copy per URL. Drawn once for each state of
    the letter (its two revisions) and kept (``caching``); browsers and crawlers may keep
    it ``preview.MAX_AGE`` seconds, then revalidate by its ETag (``live.revalidated``).
    """
    letter = public_letter_or_404(slug, with_versions=False)
    language = current_locale()  # ?lang= alone (core.i18n.URL_LANGUAGE_ENDPOINTS)

    def render() -> Response:
        counts = live_list.list_cached(
            letter, "counts", lambda: published_counts(db.session, letter)
        )
        return Response(preview.letter_card(letter, counts), content_type="image/png")

    # The title and recipient are the letter's own revision; the count, its list's.
    variant = f"preview{preview.FORMAT}-{letter.revision}-{language}"
    return live_list.revalidated(
        live_list.ListState.of(letter),
        lambda: caching.page(("preview", variant, letter.id, letter.list_revision), render),
        variant=variant,
        max_age=preview.MAX_AGE,
        stale=preview.MAX_AGE,
    )


@routes.get("/letters/<slug>/feed.atom")
def feed(slug: str) -> Response:
    """An Atom feed of the newest published signatories, newest first."""
    letter = public_letter_or_404(slug, with_versions=False)

    def render() -> Response:
        page = service.find_page(
            db.session, letter, service.ListFilters(), sort=service.Sort.NEWEST, limit=feeds.ENTRIES
        )
        updated = page.items[0].published_at if page.items else live_list.list_last_modified(letter)
        body = feeds.atom_feed(
            letter, page.items, base_url=current_app.config["BASE_URL"], updated=updated
        )
        return Response(body, content_type="application/atom+xml; charset=utf-8")

    # The title and recipient appear in the feed too, so an edit to them is a new version.
    wording = zlib.crc32(f"{letter.title}\n{letter.recipient}".encode())
    return live_list.revalidated(
        live_list.ListState.of(letter), render, variant=f"feed-{wording:x}", max_age=60, stale=60
    )
