"""The signer's own signature: the manage link, what is held, withdrawing, correcting.

The manage link (token purpose ``manage``) opens a page any number of times; each change
made from it (a withdrawal, a correction request) rotates the row's ``manage_nonce``, so an
emailed link that was used to change something cannot be used again, and the page moves
on to a fresh link. Whoever asks for a link by typing an address gets the same answer
whether or not it signed (``send_manage_link`` returns whether it sent one; the caller
must not show it); the link goes only to the address on record.

A correction request changes nothing on the list: it waits beside the entry for a
moderator (``moderation.decide_correction``), who applies or declines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.core.errors import DomainError, InvalidToken
from signatory.core.text import contains_url, has_control_characters, invisible_characters
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.models import (
    HELD_STATUSES,
    LIVE_STATUSES,
    Letter,
    LetterStatus,
    OutboxMessage,
    Signature,
    SignatureKind,
    new_nonce,
)
from signatory.models.outbox import EmailCaps
from signatory.models.signature import NAME_MAX, email_key
from signatory.signatures import service

GONE = "gone"


class CorrectionRefused(DomainError):
    """A correction the signer cannot ask for; ``str(error)`` is the message to show, beside
    ``field`` when it is about one part of the entry."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RequestedEntry:
    """The entry as the signer wants it to read: organization (or affiliation), name, title."""

    organization: str | None
    name: str
    title: str | None


def signature_for_manage(session: DbSession, payload: TokenPayload) -> Signature:
    """The signature a manage link is for, with its letter and version; else ``InvalidToken``."""
    signature = session.scalar(
        select(Signature)
        .options(joinedload(Signature.letter), joinedload(Signature.version))
        .where(Signature.id == payload.row_id)
    )
    if signature is None or signature.erased_at is not None:
        # Purged, or erased after its retention: nothing is held any more.
        raise InvalidToken(GONE)
    if not nonce_matches(signature.manage_nonce, payload.nonce):
        raise InvalidToken(USED, signature_id=signature.id)
    return signature


def send_manage_link(
    session: DbSession, letter: Letter, email: str, *, now: datetime, caps: EmailCaps
) -> bool:
    """Queue the manage link of ``email``'s signature on ``letter``, if there is one.

    The live signature if the address has one, else its latest (withdrawn or rejected, not
    yet erased). Nothing is queued past the daily caps on a signer's emails (``caps``), so
    the form cannot be used to flood an inbox. Returns whether a link was queued; the page
    must answer the same either way.
    """
    signature = session.scalar(
        select(Signature)
        .where(
            Signature.letter_id == letter.id,
            Signature.email_key == email_key(email),
            Signature.erased_at.is_(None),
        )
        .order_by(case((Signature.status.in_(LIVE_STATUSES), 0), else_=1), Signature.id.desc())
        .limit(1)
    )
    # To the address on record, never the one typed: the link cannot be sent elsewhere.
    if signature is None or not service.email_within_caps(
        session, signature, "manage_link", now=now, caps=caps
    ):
        return False
    service.audit_signer(session, signature, "signature.manage_link_sent", now=now)
    return True


def rotate(signature: Signature) -> None:
    """Retire the manage link in use: the page goes on with a fresh one."""
    signature.manage_nonce = new_nonce()


def withdraw_own(session: DbSession, signature: Signature, *, now: datetime) -> Signature:
    """Withdraw from the manage page, through the same service as the emailed withdraw link."""
    withdrawn = service.withdraw(
        session, TokenPayload(signature.id, signature.withdraw_nonce), now=now
    )
    rotate(withdrawn)
    return withdrawn


def may_request_correction(signature: Signature) -> bool:
    """Whether the page offers a correction: the entry stands and the list is not handed over."""
    return signature.status in HELD_STATUSES and signature.letter.status != LetterStatus.DELIVERED


def _clean(value: str | None, *, field: str, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise CorrectionRefused(gettext("This cannot be empty."), field=field)
        return None
    if len(value) > NAME_MAX:
        raise CorrectionRefused(
            gettext("Keep it under %(max)s characters.", max=NAME_MAX), field=field
        )
    if has_control_characters(value) or invisible_characters(value):
        raise CorrectionRefused(
            gettext("This holds invisible or control characters. Type it again, on one line."),
            field=field,
        )
    if contains_url(value):
        raise CorrectionRefused(gettext("Leave web addresses out of your entry."), field=field)
    return value


def request_correction(
    session: DbSession, signature: Signature, entry: RequestedEntry, *, now: datetime
) -> Signature:
    """Record the signer's corrected entry for a moderator; the list is unchanged until then.

    A new request replaces one still waiting. Refused (``CorrectionRefused``) for an entry
    that is not on the letter or whose list was delivered, and for one that changes nothing.
    """
    if not may_request_correction(signature):
        if signature.letter.status == LetterStatus.DELIVERED:
            raise CorrectionRefused(
                gettext("This list was delivered to its recipient and can no longer be changed.")
            )
        raise CorrectionRefused(
            gettext("Only a signature that is published or awaiting review can be corrected.")
        )
    is_organization = signature.kind == SignatureKind.ORGANIZATION
    organization = _clean(entry.organization, field="organization", required=is_organization)
    name = _clean(entry.name, field="name", required=True) or ""
    title = _clean(entry.title, field="title", required=False)
    if (organization, name, title) == (signature.organization, signature.name, signature.title):
        raise CorrectionRefused(
            gettext("That is how your entry already reads; change what should be corrected.")
        )
    signature.requested_organization = organization
    signature.requested_name = name
    signature.requested_title = title
    signature.correction_requested_at = now
    rotate(signature)
    service.audit_signer(session, signature, "signature.correction_requested", now=now)
    session.flush()
    return signature


def pending_corrections(session: DbSession, letter: Letter, *, limit: int = 100) -> list[Signature]:
    """The letter's correction requests awaiting a moderator, oldest first."""
    return list(
        session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.correction_requested_at.is_not(None),
            )
            .order_by(Signature.correction_requested_at, Signature.id)
            .limit(limit)
        )
    )


def emails_about(
    session: DbSession, signature: Signature, *, limit: int = 50
) -> list[OutboxMessage]:
    """The emails queued or sent about ``signature``, newest first: part of what is held."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.signature_id == signature.id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
