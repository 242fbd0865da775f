"""The signer's own signature: the manage link, what is held, withdrawing, correcting.

The manage link (token purpose ``manage``) opens a page any number of times; each change
made from it (a withdrawal, a correction request) rotates the row's ``manage_nonce``, so an
emailed link that was used to change something cannot be used again, and the page moves
on to a fresh link. Whoever asks for a link by typing an address gets the same answer
whether or not it signed (``send_manage_link`` returns whether it sent one; the caller
must not show it); the link goes only to the address on record.

A correction request (the organization, the name, the country) changes nothing on the
list: it waits beside the entry for a moderator (``moderation.decide_correction``), who
applies or declines it. The title and the website are the signer's to edit at once
(``edit_entry``), with the sign form's own checks (``signing``'s ``FieldRefused`` rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import case, select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.core.domains import email_matches_website
from signatory.core.errors import DomainError, InvalidToken
from signatory.core.text import contains_url, has_control_characters, invisible_characters
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.models import (
    HELD_STATUSES,
    LIVE_STATUSES,
    Letter,
    LetterStatus,
    Moderation,
    OutboxMessage,
    Signature,
    SignatureKind,
    SignatureStatus,
    new_nonce,
)
from signatory.models.outbox import EmailCaps
from signatory.models.signature import NAME_MAX, email_key
from signatory.signatures import service, signing
from signatory.signatures.signing import WEBSITE_MAX, FieldRefused

GONE = "gone"


class CorrectionRefused(DomainError):
    """A correction the signer cannot ask for; ``str(error)`` is the message to show, beside
    ``field`` when it is about one part of the entry."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RequestedEntry:
    """The entry as the signer wants it to read: organization (or affiliation), name, country.

    ``country`` None keeps the country as it is.
    """

    organization: str | None
    name: str
    country: str | None = None


@dataclass(frozen=True)
class EntryEdit:
    """What the signer changes at once: the title, and an organization's website."""

    title: str | None
    website: str | None


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


def _refuse_unless_changeable(signature: Signature) -> None:
    if not may_request_correction(signature):
        if signature.letter.status == LetterStatus.DELIVERED:
            raise CorrectionRefused(
                gettext("This list was delivered to its recipient and can no longer be changed.")
            )
        raise CorrectionRefused(
            gettext("Only a signature that is published or awaiting review can be corrected.")
        )


def request_correction(
    session: DbSession, signature: Signature, entry: RequestedEntry, *, now: datetime
) -> Signature:
    """Record the signer's corrected entry for a moderator; the list is unchanged until then.

    A new request replaces one still waiting. Refused (``CorrectionRefused``) for an entry
    that is not on the letter or whose list was delivered, and for one that changes nothing.
    """
    _refuse_unless_changeable(signature)
    is_organization = signature.kind == SignatureKind.ORGANIZATION
    organization = _clean(entry.organization, field="organization", required=is_organization)
    name = _clean(entry.name, field="name", required=True) or ""
    country = (entry.country or "").strip() or signature.country
    try:
        signing.check_country(country)
    except FieldRefused as refused:
        raise CorrectionRefused(str(refused), field="country") from None
    if (organization, name, country) == (signature.organization, signature.name, signature.country):
        raise CorrectionRefused(
            gettext("That is how your entry already reads; change what should be corrected.")
        )
    signature.requested_organization = organization
    signature.requested_name = name
    # The title is edited directly now (``edit_entry``): a request never changes it.
    signature.requested_title = None
    signature.requested_country = country
    signature.correction_requested_at = now
    rotate(signature)
    service.audit_signer(session, signature, "signature.correction_requested", now=now)
    session.flush()
    return signature


def _checked(value: str, *, field: str, limit: int) -> str:
    try:
        signing.check_length(value, limit)
        signing.check_one_line(value)
        if field == "title":
            signing.check_no_url(value)
        else:
            value = signing.checked_website(value, is_organization=True)
    except FieldRefused as refused:
        raise CorrectionRefused(str(refused), field=field) from None
    return value


def _check_domain(signature: Signature, website: str) -> bool:
    """Whether the new website matches the signer's email domain, as signing computes it;
    refused where the letter requires the match, or where losing it would have sent the
    organization to review instead of onto the list."""
    verified = email_matches_website((signature.email or "").rpartition("@")[2], website)
    letter = signature.letter
    if not verified and letter.require_domain_match:
        raise CorrectionRefused(
            gettext(
                "This letter accepts organizations only when the signer's email address "
                "is at the organization's website; %(website)s does not match the address "
                "you signed with.",
                website=website,
            ),
            field="website",
        )
    if (
        not verified
        and signature.domain_verified
        and letter.moderation == Moderation.MISMATCH
        and signature.status == SignatureStatus.PUBLISHED
    ):
        raise CorrectionRefused(
            gettext(
                "On this letter, organizations whose website does not match the email "
                "address are reviewed before they are listed, so this website cannot "
                "replace one that matched. Write to the letter's coordinators."
            ),
            field="website",
        )
    return verified


def edit_entry(
    session: DbSession, signature: Signature, edit: EntryEdit, *, now: datetime
) -> list[str]:
    """Change the title (and an organization's website) at once, with no review.

    Checked as the sign form checks them; a website re-computes ``domain_verified`` as
    signing does. Refused (``CorrectionRefused``) as a correction is, and for an edit that
    changes nothing. Returns the fields changed, which the audit names (never their values,
    never the email).
    """
    _refuse_unless_changeable(signature)
    changed: list[str] = []
    title = _checked((edit.title or "").strip(), field="title", limit=NAME_MAX) or None
    if title != signature.title:
        changed.append("title")
    website = signature.website
    verified = signature.domain_verified
    if signature.kind == SignatureKind.ORGANIZATION:
        website = _checked((edit.website or "").strip(), field="website", limit=WEBSITE_MAX)
        if website != signature.website:
            verified = _check_domain(signature, website)
            changed.append("website")
    if not changed:
        raise CorrectionRefused(
            gettext("That is how your entry already reads; change what should be corrected.")
        )
    signature.title = title
    signature.website = website
    signature.domain_verified = verified
    rotate(signature)
    service.audit_signer(
        session, signature, "signature.entry_edited", now=now, detail={"fields": changed}
    )
    session.flush()
    return changed


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
