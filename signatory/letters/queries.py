"""Reading letters: the public ones, a coordinator's, and how many have signed each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import raiseload

from signatory.core.database import DbSession
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    Membership,
    SignatureKind,
    SignatureStatus,
    SignatureTally,
)


def letter_by_slug(session: DbSession, slug: str, *, with_versions: bool = True) -> Letter | None:
    """A letter the public may see: anything but a draft.

    ``with_versions=False`` leaves its versions unread (reading them would raise), for the
    answers that never show the text: the live endpoint, the downloads, the widget, the
    feed. A poll then costs the one indexed read of the letter.
    """
    query = select(Letter).where(Letter.slug == slug, Letter.status != LetterStatus.DRAFT)
    if not with_versions:
        query = query.options(raiseload(Letter.versions, sql_only=True))
    return session.scalar(query)


def listed_letters(session: DbSession) -> list[Letter]:
    """Letters on the home page: open ones first, then closed and delivered, newest first.

    Without their versions (reading them would raise): a list of letters shows no text.
    """
    return list(
        session.scalars(
            select(Letter)
            .options(raiseload(Letter.versions, sql_only=True))
            .where(Letter.status != LetterStatus.DRAFT)
            .order_by((Letter.status == LetterStatus.OPEN).desc(), Letter.created_at.desc())
        )
    )


@dataclass(frozen=True)
class Counts:
    organizations: int
    individuals: int

    @property
    def total(self) -> int:
        return self.organizations + self.individuals


def published_counts(session: DbSession, letter: Letter, *, country: str | None = None) -> Counts:
    """Published organizations and individuals, from one country (alpha-2) when given.

    Read from the counts the database keeps (``SignatureTally``): a few rows, however many
    signatures the letter has.
    """
    query = select(SignatureTally.kind, func.sum(SignatureTally.signatures)).where(
        SignatureTally.letter_id == letter.id, SignatureTally.status == SignatureStatus.PUBLISHED
    )
    if country is not None:
        query = query.where(SignatureTally.country == country)
    rows = session.execute(query.group_by(SignatureTally.kind)).all()
    by_kind = {kind: count for kind, count in rows}
    return Counts(
        organizations=by_kind.get(SignatureKind.ORGANIZATION, 0),
        individuals=by_kind.get(SignatureKind.INDIVIDUAL, 0),
    )


class StatusCounts:
    """Signatures by status (``counts``), read by name in pages."""

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


@dataclass(frozen=True)
class LetterSummary(StatusCounts):
    letter: Letter
    role: str
    counts: dict[str, int]


def status_counts(session: DbSession, letter: Letter) -> dict[str, int]:
    """How many signatures of the letter are in each status."""
    rows = session.execute(
        select(SignatureTally.status, func.sum(SignatureTally.signatures))
        .where(SignatureTally.letter_id == letter.id)
        .group_by(SignatureTally.status)
    ).all()
    return {status: count for status, count in rows if count}


def letters_of(session: DbSession, coordinator: Coordinator) -> list[LetterSummary]:
    """The letters a coordinator is a member of, newest first, with their counts."""
    rows = session.execute(
        select(Letter, Membership.role)
        .join(Membership, Membership.letter_id == Letter.id)
        .where(Membership.coordinator_id == coordinator.id)
        .order_by(Letter.created_at.desc())
    ).all()
    return [LetterSummary(letter, role, status_counts(session, letter)) for letter, role in rows]
