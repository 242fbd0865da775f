"""Read-only queries behind the public list, its downloads, its charts and the API.

Public columns only: a row of the list is a ``PublicSignature``, which never holds the
email. Every page is keyset-paginated (``lists.cursors``), so its cost never grows with
the letter's size or the page's depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, select, tuple_
from sqlalchemy.orm import aliased

from signatory.core.database import DbSession
from signatory.core.errors import InvalidArgument
from signatory.core.spreadsheets import iso_text
from signatory.core.text import search_text
from signatory.letters.queries import Counts
from signatory.lists.cursors import (
    Cursor,
    InvalidCursor,
    NameCursor,
    Sort,
    encode_cursor,
    encode_name_cursor,
)
from signatory.models import (
    Letter,
    LetterVersion,
    Signature,
    SignatureKind,
    SignatureStatus,
    SignatureTally,
)
from signatory.models.signature import LEADS_MAX, LeadRole

# --- The public list, page by page -------------------------------------------------------
#
# Pages are keyset-paginated on (published_at, id): a page starts strictly after the last
# row of the previous one, so the database seeks in the ``ix_signature_public`` index
# instead of counting past an OFFSET, and page 1,000 costs what page 1 costs. A signature
# published while someone pages is neither shown twice nor skipped.

PUBLIC_KINDS = (SignatureKind.ORGANIZATION, SignatureKind.INDIVIDUAL)


@dataclass(frozen=True)
class PublicSignature:
    """The public fields of a published signature; the email is never selected."""

    id: int
    kind: str
    organization: str | None
    country: str
    organization_type: str | None
    website: str | None
    name: str
    title: str | None
    domain_verified: bool
    # "attested": added by the coordinators from a spreadsheet (``SignatureSource``).
    source: str | None
    # "initiator" or "co-sponsor" for a lead organization (``LeadRole``), else None.
    lead: str | None
    published_at: datetime
    version: int
    # The version its signer kept it on after a substantive change (``reconfirm``), or None.
    reconfirmed_version: int | None
    # Its "why we signed" statement once a moderator approved it, else None (``statements``).
    statement: str | None
    # Selected only where the list is sorted by name (it positions the name cursor).
    sort_key: str = ""

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.published_at, self.id)


@dataclass(frozen=True)
class Page:
    items: list[PublicSignature]
    # Where the next page starts, already encoded; None on the last page.
    next_cursor: str | None


# The version a signature was re-confirmed on (``reconfirm``): a second join of the versions.
RECONFIRMED = aliased(LetterVersion, name="reconfirmed_version")

_PUBLIC_COLUMNS = (
    Signature.id,
    Signature.kind,
    Signature.organization,
    Signature.country,
    Signature.organization_type,
    Signature.website,
    Signature.name,
    Signature.title,
    Signature.domain_verified,
    Signature.source,
    Signature.lead_role,
    Signature.published_at,
    LetterVersion.number,
    RECONFIRMED.number,
    # Only an approved statement leaves the database (``organizations.statements``).
    case((Signature.statement_status == "approved", Signature.statement)).label("statement"),
)


def _public_rows(
    letter: Letter,
    kind: str,
    *,
    with_sort_key: bool = False,
    columns: tuple[Any, ...] = _PUBLIC_COLUMNS,
) -> Select[Any]:
    """The published signatures of one section of ``letter``, public columns only.

    Every read of the public list starts here: equality on (letter_id, status, kind) is
    the head of each list index, so an order and a keyset range on top of it are an index
    seek plus one step per row. ``columns``: which (the downloads read their own).
    """
    if with_sort_key:
        columns = (*columns, Signature.sort_key)
    return (
        select(*columns)
        .join(LetterVersion, LetterVersion.id == Signature.version_id)
        .outerjoin(RECONFIRMED, RECONFIRMED.id == Signature.reconfirmed_version_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind == kind,
            # Publishing always stamps published_at; a NULL would not sort into the keyset.
            Signature.published_at.is_not(None),
        )
    )


def published_page(
    session: DbSession,
    letter: Letter,
    *,
    kind: str | None = None,
    country: str | None = None,
    after: Cursor | None = None,
    limit: int = 100,
) -> Page:
    """Up to ``limit`` published signatures after ``after``, in signing order.

    ``kind`` keeps one section; ``country`` (alpha-2) one country. Without ``kind``, both
    sections are read separately and merged, so each read still follows the index.
    """
    return find_page(
        session,
        letter,
        ListFilters(kind=kind, country=country),
        sort=Sort.SIGNED,
        after=after,
        limit=limit,
    )


# --- The whole list, for the downloads ----------------------------------------------------
#
# A download reads one section at a time in batches along ix_signature_public, each batch
# starting strictly after the last row of the one before, as the pages do: an index seek,
# then one step per row, with no OFFSET and no sort however far in. At a million rows what
# a row costs in Python is what the download costs, so the rows are Core tuples (no
# dataclass, no ORM row), and the signing time comes as the text the files print
# (``iso_text``) instead of a datetime parsed and formatted again.

DOWNLOAD_BATCH = 5000

_DOWNLOAD_COLUMNS = (
    Signature.id,
    Signature.organization,
    Signature.country,
    Signature.organization_type,
    Signature.website,
    Signature.name,
    Signature.title,
    Signature.domain_verified,
    iso_text(Signature.published_at).label("signed_at"),
    LetterVersion.number.label("version"),
    # "initiator", "co-sponsor" or None: the CSV's ``lead`` column.
    Signature.lead_role.label("lead"),
    # The version re-confirmed on (``reconfirm``), or None: the CSV's ``reconfirmed_version``.
    RECONFIRMED.number.label("reconfirmed_version"),
)


# What each row of ``iter_published`` holds, in this order (``signed_at``: ``published_at``
# in UTC as text, ``2025-03-01T09:30:15Z``; the kind is the section's, read one at a time).
DOWNLOAD_FIELDS = tuple(column.key for column in _DOWNLOAD_COLUMNS)


def iter_published(
    session: DbSession,
    letter: Letter,
    *,
    kind: str,
    country: str | None = None,
    batch_size: int = DOWNLOAD_BATCH,
) -> Iterator[list[tuple[Any, ...]]]:
    """Every published signature of one section, in signing order, in batches of ``batch_size``.

    Rows are plain tuples of ``DOWNLOAD_FIELDS``, so neither the session's identity map
    nor anything else grows with the letter: memory stays flat however many have signed.
    The batches are read in the caller's transaction, so on one snapshot when it holds one.
    """
    if kind not in PUBLIC_KINDS:
        raise InvalidArgument(f"unknown kind {kind!r}")
    query = (
        _public_rows(letter, kind, columns=_DOWNLOAD_COLUMNS)
        .order_by(Signature.published_at, Signature.id)
        .limit(batch_size)
    )
    if country is not None:
        query = query.where(Signature.country == country)
    connection = session.connection()
    batch = _driver_rows(connection, query)
    while batch:
        yield batch
        if len(batch) < batch_size:
            return
        # The next batch starts after the last row's (published_at, id), its time looked up
        # by its id inside the query: it never has to come back as a datetime to be sent.
        last_id = batch[-1][0]
        last = aliased(Signature, name="last_read")
        after = select(last.published_at).where(last.id == last_id).scalar_subquery()
        position = tuple_(Signature.published_at, Signature.id)
        batch = _driver_rows(connection, query.where(position > tuple_(after, last_id)))


def _driver_rows(connection: Connection, query: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the database driver hands them over: plain tuples.

    Making a SQLAlchemy ``Row`` of each cost about as much as the database's reading it.
    The columns must need no conversion on the way out: text, integers and booleans (which
    SQLite gives as 1 and 0), never a datetime.
    """
    result = connection.execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def published_countries(session: DbSession, letter: Letter) -> dict[str, int]:
    """Published signatures per country (alpha-2), for the country filter.

    Read from the counts the database keeps (``SignatureTally``): one row per country and
    kind, however many signatures the letter has.
    """
    rows = session.execute(
        select(SignatureTally.country, func.sum(SignatureTally.signatures))
        .where(
            SignatureTally.letter_id == letter.id,
            SignatureTally.status == SignatureStatus.PUBLISHED,
        )
        .group_by(SignatureTally.country)
    ).all()
    return {country: count for country, count in rows if count}


# --- The lead organizations ----------------------------------------------------------------
#
# The few organizations a letter names first (``organizations.leads`` marks them). Their
# own read by the partial index ``ix_signature_lead``, which holds only leads: the list's
# queries above neither join nor sort for them.


@dataclass(frozen=True)
class LeadOrganization:
    """A published lead organization, as the letter page, the list and the workspace name it."""

    id: int
    organization: str
    country: str
    website: str | None
    role: str
    rank: int | None


def lead_organizations(session: DbSession, letter: Letter) -> list[LeadOrganization]:
    """The letter's published lead organizations: initiators, then co-sponsors, each in the
    coordinators' order."""
    role_order = case((Signature.lead_role == LeadRole.INITIATOR, 0), else_=1)
    rows = session.execute(
        select(
            Signature.id,
            Signature.organization,
            Signature.country,
            Signature.website,
            Signature.lead_role,
            Signature.lead_rank,
        )
        .where(
            Signature.letter_id == letter.id,
            # Spelled out so the partial index is used.
            Signature.lead_role.is_not(None),
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind == SignatureKind.ORGANIZATION,
        )
        .order_by(role_order, Signature.lead_rank, Signature.id)
        .limit(LEADS_MAX)
    )
    # An organization signature always has its name and a lead its role; the columns may not.
    return [
        LeadOrganization(row_id, organization or "", country, website, role or "", rank)
        for row_id, organization, country, website, role, rank in rows
    ]


# --- Finding anyone: filters, a name search, three orders ---------------------------------
#
# Every order is keyset-paginated, so a deep page costs what the first one does:
# signing order and newest first on (published_at, id) (ix_signature_public and
# ix_signature_country_kind, read forwards or backwards), names on (sort_key, id)
# (ix_signature_name and ix_signature_country_name). A filter that no index holds (the
# search, domain verification) makes the read walk past the rows it rejects, so its cost
# grows with how rare the match is, never with the depth of the page.


SEARCH_MAX_LENGTH = 100


@dataclass(frozen=True)
class ListFilters:
    """What narrows the public list; ``None`` means any. ``search`` is as the reader typed it."""

    kind: str | None = None
    country: str | None = None
    organization_type: str | None = None
    domain_verified: bool | None = None
    search: str | None = None

    @property
    def organizations_only(self) -> bool:
        """Type and domain verification belong to organizations: no individual matches them."""
        return self.organization_type is not None or self.domain_verified is not None

    @property
    def kinds(self) -> tuple[str, ...]:
        kinds = (self.kind,) if self.kind is not None else tuple(PUBLIC_KINDS)
        if self.organizations_only:
            return tuple(kind for kind in kinds if kind == SignatureKind.ORGANIZATION)
        return kinds

    @property
    def search_term(self) -> str:
        """The search folded like ``Signature.search_key``; empty when there is none."""
        return search_text(self.search) if self.search else ""


def _position(row: PublicSignature, sort: Sort) -> str:
    if sort == Sort.NAME:
        return encode_name_cursor(NameCursor(row.sort_key, row.id))
    return encode_cursor(row.cursor)


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _narrowed(query: Select, filters: ListFilters) -> Select:
    if filters.country is not None:
        query = query.where(Signature.country == filters.country)
    if filters.organization_type is not None:
        query = query.where(Signature.organization_type == filters.organization_type)
    if filters.domain_verified is not None:
        query = query.where(Signature.domain_verified.is_(filters.domain_verified))
    term = filters.search_term
    if term:
        query = query.where(Signature.search_key.like(_like_pattern(term), escape="\\"))
    return query


def _ordered(query: Select, sort: Sort, after: Cursor | NameCursor | None) -> Select:
    if sort == Sort.NAME:
        if after is not None:
            if not isinstance(after, NameCursor):
                raise InvalidCursor("a cursor for another order")
            position = tuple_(Signature.sort_key, Signature.id)
            query = query.where(position > (after.sort_key, after.id))
        return query.order_by(Signature.sort_key, Signature.id)
    if after is not None and not isinstance(after, Cursor):
        raise InvalidCursor("a cursor for another order")
    position = tuple_(Signature.published_at, Signature.id)
    if sort == Sort.NEWEST:
        if after is not None:
            query = query.where(position < (after.published_at, after.id))
        return query.order_by(Signature.published_at.desc(), Signature.id.desc())
    if after is not None:
        query = query.where(position > (after.published_at, after.id))
    return query.order_by(Signature.published_at, Signature.id)


def _merge_key(sort: Sort) -> Callable[[PublicSignature], tuple[str | datetime, int]]:
    if sort == Sort.NAME:
        return lambda row: (row.sort_key, row.id)
    return lambda row: (row.published_at, row.id)


def find_page(
    session: DbSession,
    letter: Letter,
    filters: ListFilters,
    *,
    sort: Sort = Sort.SIGNED,
    after: Cursor | NameCursor | None = None,
    limit: int = 100,
) -> Page:
    """Up to ``limit`` published signatures matching ``filters``, in ``sort`` order.

    Each section is read on its own, in its index's order, and the sections are merged
    (a single query across both would read and sort every match). A page starts strictly
    after ``after``, which must come from the same order (``decode_position``); one from
    another order raises ``InvalidCursor``.
    """
    if limit < 1:
        raise InvalidArgument("limit must be at least 1")
    if filters.kind is not None and filters.kind not in PUBLIC_KINDS:
        raise InvalidArgument(f"unknown kind {filters.kind!r}")
    rows: list[PublicSignature] = []
    for kind in filters.kinds:
        # One extra row tells whether another page follows, without a COUNT.
        query = _public_rows(letter, kind, with_sort_key=sort == Sort.NAME).limit(limit + 1)
        query = _ordered(_narrowed(query, filters), sort, after)
        rows.extend(PublicSignature(*row) for row in session.execute(query))
    if len(filters.kinds) > 1:
        # Python compares strings by code point, as SQLite's BINARY collation does.
        rows.sort(key=_merge_key(sort), reverse=sort == Sort.NEWEST)
    items = rows[:limit]
    next_cursor = _position(items[-1], sort) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def find_counts(session: DbSession, letter: Letter, filters: ListFilters) -> Counts:
    """How many published organizations and individuals match ``filters``."""
    kinds = filters.kinds
    if not kinds:
        return Counts(organizations=0, individuals=0)
    query = select(Signature.kind, func.count()).where(
        Signature.letter_id == letter.id,
        Signature.status == SignatureStatus.PUBLISHED,
        Signature.kind.in_(kinds),
    )
    rows = session.execute(_narrowed(query, filters).group_by(Signature.kind)).all()
    by_kind = {kind: count for kind, count in rows}
    return Counts(
        organizations=by_kind.get(SignatureKind.ORGANIZATION, 0),
        individuals=by_kind.get(SignatureKind.INDIVIDUAL, 0),
    )


@dataclass(frozen=True)
class Latest:
    """The newest published signatures: both sections mixed, and organizations alone."""

    signatures: list[PublicSignature]
    organizations: list[PublicSignature]


def latest_public(session: DbSession, letter: Letter, *, limit: int = 10) -> Latest:
    """The ``limit`` newest published signatures, and the ``limit`` newest organizations.

    One read per section, backwards along ix_signature_public; the organizations' read
    serves both answers.
    """
    newest: dict[str, list[PublicSignature]] = {}
    for kind in PUBLIC_KINDS:
        query = (
            _public_rows(letter, kind)
            .order_by(Signature.published_at.desc(), Signature.id.desc())
            .limit(limit)
        )
        newest[kind] = [PublicSignature(*row) for row in session.execute(query)]
    mixed = sorted(
        newest[SignatureKind.ORGANIZATION] + newest[SignatureKind.INDIVIDUAL],
        key=lambda row: (row.published_at, row.id),
        reverse=True,
    )
    return Latest(signatures=mixed[:limit], organizations=newest[SignatureKind.ORGANIZATION])


def published_per_day(session: DbSession, letter: Letter) -> list[tuple[date, int]]:
    """Signatures published on each UTC day that had any, oldest first.

    Read from ix_signature_public alone (the kind, status and time are all in it).
    """
    day = func.date(Signature.published_at)
    rows = session.execute(
        select(day, func.count())
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind.in_(PUBLIC_KINDS),
            Signature.published_at.is_not(None),
        )
        .group_by(day)
        .order_by(day)
    ).all()
    # SQLite answers text, PostgreSQL a date.
    return [
        (value if isinstance(value, date) else date.fromisoformat(value), count)
        for value, count in rows
    ]


# --- Reads for the JSON API ---------------------------------------------------------------


def published_organization_types(session: DbSession, letter: Letter) -> dict[str, int]:
    """Published organization signatures per organization type (individuals have none)."""
    rows = session.execute(
        select(Signature.organization_type, func.count())
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind == SignatureKind.ORGANIZATION,
            Signature.organization_type.is_not(None),
        )
        .group_by(Signature.organization_type)
    ).all()
    # Rows without a type were filtered out above.
    return {str(organization_type): count for organization_type, count in rows}
