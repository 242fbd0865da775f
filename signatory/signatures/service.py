"""Signing, confirming and withdrawing: the signer's side of the status machine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from signatory.core.database import DbSession, savepoint
from signatory.core.domains import email_matches_website
from signatory.core.errors import DomainError, InvalidToken
from signatory.core.text import mixes_scripts_confusably
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.mail.outbox import enqueue
from signatory.models import (
    HELD_STATUSES,
    LANGUAGE_TAG_MAX,
    LIVE_STATUSES,
    Letter,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    new_nonce,
    transition,
)
from signatory.models.letter import DisposableEmail, accepting, current_version_id
from signatory.models.mail_caps import EmailCaps, cap_reached, emails_to_address_today
from signatory.models.signature import (
    ReviewReason,
    email_key,
    load_signature,
    organization_key,
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


@dataclass(frozen=True)
class SignOutcome:
    signature: Signature
    created: bool
    # False when a daily cap held the email back (the signer is shown the same page).
    emailed: bool = True


def _live_signature_for_email(session: DbSession, letter: Letter, key: str) -> Signature | None:
    return session.scalar(
        select(Signature).where(
            Signature.letter_id == letter.id,
            Signature.email_key == key,
            Signature.status.in_(LIVE_STATUSES),
        )
    )


def organization_is_published(session: DbSession, letter: Letter, organization: str) -> bool:
    """Whether this organization (compared loosely) is already on the public list."""
    return (
        session.scalar(
            select(Signature.id).where(
                Signature.letter_id == letter.id,
                Signature.kind == SignatureKind.ORGANIZATION,
                Signature.organization_key == organization_key(organization),
                Signature.status == SignatureStatus.PUBLISHED,
            )
        )
        is not None
    )


def review_reasons(
    session: DbSession, letter: Letter, data: SignatureData, *, disposable: bool
) -> list[ReviewReason]:
    """Why this signature must wait for a moderator whatever the letter's moderation."""
    reasons = []
    if disposable:
        reasons.append(ReviewReason.DISPOSABLE_EMAIL)
    if data.organization:
        if data.kind == SignatureKind.ORGANIZATION and lookalike_on_letter(
            session, letter, data.organization
        ):
            reasons.append(ReviewReason.LOOKALIKE_NAME)
        if mixes_scripts_confusably(data.organization):
            reasons.append(ReviewReason.MIXED_SCRIPTS)
    return reasons


@dataclass(frozen=True)
class SigningCheck:
    """What signing found by reading alone, before it writes anything (``check_signing``)."""

    # The live signature this address already has on the letter: its links go again.
    existing: Signature | None
    email_key: str
    version_id: int
    domain_verified: bool
    reasons: list[ReviewReason]
    # The address has had its day's emails: the audited cap check decides (``cap_reached``).
    address_at_cap: bool


def sign(
    session: DbSession,
    letter: Letter,
    data: SignatureData,
    *,
    now: datetime,
    caps: EmailCaps | None = None,
) -> SignOutcome:
    """Record a signature awaiting confirmation and queue its confirmation email.

    Signing again with an email that already has a live signature on this letter creates
    nothing: it queues the links again. Callers show the same page either way, so the
    answer never tells a stranger who has signed; nor does it tell them that a daily cap
    (``caps``) held the email back. The sign POST runs the two halves itself, ending the
    reading transaction between them (``core.database.end_reads``).
    """
    caps = caps or EmailCaps()
    check = check_signing(session, letter, data, now=now, caps=caps)
    return record_signature(session, letter, data, check, now=now, caps=caps)


def check_signing(
    session: DbSession, letter: Letter, data: SignatureData, *, now: datetime, caps: EmailCaps
) -> SigningCheck:
    """Every check signing makes, by reading only; a refusal raises its ``DomainError``.

    Nothing here needs the write lock. What a concurrent request could change before the
    writes is either guarded by the database (one live signature per address: a unique
    index, ``record_signature``) or looked at again there (whether the letter is open).
    """
    if not letter.accepts_signatures(now):
        raise LetterNotOpen(letter.slug)
    is_organization = data.kind == SignatureKind.ORGANIZATION
    if not is_organization and not letter.allow_individuals:
        raise IndividualsNotAllowed(letter.slug)
    domain_verified = bool(
        is_organization and data.website and email_matches_website(data.email_domain, data.website)
    )
    if is_organization and letter.require_domain_match and not domain_verified:
        raise DomainMismatch(data.email_domain)
    disposable = is_disposable_domain(data.email_domain)
    if disposable and letter.disposable_email != DisposableEmail.REVIEW:
        raise DisposableEmailRefused(data.email_domain)

    key = email_key(data.email)
    existing = _live_signature_for_email(session, letter, key)
    if existing is not None:
        return SigningCheck(existing, key, 0, domain_verified, [], address_at_cap=False)
    if (
        is_organization
        and data.organization
        and organization_is_published(session, letter, data.organization)
    ):
        raise OrganizationAlreadySigned(data.organization)
    return SigningCheck(
        existing=None,
        email_key=key,
        version_id=current_version_id(session, letter),
        domain_verified=domain_verified,
        reasons=review_reasons(session, letter, data, disposable=disposable),
        # A new signature has had no email yet; its address may have, on other letters.
        address_at_cap=caps.per_signature <= 0
        or emails_to_address_today(session, key, now=now) >= caps.per_address,
    )


def record_signature(
    session: DbSession,
    letter: Letter,
    data: SignatureData,
    check: SigningCheck,
    *,
    now: datetime,
    caps: EmailCaps,
) -> SignOutcome:
    """Write what ``check_signing`` decided: the signature, its audit event, its email."""
    if check.existing is not None:
        # Read again: it may have been confirmed since the check (its link is another).
        session.refresh(check.existing)
        emailed = send_links_again(session, check.existing, now=now, caps=caps)
        return SignOutcome(check.existing, created=False, emailed=emailed)
    # Read again with the writes: on SQLite closing the letter takes the write lock too,
    # so a close since the check is seen here.
    status, deadline = session.execute(
        select(Letter.status, Letter.deadline).where(Letter.id == letter.id)
    ).one()
    if not accepting(status, deadline, now):
        raise LetterNotOpen(letter.slug)
    is_organization = data.kind == SignatureKind.ORGANIZATION
    signature = Signature(
        letter=letter,
        version_id=check.version_id,
        kind=data.kind,
        organization=data.organization or None,
        country=data.country,
        organization_type=data.organization_type if is_organization else None,
        website=data.website if is_organization else None,
        name=data.name,
        title=data.title or None,
        email=data.email,
        domain_verified=check.domain_verified,
        language=(data.language or "")[:LANGUAGE_TAG_MAX] or None,
        review_reason=",".join(check.reasons) or None,
        client_prefix=data.client_prefix,
        status=SignatureStatus.UNCONFIRMED,
        created_at=now,
        status_changed_at=now,
    )
    try:
        with savepoint(session):
            session.add(signature)
    except IntegrityError:
        # Another request with the same email won the race between our look-up and insert;
        # rolling back the savepoint has already expunged our pending row.
        existing = _live_signature_for_email(session, letter, check.email_key)
        if existing is None:
            raise
        emailed = send_links_again(session, existing, now=now, caps=caps)
        return SignOutcome(existing, created=False, emailed=emailed)

    detail: dict[str, Any] = {"kind": signature.kind, "domain_verified": check.domain_verified}
    if check.reasons:
        detail["review_reason"] = [str(reason) for reason in check.reasons]
    audit_signer(session, signature, "signature.created", now=now, detail=detail)
    if check.address_at_cap:
        emailed = email_within_caps(session, signature, "confirm_request", now=now, caps=caps)
    else:
        _email_signer(session, signature, "confirm_request", now=now)
        emailed = True
    return SignOutcome(signature, created=True, emailed=emailed)


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
        else (SignatureStatus.PUBLISHED, SignatureStatus.PENDING_REVIEW)
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
