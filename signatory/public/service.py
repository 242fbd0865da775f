"""Read-only queries behind the public pages, the exports and the API."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from ..errors import InvalidArgument
from ..models import (
    Letter,
    LetterStatus,
    LetterVersion,
    Signature,
    SignatureKind,
    SignatureStatus,
)


@dataclass(frozen=True)
class Counts:
    organizations: int
    individuals: int

    @property
    def total(self) -> int:
        return self.organizations + self.individuals


def published_counts(session: Session, letter: Letter, *, country: str | None = None) -> Counts:
    """Published organizations and individuals, from one country (alpha-2) when given."""
    query = select(Signature.kind, func.count()).where(
        Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED
    )
    if country is not None:
        query = query.where(Signature.country == country)
    rows = session.execute(query.group_by(Signature.kind)).all()
    by_kind = {kind: count for kind, count in rows}
    return Counts(
        organizations=by_kind.get(SignatureKind.ORGANIZATION, 0),
        individuals=by_kind.get(SignatureKind.INDIVIDUAL, 0),
    )


def latest_published(session: Session, letter: Letter, limit: int = 10) -> list[Signature]:
    """The ``limit`` most recently published signatures, organizations and individuals mixed.

    One query per kind, each reading ix_signature_public backwards from its end, then a
    merge: a single query without the kind would read and sort every published row.
    """
    newest: list[Signature] = []
    for kind in (SignatureKind.ORGANIZATION, SignatureKind.INDIVIDUAL):
        newest.extend(
            session.scalars(
                select(Signature)
                .where(
                    Signature.letter_id == letter.id,
                    Signature.status == SignatureStatus.PUBLISHED,
                    Signature.kind == kind,
                )
                .order_by(Signature.published_at.desc(), Signature.id.desc())
                .limit(limit)
            )
        )
    newest.sort(key=lambda s: (s.published_at, s.id), reverse=True)
    return newest[:limit]


def letter_by_slug(session: Session, slug: str) -> Letter | None:
    """A letter the public may see: anything but a draft."""
    return session.scalar(
        select(Letter).where(Letter.slug == slug, Letter.status != LetterStatus.DRAFT)
    )


def listed_letters(session: Session) -> list[Letter]:
    """Letters on the home page: open ones first, then closed and delivered, newest first."""
    return list(
        session.scalars(
            select(Letter)
            .where(Letter.status != LetterStatus.DRAFT)
            .order_by((Letter.status == LetterStatus.OPEN).desc(), Letter.created_at.desc())
        )
    )


# --- The public list, page by page -------------------------------------------------------
#
# Pages are keyset-paginated on (published_at, id): a page starts strictly after the last
# row of the previous one, so the database seeks in the ``ix_signature_public`` index
# instead of counting past an OFFSET, and page 1,000 costs what page 1 costs. A signature
# published while someone pages is neither shown twice nor skipped.

PUBLIC_KINDS = (SignatureKind.ORGANIZATION, SignatureKind.INDIVIDUAL)


class InvalidCursor(InvalidArgument):
    """A cursor that this module did not make (truncated, edited or from elsewhere)."""


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the last row already seen."""

    published_at: datetime
    id: int


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
    published_at: datetime
    version: int

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.published_at, self.id)


@dataclass(frozen=True)
class Page:
    items: list[PublicSignature]
    # Where the next page starts, already encoded; None on the last page.
    next_cursor: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR_PAYLOAD = re.compile(r"([0-9]{1,17})\.([0-9]{1,18})")


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe token for ``cursor``.

    It only carries a position (a publication time and a row id, both public facts), so
    it is encoded, not signed: a forged one can do no more than start the list elsewhere.
    """
    micros = (cursor.published_at - _EPOCH) // timedelta(microseconds=1)
    payload = f"{micros}.{cursor.id}".encode("ascii")
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def decode_cursor(token: str) -> Cursor:
    """The position in ``token``, or ``InvalidCursor`` for anything ``encode_cursor`` never made."""
    if not _CURSOR_TEXT.fullmatch(token):
        raise InvalidCursor("not a cursor")
    try:
        payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("not a cursor") from error
    match = _CURSOR_PAYLOAD.fullmatch(payload)
    if match is None:
        raise InvalidCursor("not a cursor")
    try:
        published_at = _EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError as error:
        raise InvalidCursor("cursor out of range") from error
    row_id = int(match.group(2))
    if published_at.year > 9999 or row_id > 2**63 - 1:
        raise InvalidCursor("cursor out of range")
    return Cursor(published_at, row_id)


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
    Signature.published_at,
    LetterVersion.number,
)


def _kind_page(
    session: Session,
    letter: Letter,
    kind: str,
    country: str | None,
    after: Cursor | None,
    limit: int,
) -> list[PublicSignature]:
    # Equality on (letter_id, status, kind) then a range on (published_at, id) is exactly
    # the shape of ix_signature_public, so this is an index seek plus ``limit`` steps.
    query = (
        select(*_PUBLIC_COLUMNS)
        .join(LetterVersion, LetterVersion.id == Signature.version_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PUBLISHED,
            Signature.kind == kind,
            # Publishing always stamps published_at; a NULL would not sort into the keyset.
            Signature.published_at.is_not(None),
        )
        .order_by(Signature.published_at, Signature.id)
        .limit(limit)
    )
    if country is not None:
        query = query.where(Signature.country == country)
    if after is not None:
        # A plain tuple on the right takes the columns' types, so the time is bound as
        # naive UTC like the stored values rather than as a zone-aware literal.
        query = query.where(
            tuple_(Signature.published_at, Signature.id) > (after.published_at, after.id)
        )
    return [PublicSignature(*row) for row in session.execute(query)]


def published_page(
    session: Session,
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
    if limit < 1:
        raise InvalidArgument("limit must be at least 1")
    if kind is not None and kind not in PUBLIC_KINDS:
        raise InvalidArgument(f"unknown kind {kind!r}")
    kinds = (kind,) if kind is not None else PUBLIC_KINDS
    # One extra row tells whether another page follows, without a COUNT.
    rows: list[PublicSignature] = []
    for each in kinds:
        rows.extend(_kind_page(session, letter, each, country, after, limit + 1))
    rows.sort(key=lambda row: (row.published_at, row.id))
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].cursor) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)


def iter_published(
    session: Session,
    letter: Letter,
    *,
    kind: str | None = None,
    country: str | None = None,
    batch_size: int = 1000,
) -> Iterator[list[PublicSignature]]:
    """Every published signature in batches of ``batch_size``, for exports that stream.

    Rows are plain values, not ORM objects, so the session's identity map does not grow
    with the letter: memory stays flat however many have signed.
    """
    after: Cursor | None = None
    while True:
        page = published_page(
            session, letter, kind=kind, country=country, after=after, limit=batch_size
        )
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        after = page.items[-1].cursor


def published_countries(session: Session, letter: Letter) -> dict[str, int]:
    """Published signatures per country (alpha-2), for the country filter.

    Grouping by country alone is answered from ix_signature_country_kind without reading the
    table; adding the kind would read every row of the letter.
    """
    rows = session.execute(
        select(Signature.country, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED)
        .group_by(Signature.country)
    ).all()
    return {country: count for country, count in rows}
