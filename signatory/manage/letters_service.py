"""Drafting a letter, its settings and status, its versions, and telling signatories of a change.

The rule this module keeps: a text someone signed is never rewritten. While a letter is
a draft that nobody has signed, its first version may be edited in place; from the
moment it is public or has any signature, a change of wording publishes a new
``LetterVersion`` with a kind (a *correction* of typos or formatting, or a *substantive*
change) and a note saying what changed. Every signature keeps the version it was signed
against, and after a substantive change the coordinators can email earlier signatories
the difference, with their own withdrawal link.

Services take the session and explicit arguments, add and flush, and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext, ngettext
from markupsafe import Markup
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signatory import diff, letters
from signatory.core.errors import DomainError, InvalidArgument
from signatory.core.i18n import long_datetime
from signatory.core.reference import N_
from signatory.core.text import render_markdown
from signatory.mail.outbox import enqueue
from signatory.models import (
    Coordinator,
    DeadlinePassed,
    IllegalTransition,
    Letter,
    LetterStatus,
    LetterVersion,
    Moderation,
    Signature,
    SignatureStatus,
    audit,
)

CORRECTION = "correction"
SUBSTANTIVE = "substantive"
VERSION_KINDS = (CORRECTION, SUBSTANTIVE)
CHANGE_NOTE_MAX = 500
# Who hears of a substantive change: signatures that stand (or may soon stand) on the
# public list. Unconfirmed ones never confirmed anything; withdrawn and rejected ones are
# no longer on the letter.
NOTIFIED_STATUSES = (SignatureStatus.PUBLISHED, SignatureStatus.PENDING_REVIEW)


class LetterError(DomainError):
    """A change to a letter that cannot be made; ``field`` names the form field it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LetterDelivered(LetterError):
    """A delivered letter is frozen: no edit, no reopening."""


class TextChangedMeanwhile(LetterError):
    """Another coordinator published a version after this editor opened the text."""


class VersionNotFound(LetterError):
    pass


class AlreadyNotified(LetterError):
    pass


def _refuse_if_delivered(letter: Letter, what: str) -> None:
    if letter.status == LetterStatus.DELIVERED:
        raise LetterDelivered(
            gettext(
                "This letter was delivered to its recipient, so its settings can no longer "
                "change. The delivered list and text stay exactly as they were handed over."
            )
            if what == "its settings"
            else gettext(
                "This letter was delivered to its recipient, so its text can no longer "
                "change. The delivered list and text stay exactly as they were handed over."
            )
        )


# --- Drafting ----------------------------------------------------------------------------


def create_draft(
    session: Session,
    *,
    slug: str,
    title: str,
    recipient: str,
    body_markdown: str,
    owner: Coordinator,
    now: datetime,
) -> Letter:
    """A new draft with its first version; ``owner`` becomes its owner. Audited by create_letter."""
    slug = slug.strip()
    if session.scalar(select(Letter.id).where(Letter.slug == slug)) is not None:
        raise LetterError(
            gettext("Another letter already uses this address. Choose a different one."),
            field="slug",
        )
    try:
        return letters.create_letter(
            session,
            slug=slug,
            title=title,
            recipient=recipient,
            body_markdown=diff.normalise(body_markdown),
            now=now,
            owner=owner,
            actor_label="coordinator",
        )
    except InvalidArgument as error:
        # The form checks these first; this only says what the service found if it did not.
        message = str(error)
        field = next((f for f in ("slug", "title", "recipient", "body") if f in message), None)
        raise LetterError(message[:1].upper() + message[1:] + ".", field=field) from None


def has_signatures(session: Session, letter: Letter) -> bool:
    """Whether anyone has signed, in any status (purged signatures are gone entirely)."""
    return (
        session.scalar(select(Signature.id).where(Signature.letter_id == letter.id).limit(1))
        is not None
    )


def edits_in_place(session: Session, letter: Letter) -> bool:
    """True while the text may still be edited without a new version: an unsigned draft."""
    return letter.status == LetterStatus.DRAFT and not has_signatures(session, letter)


@dataclass(frozen=True)
class TextChange:
    version: LetterVersion
    # False when an unsigned draft's version was edited in place.
    new_version: bool


def _checked_body(body_markdown: str) -> str:
    body = diff.normalise(body_markdown)
    if not body.strip():
        raise LetterError(gettext("Write the text of the letter."), field="body")
    if len(body) > letters.BODY_MAX:
        raise LetterError(
            gettext(
                "The text is longer than %(max)s characters. Shorten it.",
                max=f"{letters.BODY_MAX:,}",
            ),
            field="body",
        )
    return body


def change_text(
    session: Session,
    letter: Letter,
    *,
    body_markdown: str,
    kind: str | None,
    change_note: str | None,
    author: Coordinator,
    now: datetime,
    based_on: int | None = None,
) -> TextChange | None:
    """Save a new text: in place for an unsigned draft, otherwise as a new version.

    ``based_on`` is the version number the editor started from; if another version was
    published since, the save is refused rather than silently replacing that one.
    Returns None when the text is unchanged (nothing is written).
    """
    _refuse_if_delivered(letter, "its text")
    current = letter.current_version
    if based_on is not None and based_on != current.number:
        raise TextChangedMeanwhile(
            gettext(
                "Someone published version %(current)s while you were editing version "
                "%(based_on)s. Your text is still in the box: compare it with the current text "
                "on the versions page, then save again.",
                current=current.number,
                based_on=based_on,
            ),
            field="body",
        )
    body = _checked_body(body_markdown)
    if body == diff.normalise(current.body_markdown):
        return None
    if not edits_in_place(session, letter):
        version = publish_version(
            session,
            letter,
            body_markdown=body,
            kind=kind or "",
            change_note=change_note or "",
            author=author,
            now=now,
        )
        return TextChange(version, new_version=True)
    # Nobody has read this as a public letter or signed it yet: correcting the draft
    # itself keeps version 1 the text people will first see.
    current.body_markdown = body
    current.body_html = render_markdown(body)
    audit.record(
        session,
        "letter.text_changed",
        actor_label="coordinator",
        actor_id=author.id,
        letter_id=letter.id,
        detail={"version": current.number, "kind": current.kind, "in_place": True},
        now=now,
    )
    return TextChange(current, new_version=False)


def publish_version(
    session: Session,
    letter: Letter,
    *,
    body_markdown: str,
    kind: str,
    change_note: str,
    author: Coordinator | None,
    now: datetime,
    actor_label: str = "coordinator",
) -> LetterVersion:
    """Publish the next version of the letter's text; earlier versions stay as they are.

    ``kind`` is ``correction`` or ``substantive`` and ``change_note`` says what changed;
    both are required. Signatures keep the version they were signed against.
    """
    _refuse_if_delivered(letter, "its text")
    if kind not in VERSION_KINDS:
        raise LetterError(
            gettext(
                "Say what kind of change this is: a correction (typos, formatting) or a "
                "substantive change to what the letter says."
            ),
            field="kind",
        )
    note = " ".join(change_note.split())
    if not note:
        raise LetterError(
            gettext("Write a short note saying what changed; signatories and the public read it."),
            field="change_note",
        )
    if len(note) > CHANGE_NOTE_MAX:
        raise LetterError(
            gettext("The change note is longer than %(max)s characters.", max=CHANGE_NOTE_MAX),
            field="change_note",
        )
    body = _checked_body(body_markdown)
    current = letter.current_version
    if body == diff.normalise(current.body_markdown):
        raise LetterError(
            gettext(
                "The text is the same as version %(number)s: there is nothing to publish.",
                number=current.number,
            ),
            field="body",
        )
    version = LetterVersion(
        letter=letter,
        number=current.number + 1,
        kind=kind,
        change_note=note,
        body_markdown=body,
        body_html=render_markdown(body),
        author_id=author.id if author else None,
        created_at=now,
    )
    session.add(version)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # (letter, number) is unique: another editor published this number first.
        session.expire(letter, ["versions"])
        raise TextChangedMeanwhile(
            gettext(
                "Someone else published a new version at the same moment. Reload the page, "
                "compare, and save again."
            ),
            field="body",
        ) from None
    audit.record(
        session,
        "letter.text_changed",
        actor_label=actor_label,
        actor_id=author.id if author else None,
        letter_id=letter.id,
        detail={"version": version.number, "kind": kind, "change_note": note},
        now=now,
    )
    return version


# --- Settings and status -----------------------------------------------------------------


@dataclass(frozen=True)
class LetterSettings:
    title: str
    recipient: str
    deadline: datetime | None
    allow_individuals: bool
    moderation: str
    require_domain_match: bool


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def update_settings(
    session: Session,
    letter: Letter,
    settings: LetterSettings,
    *,
    actor: Coordinator,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Change title, recipient, deadline and policies; return what changed (audited).

    A new deadline must be in the future: one in the past would close signing the
    moment it is saved, which is what "close" is for. An old deadline left as it is
    does not stop other settings from being saved.
    """
    _refuse_if_delivered(letter, "its settings")
    title, recipient = settings.title.strip(), settings.recipient.strip()
    if not title or len(title) > letters.TITLE_MAX:
        raise LetterError(
            gettext("Give a title of 1 to %(max)s characters.", max=letters.TITLE_MAX),
            field="title",
        )
    if not recipient or len(recipient) > letters.RECIPIENT_MAX:
        raise LetterError(
            gettext("Name the recipient in 1 to %(max)s characters.", max=letters.RECIPIENT_MAX),
            field="recipient",
        )
    if settings.moderation not in set(Moderation):
        raise LetterError(gettext("Choose one of the moderation options."), field="moderation")
    deadline = settings.deadline
    if deadline is not None and deadline.tzinfo is None:
        raise ValueError("the deadline must be timezone-aware (UTC)")
    if (
        deadline is not None
        and letter.deadline is not None
        and deadline == letter.deadline.replace(second=0, microsecond=0)
    ):
        # The form shows minutes: a field left as it was keeps the stored deadline exactly.
        deadline = letter.deadline
    if deadline is not None and deadline != letter.deadline and deadline <= now:
        raise LetterError(
            gettext(
                "That deadline has already passed (it is now %(now)s UTC). "
                "Choose a later time, or close the letter instead.",
                now=f"{now:%Y-%m-%d %H:%M}",
            ),
            field="deadline",
        )
    wanted = {
        "title": title,
        "recipient": recipient,
        "deadline": deadline,
        "allow_individuals": settings.allow_individuals,
        "moderation": settings.moderation,
        "require_domain_match": settings.require_domain_match,
    }
    changes: dict[str, dict[str, Any]] = {}
    for name, value in wanted.items():
        old = getattr(letter, name)
        if old != value:
            changes[name] = {"from": _jsonable(old), "to": _jsonable(value)}
            setattr(letter, name, value)
    if changes:
        audit.record(
            session,
            "letter.settings_changed",
            actor_label="coordinator",
            actor_id=actor.id,
            letter_id=letter.id,
            detail={"changes": changes},
            now=now,
        )
    return changes


STATUS_ACTIONS = ("open", "close", "reopen")

_WRONG_STATUS = {
    "open": N_("Only a draft can be opened; this letter is %(status)s."),
    "close": N_("Only an open letter can be closed; this letter is %(status)s."),
    "reopen": N_("Only a closed letter can be reopened; this letter is %(status)s."),
}
_STATUS_WORDS = {
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "delivered": N_("delivered"),
}


def change_status(
    session: Session, letter: Letter, action: str, *, actor: Coordinator, now: datetime
) -> Letter:
    """Open a draft, close an open letter, or reopen a closed one (audited).

    The letter's status machine decides (``models.status``); this words its refusals for
    the coordinator: a delivered letter stays closed, a passed deadline must move first.
    """
    if action not in STATUS_ACTIONS:
        raise LetterError(f"Unknown action {action!r}.")
    try:
        letters.set_letter_status(
            session, letter, action, now=now, actor_label="coordinator", actor_id=actor.id
        )
    except DeadlinePassed as error:
        raise LetterError(
            gettext(
                "The deadline (%(when)s) has passed, so the letter would take no signatures. "
                "Set a later deadline, or clear it, first.",
                when=long_datetime(error.deadline),
            ),
            field="deadline",
        ) from None
    except IllegalTransition as error:
        if error.current == LetterStatus.DELIVERED:
            raise LetterDelivered(
                gettext(
                    "This letter was delivered to its recipient; signing stays closed for good."
                )
            ) from None
        status = _STATUS_WORDS.get(error.current)
        raise LetterError(
            gettext(_WRONG_STATUS[action], status=gettext(status) if status else error.current)
        ) from None
    return letter


# --- Versions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionSummary:
    version: LetterVersion
    # Signatures signed against this version, by status.
    counts: dict[str, int]
    # Live signatures signed against an earlier version: whom a notice of this one reaches.
    earlier_signatories: int

    @property
    def published(self) -> int:
        return self.counts.get(SignatureStatus.PUBLISHED, 0)

    @property
    def pending_review(self) -> int:
        return self.counts.get(SignatureStatus.PENDING_REVIEW, 0)

    @property
    def can_notify(self) -> bool:
        return (
            self.version.kind == SUBSTANTIVE
            and self.version.notified_at is None
            and self.earlier_signatories > 0
        )


def version_summaries(session: Session, letter: Letter) -> list[VersionSummary]:
    """Every version of the letter, newest first, with the signatures made against each."""
    rows = session.execute(
        select(Signature.version_id, Signature.status, func.count())
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.version_id, Signature.status)
    ).all()
    by_version: dict[int, dict[str, int]] = {}
    for version_id, status, count in rows:
        by_version.setdefault(version_id, {})[status] = count
    summaries: list[VersionSummary] = []
    live_before = 0
    for version in letter.versions:
        counts = by_version.get(version.id, {})
        summaries.append(VersionSummary(version, counts, live_before))
        live_before += sum(counts.get(status, 0) for status in NOTIFIED_STATUSES)
    return list(reversed(summaries))


def version_by_number(session: Session, letter: Letter, number: int) -> LetterVersion:
    version = session.scalar(
        select(LetterVersion).where(
            LetterVersion.letter_id == letter.id, LetterVersion.number == number
        )
    )
    if version is None:
        latest = letter.current_version.number
        raise VersionNotFound(
            ngettext(
                "This letter has no version %(number)s; it has version 1.",
                "This letter has no version %(number)s; it has versions 1 to %(num)s.",
                latest,
                number=number,
            )
        )
    return version


_VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


def parse_compare(raw_from: str, raw_to: str, *, latest: int) -> tuple[int, int]:
    """Two version numbers as typed in a query string, checked against 1..``latest``."""
    if not raw_from or not raw_to:
        raise LetterError(gettext("Say which two versions to compare, for example ?from=1&to=2."))
    if not _VERSION_NUMBER.fullmatch(raw_from) or not _VERSION_NUMBER.fullmatch(raw_to):
        raise LetterError(gettext("Versions are given by their number, for example ?from=1&to=2."))
    numbers = int(raw_from), int(raw_to)
    for number in numbers:
        if not 1 <= number <= latest:
            raise LetterError(
                ngettext(
                    "This letter has only version 1; there is no version %(number)s.",
                    "This letter has versions 1 to %(num)s; there is no version %(number)s.",
                    latest,
                    number=number,
                )
            )
    return numbers


@dataclass(frozen=True)
class Comparison:
    old: LetterVersion
    new: LetterVersion
    diff: diff.TextDiff
    # The versions that lead from ``old`` to ``new``, with their kinds and notes.
    steps: list[LetterVersion]

    @property
    def html(self) -> Markup:
        """The whole text, changes marked with ``<ins>``/``<del>``; every word escaped."""
        return diff.to_html(self.diff)


def compare_versions(
    session: Session, letter: Letter, from_number: int, to_number: int
) -> Comparison:
    """The difference between two versions of the letter's text, older one first."""
    old = version_by_number(session, letter, from_number)
    new = version_by_number(session, letter, to_number)
    low, high = sorted((old.number, new.number))
    steps = [v for v in letter.versions if low < v.number <= high]
    return Comparison(old, new, diff.compare(old.body_markdown, new.body_markdown), steps)


def earlier_signatures(session: Session, letter: Letter, version: LetterVersion) -> list[Signature]:
    """Live signatures made against a version before ``version``."""
    earlier = select(LetterVersion.id).where(
        LetterVersion.letter_id == letter.id, LetterVersion.number < version.number
    )
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.status.in_(NOTIFIED_STATUSES),
                Signature.version_id.in_(earlier),
            )
            .order_by(Signature.id)
        )
    )


def notify_signatories(
    session: Session, letter: Letter, number: int, *, actor: Coordinator, now: datetime
) -> int:
    """Email every earlier signatory the change made by substantive version ``number``.

    One ``version_changed`` email per live signature signed against an earlier version,
    through the outbox, each with the difference from the version that person signed and
    their own withdrawal link. Once per version. Returns how many emails were queued.
    Nobody's signature moves: it stays on the version it was signed against.
    """
    version = version_by_number(session, letter, number)
    if version.kind != SUBSTANTIVE:
        raise LetterError(
            gettext(
                "Version %(number)s is a correction; signatories are told of substantive "
                "changes only.",
                number=number,
            )
            if version.kind == "correction"
            else gettext(
                "Version %(number)s is the first text; signatories are told of substantive "
                "changes only.",
                number=number,
            )
        )
    if version.notified_at is not None:
        raise AlreadyNotified(
            gettext(
                "Signatories were already told of version %(number)s on %(when)s.",
                number=number,
                when=long_datetime(version.notified_at),
            )
        )
    recipients = earlier_signatures(session, letter, version)
    if not recipients:
        raise LetterError(
            gettext(
                "Nobody to tell: every signature that stands was made on version %(number)s "
                "or later.",
                number=number,
            )
        )
    # Claimed with a conditional UPDATE, so two coordinators pressing the button at the
    # same moment send one round of emails, not two.
    claimed = session.execute(
        update(LetterVersion)
        .where(LetterVersion.id == version.id, LetterVersion.notified_at.is_(None))
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyNotified(f"Signatories were already told of version {number}.")
    session.refresh(version, ["notified_at"])
    for signature in recipients:
        enqueue(
            session,
            template="version_changed",
            to=signature.email,
            context={"signature_id": signature.id, "version_id": version.id},
            letter_id=letter.id,
            signature_id=signature.id,
            now=now,
        )
    audit.record(
        session,
        "letter.signatories_notified",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"version": number, "count": len(recipients)},
        now=now,
    )
    return len(recipients)
