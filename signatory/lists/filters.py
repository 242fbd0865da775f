"""The list's query string, read by one function for every reader of the list.

The pages and the API take the same filters and orders under their own names: the pages
say ``section``, ``type``, ``verified=yes`` and ``after``; the API ``kind``,
``organization_type``, ``domain_verified=true`` and ``cursor``. ``parse_list_query`` reads
either spelling and raises ``InvalidListQuery`` naming what it could not use; each side
says so in its own form (the pages an HTML 400 page, the API a JSON error).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from signatory.core.i18n import ORGANIZATION_TYPES, countries
from signatory.lists.cursors import Cursor, InvalidCursor, NameCursor, Sort, decode_position
from signatory.lists.queries import PUBLIC_KINDS, SEARCH_MAX_LENGTH, ListFilters

# What ``InvalidListQuery.field`` may name.
KIND = "kind"
COUNTRY = "country"
ORGANIZATION_TYPE = "organization_type"
DOMAIN_VERIFIED = "domain_verified"
SEARCH = "search"
SORT = "sort"
CURSOR = "cursor"
# A cursor without the section it pages through (on the pages, a cursor is per section).
CURSOR_WITHOUT_KIND = "cursor_without_kind"


@dataclass(frozen=True)
class Spelling:
    """How one side names the list's parameters and values."""

    kind: str
    organization_type: str
    domain_verified: str
    cursor: str
    # The words for domain_verified true and false.
    verified_words: tuple[str, str]
    # Pages forgive stray spaces and capitals in values (links are typed and pasted); the
    # API takes values exactly as it documents them.
    forgiving: bool
    # A page's "more" link pages through one section; the API's cursor through the answer.
    cursor_needs_kind: bool
    country: str = "country"
    search: str = "q"
    sort: str = "sort"

    def name_of(self, field: str) -> str:
        """The parameter that carries ``field`` in this spelling."""
        if field == CURSOR_WITHOUT_KIND:
            return self.cursor
        return str(getattr(self, field))


PAGES = Spelling(
    kind="section",
    organization_type="type",
    domain_verified="verified",
    cursor="after",
    verified_words=("yes", "no"),
    forgiving=True,
    cursor_needs_kind=True,
)
API = Spelling(
    kind="kind",
    organization_type="organization_type",
    domain_verified="domain_verified",
    cursor="cursor",
    verified_words=("true", "false"),
    forgiving=False,
    cursor_needs_kind=False,
)


class InvalidListQuery(ValueError):
    """``field`` (one of the names above) holds a value the list cannot use."""

    def __init__(self, field: str, parameter: str) -> None:
        super().__init__(f"invalid {parameter}")
        self.field = field
        self.parameter = parameter


@dataclass(frozen=True)
class ListQuery:
    """One view of the list, as a query string asked for it."""

    filters: ListFilters
    sort: Sort
    after: Cursor | NameCursor | None

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the section narrows the list."""
        f = self.filters
        return any(
            value is not None
            for value in (f.country, f.organization_type, f.domain_verified, f.search)
        )

    def query_args(self, spelling: Spelling = PAGES) -> dict[str, str]:
        """The filters and order (not the section or cursor), for links that keep them."""
        f = self.filters
        yes, no = spelling.verified_words
        args = {
            spelling.country: f.country,
            spelling.organization_type: f.organization_type,
            spelling.domain_verified: None
            if f.domain_verified is None
            else (yes if f.domain_verified else no),
            spelling.search: f.search,
            spelling.sort: self.sort.value if self.sort != Sort.SIGNED else None,
        }
        return {key: value for key, value in args.items() if value is not None}


def _search(typed: str) -> str | None:
    # Control characters cannot be typed into a name and some databases refuse them.
    kept = "".join(ch for ch in typed if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(kept.split()) or None


def parse_list_query(args: Mapping[str, str], spelling: Spelling) -> ListQuery:
    """The view ``args`` ask for, in ``spelling``; ``InvalidListQuery`` for the first bad one."""

    def raw(field: str) -> str:
        value = args.get(spelling.name_of(field), "")
        return value.strip() if spelling.forgiving else value

    def invalid(field: str) -> InvalidListQuery:
        return InvalidListQuery(field, spelling.name_of(field))

    kind = args.get(spelling.kind, "") or None
    if kind is not None and kind not in PUBLIC_KINDS:
        raise invalid(KIND)

    country = raw(COUNTRY).upper() or None
    if country is not None and country not in countries():
        raise invalid(COUNTRY)

    organization_type = raw(ORGANIZATION_TYPE)
    if spelling.forgiving:
        organization_type = organization_type.lower()
    if organization_type and organization_type not in ORGANIZATION_TYPES:
        raise invalid(ORGANIZATION_TYPE)

    verified_word = raw(DOMAIN_VERIFIED)
    if spelling.forgiving:
        verified_word = verified_word.lower()
    domain_verified: bool | None = None
    if verified_word:
        if verified_word not in spelling.verified_words:
            raise invalid(DOMAIN_VERIFIED)
        domain_verified = verified_word == spelling.verified_words[0]

    search = _search(args.get(spelling.search, ""))
    if search is not None and len(search) > SEARCH_MAX_LENGTH:
        raise invalid(SEARCH)

    sort_word = args.get(spelling.sort, "")
    try:
        sort = Sort(sort_word) if sort_word else Sort.SIGNED
    except ValueError:
        raise invalid(SORT) from None

    token = args.get(spelling.cursor, "")
    after: Cursor | NameCursor | None = None
    if token:
        if spelling.cursor_needs_kind and kind is None:
            raise invalid(CURSOR_WITHOUT_KIND)
        try:
            after = decode_position(token, sort)
        except InvalidCursor:
            raise invalid(CURSOR) from None

    filters = ListFilters(
        kind=kind,
        country=country,
        organization_type=organization_type or None,
        domain_verified=domain_verified,
        search=search,
    )
    return ListQuery(filters=filters, sort=sort, after=after)
