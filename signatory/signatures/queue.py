"""The moderation queue and the workspace's list of signatures, a page at a time.

Both are keyset-paginated, newest first, on (created_at, id), like the public list: a page
starts strictly after the last row of the previous one. The cursor codec is the public
list's; its "published_at" slot carries the signing time here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from signatory.core.database import MAX_ROW_ID, DbSession
from signatory.core.domains import email_domain, is_free_mail
from signatory.core.text import comparison_key
from signatory.lists.cursors import Cursor, decode_cursor, encode_cursor
from signatory.models import (
    AuditEvent,
    Coordinator,
    Letter,
    Signature,
    SignatureKind,
    SignatureStatus,
)
from signatory.signatures.similar import NameIndex, SimilarName, name_index

# Each status as the workspace names it (a lazy translation: read in each request's language).
STATUS_LABELS = {
    SignatureStatus.PENDING_REVIEW.value: _l("Awaiting review"),
    SignatureStatus.PUBLISHED.value: _l("Published"),
    SignatureStatus.UNCONFIRMED.value: _l("Unconfirmed"),
    SignatureStatus.REJECTED.value: _l("Rejected"),
    SignatureStatus.WITHDRAWN.value: _l("Withdrawn"),
    # Off the list for not being re-confirmed in time after a change (``reconfirm``).
    SignatureStatus.LAPSED.value: _l("Not re-confirmed (hidden)"),
}


@dataclass(frozen=True)
class QueueItem:
    """A signature awaiting review, with what a moderator needs to decide."""

    signature: Signature
    email_domain: str
    free_mail: bool
    similar: list[SimilarName]
    more_similar: int


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next page starts, already encoded; None on the last page.
    next_cursor: str | None


def _newest_first(query: Any, after: Cursor | None, limit: int) -> Any:
    query = query.order_by(Signature.created_at.desc(), Signature.id.desc()).limit(limit + 1)
    if after is not None:
        query = query.where(
            tuple_(Signature.created_at, Signature.id) < (after.published_at, after.id)
        )
    return query


def _paged(rows: list[Signature], limit: int) -> tuple[list[Signature], str | None]:
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(Cursor(items[-1].created_at, items[-1].id)) if more else None
    return items, next_cursor


def parse_cursor(token: str) -> Cursor | None:
    """The position in a "next page" link, or ``InvalidCursor``; None for no cursor."""
    return decode_cursor(token) if token else None


def queue_page(
    session: DbSession, letter: Letter, *, after: Cursor | None = None, limit: int = 50
) -> Page[QueueItem]:
    """Signatures awaiting review, newest first, each with its flags and similar names."""
    query = (
        select(Signature)
        .options(joinedload(Signature.version))
        .where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.PENDING_REVIEW,
        )
    )
    rows = list(session.scalars(_newest_first(query, after, limit)))
    signatures, next_cursor = _paged(rows, limit)
    index = name_index(session, letter) if signatures else NameIndex()
    items = []
    for signature in signatures:
        domain = email_domain(signature.email)
        similar: list[SimilarName] = []
        more = 0
        if signature.kind == SignatureKind.ORGANIZATION and signature.organization:
            similar, more = index.similar_to(signature.id, signature.organization)
        items.append(QueueItem(signature, domain, is_free_mail(domain), similar, more))
    return Page(items, next_cursor)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_condition(search: str) -> ColumnElement[bool]:
    lowered = search.lower()
    conditions: list[ColumnElement[bool]] = [
        func.lower(Signature.name).like(_like_pattern(lowered), escape="\\"),
        func.lower(Signature.organization).like(_like_pattern(lowered), escape="\\"),
        Signature.email_key.like(_like_pattern(lowered), escape="\\"),
    ]
    # The stored organization key is folded already, so "cafe" finds "Café Coopérative"
    # and "E.F.F." finds "EFF" whatever the database's idea of lower case.
    key = comparison_key(search)
    if key:
        conditions.append(Signature.organization_key.like(_like_pattern(key), escape="\\"))
    return or_(*conditions)


def signatures_page(
    session: DbSession,
    letter: Letter,
    *,
    status: str | None = None,
    search: str = "",
    after: Cursor | None = None,
    limit: int = 50,
) -> Page[Signature]:
    """Every signature of the letter, newest first, optionally of one status or matching
    ``search`` (in the organization, the signer's name or the email)."""
    query = (
        select(Signature)
        .options(joinedload(Signature.version), joinedload(Signature.moderated_by))
        .where(Signature.letter_id == letter.id)
    )
    if status is not None:
        query = query.where(Signature.status == status)
    search = search.strip()
    if search:
        query = query.where(_search_condition(search))
    rows = list(session.scalars(_newest_first(query, after, limit)).unique())
    items, next_cursor = _paged(rows, limit)
    return Page(items, next_cursor)


def signature_of(session: DbSession, letter: Letter, signature_id: int) -> Signature | None:
    """The signature ``signature_id`` if it belongs to ``letter``; None otherwise."""
    if not 0 < signature_id <= MAX_ROW_ID:
        return None
    return session.scalar(
        select(Signature)
        # The signature's page shows the version signed and the last moderator.
        .options(joinedload(Signature.version), joinedload(Signature.moderated_by))
        .where(Signature.id == signature_id, Signature.letter_id == letter.id)
    )


def signature_history(
    session: DbSession, signature: Signature, *, limit: int = 100
) -> list[tuple[AuditEvent, str | None]]:
    """The signature's audit events, newest first, with the acting coordinator's name."""
    rows = session.execute(
        select(AuditEvent, Coordinator.name)
        .outerjoin(Coordinator, Coordinator.id == AuditEvent.actor_id)
        .where(AuditEvent.signature_id == signature.id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [(event, name) for event, name in rows]
