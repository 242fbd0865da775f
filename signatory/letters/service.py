"""Creating a letter and writing its text: drafts, corrections and new versions.

The rule this module keeps: a text someone signed is never rewritten. While a letter is
a draft that nobody has signed, its first version may be edited in place; from the
moment it is public or has any signature, a change of wording publishes a new
``LetterVersion`` with a kind (a *correction* of typos or formatting, or a *substantive*
change) and a note saying what changed. Every signature keeps the version it was signed
against (``signatures.changes`` tells earlier signatories of a substantive change).

Services take the session and explicit arguments, add and flush, and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from signatory.core.database import DbSession, savepoint
from signatory.core.errors import DomainError, InvalidArgument
from signatory.core.text import render_markdown
from signatory.letters import diff
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    LetterVersion,
    Membership,
    MembershipRole,
    Moderation,
    Signature,
    audit,
    change_letter_status,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 80
TITLE_MAX = 200
RECIPIENT_MAX = 300
BODY_MAX = 100_000
CORRECTION = "correction"
SUBSTANTIVE = "substantive"
VERSION_KINDS = (CORRECTION, SUBSTANTIVE)
CHANGE_NOTE_MAX = 500


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


def refuse_if_delivered(letter: Letter, what: str) -> None:
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


# --- Creating ------------------------------------------------------------------------------


def create_letter(
    session: DbSession,
    *,
    slug: str,
    title: str,
    recipient: str,
    body_markdown: str,
    now: datetime,
    owner: Coordinator | None = None,
    open_now: bool = False,
    moderation: str = Moderation.NONE,
    allow_individuals: bool = True,
    require_domain_match: bool = False,
    actor_label: str = "cli",
) -> Letter:
    """A letter with its first version; a draft unless ``open_now``."""
    slug = slug.strip()
    title, recipient = title.strip(), recipient.strip()
    if not SLUG.match(slug) or len(slug) > SLUG_MAX:
        raise InvalidArgument(
            f"slug {slug!r} must be lowercase letters, digits and single hyphens, "
            f"at most {SLUG_MAX} characters"
        )
    for label, value, limit in (
        ("title", title, TITLE_MAX),
        ("recipient", recipient, RECIPIENT_MAX),
        ("body", body_markdown.strip(), BODY_MAX),
    ):
        if not value:
            raise InvalidArgument(f"the {label} is empty")
        if len(value) > limit:
            raise InvalidArgument(f"the {label} is longer than {limit} characters")
    if moderation not in set(Moderation):
        raise InvalidArgument(f"moderation must be one of {', '.join(Moderation)}")
    if session.scalar(select(Letter.id).where(Letter.slug == slug)) is not None:
        raise InvalidArgument(f"a letter with slug {slug!r} already exists")

    letter = Letter(
        slug=slug,
        title=title,
        recipient=recipient,
        status=LetterStatus.DRAFT,
        moderation=moderation,
        allow_individuals=allow_individuals,
        require_domain_match=require_domain_match,
        created_at=now,
    )
    session.add(letter)
    session.add(
        LetterVersion(
            letter=letter,
            number=1,
            kind="initial",
            body_markdown=body_markdown,
            body_html=render_markdown(body_markdown),
            author_id=owner.id if owner else None,
            created_at=now,
        )
    )
    if owner is not None:
        session.add(
            Membership(coordinator=owner, letter=letter, role=MembershipRole.OWNER, created_at=now)
        )
    # The caller rolls back on the error (the slug is unique).
    try:
        session.flush()
    except IntegrityError:
        raise InvalidArgument(f"a letter with slug {slug!r} already exists") from None
    if open_now:
        # Every letter starts as a draft; opening it is the status machine's, as always.
        change_letter_status(session, letter, "open", now=now)
    audit.record(
        session,
        "letter.created",
        actor_label=actor_label,
        actor_id=owner.id if owner else None,
        letter_id=letter.id,
        detail={"slug": slug, "status": str(letter.status)},
        now=now,
    )
    return letter


# --- Drafting ----------------------------------------------------------------------------


def create_draft(
    session: DbSession,
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
        return create_letter(
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


def has_signatures(session: DbSession, letter: Letter) -> bool:
    """Whether anyone has signed, in any status (purged signatures are gone entirely)."""
    return (
        session.scalar(select(Signature.id).where(Signature.letter_id == letter.id).limit(1))
        is not None
    )


def edits_in_place(session: DbSession, letter: Letter) -> bool:
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
    if len(body) > BODY_MAX:
        raise LetterError(
            gettext(
                "The text is longer than %(max)s characters. Shorten it.",
                max=f"{BODY_MAX:,}",
            ),
            field="body",
        )
    return body


def change_text(
    session: DbSession,
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
    refuse_if_delivered(letter, "its text")
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
    session: DbSession,
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
    refuse_if_delivered(letter, "its text")
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
    body_html = render_markdown(body)
    try:
        # Made inside the savepoint: joining ``letter.versions`` before it opened would
        # flush the letter's collection outside it.
        with savepoint(session):
            version = LetterVersion(
                letter=letter,
                number=current.number + 1,
                kind=kind,
                change_note=note,
                body_markdown=body,
                body_html=body_html,
                author_id=author.id if author else None,
                created_at=now,
            )
            session.add(version)
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
