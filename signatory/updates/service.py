"""Updates to signatories: posting and editing them, the test send, asking for the emailing,
and the counts coordinators see.

An update is public from the moment it is posted. Its text may be edited until its
emailing begins; from then on it is what the signatories were sent, and stays so. The
emailing itself is queued in batches by ``updates.sending``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.core.text import render_markdown
from signatory.mail.outbox import enqueue
from signatory.models import (
    STANDING_STATUSES,
    Coordinator,
    Letter,
    LetterUpdate,
    OutboxMessage,
    OutboxStatus,
    Signature,
    UpdateRecipient,
    audit,
)
from signatory.models.update import UPDATE_BODY_MAX, UPDATE_TITLE_MAX

# What the letter page shows of its updates: the newest few, and a link to all.
ON_LETTER_PAGE = 3
# The update email's template (templates/mail/letter_update.*).
TEMPLATE = "letter_update"


class InvalidUpdate(DomainError):
    """A title or body the update cannot have; ``field`` names which, ``message`` why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AlreadySending(DomainError):
    """The update's emailing has begun: its text is what was sent, and it is sent once."""


@dataclass(frozen=True)
class UpdateText:
    """What a coordinator typed: a title and a Markdown body."""

    title: str
    body: str


def _checked(text: UpdateText) -> UpdateText:
    # The form checks these too; a service called from elsewhere must not store them.
    title, body = text.title.strip(), text.body.strip()
    if not title:
        raise InvalidUpdate("title", "Give the update a title.")
    if len(title) > UPDATE_TITLE_MAX:
        raise InvalidUpdate("title", f"At most {UPDATE_TITLE_MAX:,} characters.")
    if not body:
        raise InvalidUpdate("body", "Write what the update says.")
    if len(body) > UPDATE_BODY_MAX:
        raise InvalidUpdate("body", f"At most {UPDATE_BODY_MAX:,} characters.")
    return UpdateText(title, body)


def post_update(
    session: DbSession, letter: Letter, text: UpdateText, *, actor: Coordinator, now: datetime
) -> LetterUpdate:
    """Post an update on ``letter``: shown at once on its page and in its feed (not emailed)."""
    checked = _checked(text)
    posted = LetterUpdate(
        letter_id=letter.id,
        title=checked.title,
        body_markdown=checked.body,
        body_html=render_markdown(checked.body),
        author_id=actor.id,
        posted_at=now,
    )
    session.add(posted)
    session.flush()
    audit.record(
        session,
        "update.posted",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"update_id": posted.id, "title": posted.title},
        now=now,
    )
    return posted


def edit_update(
    session: DbSession, posted: LetterUpdate, text: UpdateText, *, actor: Coordinator, now: datetime
) -> LetterUpdate:
    """Change an update's text; refused (``AlreadySending``) once its emailing has begun."""
    checked = _checked(text)
    # Conditional on the emailing not having begun: a send pressed meanwhile in another
    # tab wins, and the text sent is the text kept.
    changed = session.execute(
        update(LetterUpdate)
        .where(LetterUpdate.id == posted.id, LetterUpdate.send_requested_at.is_(None))
        .values(
            title=checked.title,
            body_markdown=checked.body,
            body_html=render_markdown(checked.body),
            edited_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadySending(str(posted.id))
    session.expire(posted)
    audit.record(
        session,
        "update.edited",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=posted.letter_id,
        detail={"update_id": posted.id, "title": checked.title},
        now=now,
    )
    return posted


def update_of(session: DbSession, letter: Letter, update_id: int) -> LetterUpdate | None:
    """The update ``update_id`` if it is one of ``letter``'s."""
    return session.scalar(
        select(LetterUpdate).where(
            LetterUpdate.id == update_id, LetterUpdate.letter_id == letter.id
        )
    )


def updates_of(
    session: DbSession, letter_id: int, *, limit: int | None = None
) -> Sequence[LetterUpdate]:
    """The updates of a letter, newest first (the ``limit`` newest, if given)."""
    query = (
        select(LetterUpdate)
        .where(LetterUpdate.letter_id == letter_id)
        .order_by(LetterUpdate.posted_at.desc(), LetterUpdate.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def count_updates(session: DbSession, letter_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LetterUpdate)
            .where(LetterUpdate.letter_id == letter_id)
        )
        or 0
    )


def consenting(letter_id: int) -> tuple[object, ...]:
    """Who gets a letter's updates: standing signatures that asked for them, not erased."""
    return (
        Signature.letter_id == letter_id,
        Signature.updates_consent_at.is_not(None),
        Signature.status.in_(STANDING_STATUSES),
        Signature.erased_at.is_(None),
    )


def opted_in_count(session: DbSession, letter: Letter) -> int:
    """How many signatories would get an update emailed now."""
    return (
        session.scalar(
            select(func.count()).select_from(Signature).where(*consenting(letter.id))  # type: ignore[arg-type]
        )
        or 0
    )


@dataclass(frozen=True)
class SendCounts:
    """An update's emailing: queued so far, sent, failed for good, and still on their way."""

    queued: int = 0
    sent: int = 0
    failed: int = 0

    @property
    def waiting(self) -> int:
        return self.queued - self.sent - self.failed


def send_counts(session: DbSession, update_ids: Sequence[int]) -> dict[int, SendCounts]:
    """Per update, how its emails fared (``SendCounts``); one query for all of them."""
    if not update_ids:
        return {}
    rows = session.execute(
        select(UpdateRecipient.update_id, OutboxMessage.status, func.count())
        .outerjoin(OutboxMessage, OutboxMessage.id == UpdateRecipient.outbox_message_id)
        .where(UpdateRecipient.update_id.in_(update_ids))
        .group_by(UpdateRecipient.update_id, OutboxMessage.status)
    ).all()
    totals: dict[int, dict[str, int]] = {}
    for update_id, status, count in rows:
        by_status = totals.setdefault(update_id, {})
        by_status[status or ""] = by_status.get(status or "", 0) + count
    return {
        update_id: SendCounts(
            queued=sum(by_status.values()),
            sent=by_status.get(OutboxStatus.SENT, 0),
            failed=by_status.get(OutboxStatus.FAILED, 0),
        )
        for update_id, by_status in totals.items()
    }


def send_test(
    session: DbSession, posted: LetterUpdate, *, actor: Coordinator, now: datetime
) -> OutboxMessage:
    """Queue the update email to ``actor``'s own address only, marked as a test."""
    message = enqueue(
        session,
        template=TEMPLATE,
        to=actor.email,
        context={"update_id": posted.id, "coordinator_id": actor.id},
        letter_id=posted.letter_id,
        now=now,
    )
    audit.record(
        session,
        "update.test_sent",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=posted.letter_id,
        detail={"update_id": posted.id, "to": actor.email},
        now=now,
    )
    return message


def request_sending(
    session: DbSession, posted: LetterUpdate, *, actor: Coordinator, now: datetime
) -> int:
    """Ask for the update to be emailed to every consenting signatory; how many there are now.

    Once per update: a conditional ``UPDATE`` on its not having been asked for, so of two
    coordinators pressing "send" at once exactly one does it (``AlreadySending`` for the
    other). The batches are queued by ``updates.sending``, the first one by the caller.
    """
    letter = session.get(Letter, posted.letter_id)
    assert letter is not None  # the update's letter cascades it away
    recipients = opted_in_count(session, letter)
    changed = session.execute(
        update(LetterUpdate)
        .where(LetterUpdate.id == posted.id, LetterUpdate.send_requested_at.is_(None))
        .values(send_requested_at=now, send_requested_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadySending(str(posted.id))
    session.expire(posted)
    audit.record(
        session,
        "update.sent",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=posted.letter_id,
        detail={"update_id": posted.id, "recipients": recipients},
        now=now,
    )
    return recipients


def recipient_for_unsubscribe(session: DbSession, recipient_id: int) -> UpdateRecipient | None:
    """The recipient an unsubscribe link names, with its signature and letter."""
    return session.scalar(
        select(UpdateRecipient)
        .options(
            joinedload(UpdateRecipient.signature).joinedload(Signature.letter),
        )
        .where(UpdateRecipient.id == recipient_id)
    )


def unsubscribe(session: DbSession, recipient: UpdateRecipient, *, now: datetime) -> bool:
    """Stop the letter's updates to the recipient's signature; whether this call did it.

    A bulk ``UPDATE`` rather than a change to the loaded signature: the signature's own
    writes are conditional on its status (``Signature.__mapper_args__``), and a withdrawal
    racing this click must not turn the unsubscribe into an error. Saying it again
    changes nothing and is no error (RFC 8058 clients may post twice).
    """
    changed = session.execute(
        update(Signature)
        .where(Signature.id == recipient.signature_id, Signature.updates_consent_at.is_not(None))
        .values(updates_consent_at=None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        "signature.updates_unsubscribed",
        actor_label="signer",
        letter_id=recipient.signature.letter_id,
        signature_id=recipient.signature_id,
        detail={"update_id": recipient.update_id},
        now=now,
    )
    return True
