"""Confirming and withdrawing, the emailed links, and what signing shares with them: the
signer's side of the status machine. Signing itself is ``signatures.signing``'s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from sqlalchemy import (
    CursorResult,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession, savepoint
from signatory.core.errors import DomainError, InvalidToken
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.mail.outbox import enqueue
from signatory.models import (
    HELD_STATUSES,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    new_nonce,
    transition,
)
from signatory.models.outbox import (
    EmailCaps,
    cap_reached,
)
from signatory.models.signature import (
    ReviewReason,
    load_signature,
)
from signatory.notifications.service import notify_review_needed
from signatory.signatures.similar import lookalike_on_letter

log = logging.getLogger(__name__)


class LetterNotOpen(DomainError):
    """The letter does not accept signatures (draft, closed, delivered or past its deadline)."""


class IndividualsNotAllowed(DomainError):
    pass


class DomainMismatch(DomainError):
    """The letter requires the email's domain to match the organization's website."""


class OrganizationAlreadySigned(DomainError):
    """Another live signature already holds this organization's place on the letter."""


class DisposableEmailRefused(DomainError):
    """The address is at a disposable-mail provider and the letter refuses those."""


def is_disposable_domain(domain: str) -> bool:
    """Whether ``domain`` or a domain it is under is a known disposable-mail provider.

    The list is the ``disposable-email-domains`` package's (a community-kept list, released
    to PyPI as it changes; upgrading the package updates it). ``x.mailinator.com`` counts.
    """
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in DISPOSABLE_DOMAINS for i in range(len(labels) - 1))


@dataclass(frozen=True)
class SignatureData:
    """What a signer submitted, already validated and normalised by the form."""

    kind: str
    name: str
    email: str
    email_domain: str
    country: str
    title: str | None = None
    organization: str | None = None
    organization_type: str | None = None
    website: str | None = None
    # The interface language the signer used ("fr"), if known; kept, never published.
    language: str | None = None
    # The client's address prefix (``ratelimits.clients.address_prefix``), never published.
    client_prefix: str | None = None
    # Whether the signer ticked "email me updates about this letter" (``updates``).
    updates_consent: bool = False
    # For organizations: the "authorised to sign" statement ticked, in the wording and
    # language shown (stored with the time it was accepted); None for individuals.
    authorised_statement: str | None = None
    # "Why we signed" (``organizations.statements``), checked; None when none or not asked.
    statement: str | None = None


def email_within_caps(
    session: DbSession, signature: Signature, template: str, *, now: datetime, caps: EmailCaps
) -> bool:
    """Queue ``template`` to the signer unless a daily cap is reached; whether it was queued."""
    if cap_reached(session, signature, template, now=now, caps=caps):
        return False
    _email_signer(session, signature, template, now=now)
    return True


def _email_signer(
    session: DbSession, signature: Signature, template: str, *, now: datetime
) -> None:
    enqueue(
        session,
        template=template,
        to=signature.email,
        context={"signature_id": signature.id},
        letter_id=signature.letter_id,
        signature_id=signature.id,
        now=now,
    )


def audit_signer(
    session: DbSession,
    signature: Signature,
    action: str,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        action,
        actor_label="signer",
        letter_id=signature.letter_id,
        signature_id=signature.id,
        detail=detail,
        now=now,
    )


def send_links_again(
    session: DbSession, signature: Signature, *, now: datetime, caps: EmailCaps | None = None
) -> bool:
    """Queue the signer's link again (confirm, or withdraw once confirmed), within the caps.

    Whether it was queued; callers answer the same either way.
    """
    template = (
        "confirm_request" if signature.status == SignatureStatus.UNCONFIRMED else "withdraw_link"
    )
    return email_within_caps(session, signature, template, now=now, caps=caps or EmailCaps())


def signature_for_token(session: DbSession, purpose: str, payload: TokenPayload) -> Signature:
    """The signature a link is for, if the link can still be used; otherwise ``InvalidToken``."""
    signature = load_signature(session, payload.row_id)
    if signature is None:
        raise InvalidToken("gone")
    stored = signature.confirm_nonce if purpose == "confirm" else signature.withdraw_nonce
    if not nonce_matches(stored, payload.nonce):
        raise InvalidToken(USED, signature_id=signature.id)
    usable = (
        (SignatureStatus.UNCONFIRMED,)
        if purpose == "confirm"
        # A lapsed signature (``reconfirm``) may still be withdrawn by its signer.
        else (SignatureStatus.PUBLISHED, SignatureStatus.PENDING_REVIEW, SignatureStatus.LAPSED)
    )
    if signature.status not in usable:
        raise InvalidToken(USED, signature_id=signature.id)
    return signature


def confirm(session: DbSession, payload: TokenPayload, *, now: datetime) -> Signature:
    """Confirm a signature from its emailed link: publish it, or queue it for review."""
    signature = signature_for_token(session, "confirm", payload)
    if not signature.letter.accepts_signatures(now):
        raise LetterNotOpen(signature.letter.slug)
    if signature.kind == SignatureKind.ORGANIZATION and _organization_held_by_another(
        session, signature
    ):
        raise OrganizationAlreadySigned(signature.organization or "")
    try:
        with savepoint(session):
            _flag_lookalike_taken_since(session, signature)
            signature.confirm_nonce = new_nonce()
            status = transition(signature, "confirm", now=now)
    except IntegrityError:
        # The organization's place was taken by a confirmation that committed meanwhile.
        session.refresh(signature)
        raise OrganizationAlreadySigned(signature.organization or "") from None
    except StaleDataError:
        # The UPDATE is conditional on the status read: a parallel confirmation (or a
        # coordinator's rejection) got there first, and this link counts as used.
        raise InvalidToken(USED, signature_id=payload.row_id) from None
    _email_signer(session, signature, "signature_confirmed", now=now)
    audit_signer(session, signature, "signature.confirmed", now=now, detail={"status": str(status)})
    if status == SignatureStatus.PENDING_REVIEW:
        # Coordinators who asked for an email per signature hear of it in this transaction.
        notify_review_needed(session, signature, now=now)
    return signature


def _flag_lookalike_taken_since(session: DbSession, signature: Signature) -> None:
    # A lookalike may have taken its place on the letter since this signature was made.
    reasons = (signature.review_reason or "").split(",")
    if (
        signature.kind != SignatureKind.ORGANIZATION
        or not signature.organization
        or ReviewReason.LOOKALIKE_NAME in reasons
    ):
        return
    if lookalike_on_letter(session, signature.letter, signature.organization, besides=signature.id):
        signature.review_reason = ",".join(
            [r for r in reasons if r] + [ReviewReason.LOOKALIKE_NAME]
        )


def _organization_held_by_another(session: DbSession, signature: Signature) -> bool:
    return (
        session.scalar(
            select(Signature.id).where(
                Signature.letter_id == signature.letter_id,
                Signature.kind == SignatureKind.ORGANIZATION,
                Signature.organization_key == signature.organization_key,
                Signature.status.in_(HELD_STATUSES),
                Signature.id != signature.id,
            )
        )
        is not None
    )


def withdraw(session: DbSession, payload: TokenPayload, *, now: datetime) -> Signature:
    """Withdraw a signature from its emailed link: it leaves the public list at once."""
    signature = signature_for_token(session, "withdraw", payload)
    signature.withdraw_nonce = new_nonce()
    transition(signature, "withdraw", now=now)
    try:
        session.flush()
    except StaleDataError:
        # Decided by a coordinator between the read and this write: the signer sees the
        # link as used and can open it again to act on what it is now. (The failed flush
        # ends the transaction: nothing of the row may be read until the caller rolls back.)
        raise InvalidToken(USED, signature_id=payload.row_id) from None
    _email_signer(session, signature, "withdrawal_receipt", now=now)
    audit_signer(session, signature, "signature.withdrawn", now=now)
    return signature


def resend_after_expiry(
    session: DbSession,
    purpose: str,
    payload: TokenPayload,
    *,
    now: datetime,
    caps: EmailCaps | None = None,
) -> Signature:
    """Queue a fresh link in place of an expired one, to the address on the signature.

    The expired token still proves which signature it was for; the new link goes only to
    the address already on record, so this cannot be used to redirect anyone's mail.
    """
    signature = signature_for_token(session, purpose, payload)
    if purpose == "confirm" and not signature.letter.accepts_signatures(now):
        raise LetterNotOpen(signature.letter.slug)
    send_links_again(session, signature, now=now, caps=caps)
    return signature


def purge_unconfirmed(session: DbSession, *, now: datetime, older_than_days: int) -> int:
    """Delete signatures never confirmed within ``older_than_days``; nothing public held them."""
    cutoff = now - timedelta(days=older_than_days)
    # One conditional DELETE, not read-then-delete: a signature confirmed while the purge
    # runs no longer matches and is kept. (The counts follow by the database's triggers;
    # unconfirmed rows are on no public list.)
    result = session.execute(
        delete(Signature)
        .where(Signature.status == SignatureStatus.UNCONFIRMED, Signature.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    purged = int(cast("CursorResult[Any]", result).rowcount)
    if purged:
        audit.record(
            session,
            "signature.purged",
            actor_label="system",
            detail={"count": purged, "older_than_days": older_than_days},
            now=now,
        )
    return purged
