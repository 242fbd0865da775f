"""Read-only queries behind the public pages, the exports and the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Letter, LetterStatus, Signature, SignatureKind, SignatureStatus


@dataclass(frozen=True)
class Counts:
    organizations: int
    individuals: int

    @property
    def total(self) -> int:
        return self.organizations + self.individuals


def published_counts(session: Session, letter: Letter) -> Counts:
    rows = session.execute(
        select(Signature.kind, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED)
        .group_by(Signature.kind)
    ).all()
    by_kind = {kind: count for kind, count in rows}
    return Counts(
        organizations=by_kind.get(SignatureKind.ORGANIZATION, 0),
        individuals=by_kind.get(SignatureKind.INDIVIDUAL, 0),
    )


def latest_published(session: Session, letter: Letter, limit: int = 10) -> list[Signature]:
    return list(
        session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED)
            .order_by(Signature.published_at.desc(), Signature.id.desc())
            .limit(limit)
        )
    )


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
