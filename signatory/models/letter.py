"""A letter and its text: the letter, its numbered versions, and their translations.

The letter's status changes only through ``models.status.change_letter_status``.
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
