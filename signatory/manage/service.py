"""Read-side queries of the workspace shared by several pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signatory.models import Coordinator, Letter, Membership, Signature, SignatureStatus


@dataclass(frozen=True)
class LetterSummary:
    letter: Letter
    role: str
    counts: dict[str, int]

    @property
    def published(self) -> int:
        return self.counts.get(SignatureStatus.PUBLISHED, 0)

    @property
    def pending_review(self) -> int:
        return self.counts.get(SignatureStatus.PENDING_REVIEW, 0)

    @property
    def unconfirmed(self) -> int:
        return self.counts.get(SignatureStatus.UNCONFIRMED, 0)


def status_counts(session: Session, letter: Letter) -> dict[str, int]:
    """How many signatures of the letter are in each status."""
    rows = session.execute(
        select(Signature.status, func.count())
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.status)
    ).all()
    return {status: count for status, count in rows}


def letters_of(session: Session, coordinator: Coordinator) -> list[LetterSummary]:
    """The letters a coordinator is a member of, newest first, with their counts."""
    rows = session.execute(
        select(Letter, Membership.role)
        .join(Membership, Membership.letter_id == Letter.id)
        .where(Membership.coordinator_id == coordinator.id)
        .order_by(Letter.created_at.desc())
    ).all()
    return [LetterSummary(letter, role, status_counts(session, letter)) for letter, role in rows]
