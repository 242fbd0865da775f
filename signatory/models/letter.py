"""A letter and its text: the letter, its numbered versions, and their translations.

The letter's status changes only through ``models.status.change_letter_status``.

How many signatures each letter has (``SignatureTally``) is kept by the database; a
delivery (``Delivery``) is the list as it was handed over to the letter's recipient.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    ForeignKey,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    UniqueConstraint,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import LANGUAGE_TAG_MAX

if TYPE_CHECKING:
    from signatory.models.team import Coordinator


class LetterStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    DELIVERED = "delivered"


class Moderation(StrEnum):
    NONE = "none"
    # Only organization signatures whose email domain does not match their website.
    MISMATCH = "mismatch"
    ALL = "all"


class DisposableEmail(StrEnum):
    """What a letter does with an address at a disposable-mail provider."""

    REFUSE = "refuse"
    REVIEW = "review"


class Letter(Model):
    __tablename__ = "letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=LetterStatus.DRAFT)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    allow_individuals: Mapped[bool] = mapped_column(Boolean, default=True)
    moderation: Mapped[str] = mapped_column(String(16), default=Moderation.NONE)
    require_domain_match: Mapped[bool] = mapped_column(Boolean, default=False)
    disposable_email: Mapped[str] = mapped_column(
        String(16), default=DisposableEmail.REFUSE, server_default=DisposableEmail.REFUSE.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The signature goal (migration 0017): the number of published signatures the letter
    # aims for, shown as a progress bar, or None. The milestones are what the coordinators
    # asked to be emailed at, as they typed them ("100, 50%, 1000": counts, or shares of
    # the goal), the goal itself always being one; ``goal_milestone_reached`` is the
    # highest count already announced (or already passed when the milestones were set).
    goal: Mapped[int | None] = mapped_column(Integer)
    goal_milestones: Mapped[str | None] = mapped_column(String(200))
    goal_milestone_reached: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Whom the letter accepts signatures from (migration 0021; ``invites``): "anyone",
    # "invited" (``models.invitation.SigningInvitation``) or "domains", the allowed ones
    # listed in ``allowed_domains`` as ``invites.policy`` stores them ("un.org, *.gov.uk").
    signing_policy: Mapped[str] = mapped_column(
        String(16), default="anyone", server_default="anyone"
    )
    allowed_domains: Mapped[str | None] = mapped_column(String(500))
    # The re-confirmation policy (``reconfirm``; migration 0022): signatures told of a
    # substantive change that neither re-confirm nor withdraw within this many days (1 to
    # 365) leave the list until they re-confirm; None (the default) hides nobody.
    reconfirm_days: Mapped[int | None] = mapped_column(Integer)
    # Whether the sign form asks "why we signed" (``organizations.statements``; 0024).
    statements_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Moved on whenever the public list changes (migration 0011's triggers on signature):
    # the live endpoint's ETag, so a poll that finds nothing new costs one indexed read.
    list_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    list_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Moved on by the database (migration 0014's triggers) whenever the letter, a version,
    # a translation or its delivery changes: with ``list_revision`` it names one state of
    # everything its public pages show (``signatory.caching``).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Nearly every page shows the current version, so the versions come with the letter
    # (one query for all the letters a page reads).
    versions: Mapped[list[LetterVersion]] = relationship(
        back_populates="letter", order_by="LetterVersion.number", lazy="selectin"
    )

    def accepts_signatures(self, now: datetime) -> bool:
        """Open, and before its deadline: a deadline closes signing with no scheduler."""
        return accepting(self.status, self.deadline, now)

    @property
    def current_version(self) -> LetterVersion:
        return self.versions[-1]

    def milestone_counts(self) -> list[int]:
        """The counts the coordinators are emailed at, ascending: the goal and the milestones."""
        return milestone_counts(self.goal, self.goal_milestones)


def milestone_counts(goal: int | None, milestones: str | None) -> list[int]:
    """The counts named by a goal and milestones as ``letters.settings`` stores them.

    Milestones are "1000" (a count) or "50%" (a share of the goal, rounded up; nothing
    without a goal), separated by commas; the goal itself is always one. What the settings
    refused never reaches here, so what is not understood is skipped, not raised.
    """
    counts = {goal} if goal else set()
    for part in (milestones or "").split(","):
        part = part.strip()
        if part.endswith("%") and part[:-1].isdigit():
            if goal:
                counts.add(-(-goal * int(part[:-1]) // 100))
        elif part.isdigit():
            counts.add(int(part))
    return sorted(count for count in counts if count > 0)


def accepting(status: str, deadline: datetime | None, now: datetime) -> bool:
    """Whether a letter in ``status`` with ``deadline`` takes signatures at ``now``.

    ``accepting_clause`` says the same in SQL; a test holds the two together.
    """
    return status == LetterStatus.OPEN and (deadline is None or now < deadline)


def accepting_clause(letter_id: Any, now: Any) -> ColumnElement[bool]:
    """SQL that is true while the letter ``letter_id`` takes signatures at ``now``.

    Each a value or a bound parameter: signing's insert is conditional on it.
    """
    return exists().where(
        Letter.id == letter_id,
        Letter.status == LetterStatus.OPEN,
        or_(Letter.deadline.is_(None), Letter.deadline > now),
    )


def _inherited_language(context: Any) -> str:
    """The language of the letter's latest version before this one, "en" for the first."""
    row = context.get_current_parameters()
    table = LetterVersion.__table__
    earlier = context.connection.scalar(
        select(table.c.language)
        .where(table.c.letter_id == row["letter_id"], table.c.number < row["number"])
        .order_by(table.c.number.desc())
        .limit(1)
    )
    return earlier or "en"


def _own_language(context: Any) -> str:
    # A new version has no translations yet: its own text is the authoritative one.
    return context.get_current_parameters().get("language") or _inherited_language(context)


class LetterVersion(Model):
    __tablename__ = "letter_version"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # initial | correction | substantive
    kind: Mapped[str] = mapped_column(String(16), default="initial")
    change_note: Mapped[str] = mapped_column(String(500), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When earlier signatories were told of this (substantive) change, if they were.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language of the version's own text (a BCP 47 tag such as "en" or "pt-BR"); a new
    # version is written in the language of the one before unless told otherwise.
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_TAG_MAX), default=_inherited_language, server_default="en"
    )
    # Which text is authoritative: the version's own language or one of its translations'.
    authoritative_language: Mapped[str] = mapped_column(
        String(LANGUAGE_TAG_MAX), default=_own_language, server_default="en"
    )

    letter: Mapped[Letter] = relationship(back_populates="versions", lazy="raise_on_sql")
    author: Mapped[Coordinator | None] = relationship(lazy="raise_on_sql")
    translations: Mapped[list[LetterTranslation]] = relationship(
        back_populates="version",
        order_by="LetterTranslation.language",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )


class LetterTranslation(Model):
    """A version's text in another language, added by an editor.

    It belongs to one version: a new version starts with none. ``source_sha256`` is the
    digest of the version's own text the translation was written (or last saved) against,
    so a translation copied from an earlier version, or left behind by a draft corrected
    in place, shows as needing review instead of passing for a match.
    """

    __tablename__ = "letter_translation"
    __table_args__ = (UniqueConstraint("version_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("letter_version.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(LANGUAGE_TAG_MAX))
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[LetterVersion] = relationship(
        back_populates="translations", lazy="raise_on_sql"
    )
    author: Mapped[Coordinator | None] = relationship(lazy="raise_on_sql")


def current_version_query(letter_id: Any) -> Select[int]:
    """The id of the letter's current version (``letter_id`` a value or a bound parameter)."""
    return (
        select(LetterVersion.id)
        .where(LetterVersion.letter_id == letter_id)
        .order_by(LetterVersion.number.desc())
        .limit(1)
    )


# --------------------------------------------------------------------------------------
# How many signatures each letter has, by status, kind and country: kept by the database.
#
# Triggers on ``signature`` (migration 0011, on SQLite and PostgreSQL alike) add one to the
# row of a signature's new (status, kind, country) and take one from its old, in the same
# transaction as the change, whoever makes it: the ORM, a bulk UPDATE, a purge, a migration.
# They also move ``Letter.list_revision`` on whenever the published list changes. So a count
# or a live poll reads a few rows of this table or the letter's row, however many signatures
# the letter has, and every web node reads the same numbers.


class SignatureTally(Model):
    __tablename__ = "signature_tally"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letter.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    signatures: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------------------
# A delivery: the list as it was handed over to the letter's recipient.


class Delivery(Model):
    """The list as handed over: frozen bytes, counts and their SHA-256, never rewritten."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    delivered_to: Mapped[str] = mapped_column(String(300))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    csv_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    organizations: Mapped[int] = mapped_column(Integer)
    individuals: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")
