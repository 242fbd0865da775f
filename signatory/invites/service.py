"""Who may sign: a letter's signing policy, its invitations, and the check at sign time.

**An invitation binds the organization, not the address.** Coalitions invite an
organization through one contact, and the person who signs for it is often a colleague
with another address at the same organization: so the invited address is only where the
link is sent and what the form starts with. The signer may change it (the form says so,
and the audit event records it); the organization may not: a signature made with an
invitation is the invited organization's (compared by ``organization_key``, so "E.F.F."
and "EFF" are one), and an organization signature.

**An invitation is used up when the sign form it opened is taken**, in the sign POST's
own transaction (a conditional UPDATE on the invitation still being pending, so two
forms sent with one link make one signature), not when the signature is confirmed:
confirming is the signature's own link, emailed to whoever signed, and a link that stayed
usable until then could start any number of signatures for one organization. A signer
who mistyped their address asks the coordinators, who revoke the used invitation's
signature in moderation and invite the organization again. Opening a used or revoked
link, or sending its form, answers a page saying so (410 and 403), never a signature.

Services add and flush, and never commit; the views commit once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession, savepoint
from signatory.core.errors import DomainError, InvalidToken
from signatory.core.tokens import INVALID, USED, Tokens, nonce_matches
from signatory.invites import policy
from signatory.invites.entries import InviteEntry, LinesRefused
from signatory.invites.policy import DomainsRefused, email_allowed, shown_list
from signatory.mail.outbox import enqueue
from signatory.models import (
    Coordinator,
    InvitationState,
    Letter,
    LetterStatus,
    SignatureKind,
    SigningInvitation,
    SigningPolicy,
    audit,
)
from signatory.models.signature import organization_key

__all__ = ["DomainsRefused", "InviteEntry", "LinesRefused", "shown_list"]

TEMPLATE = "signing_invitation"
PURPOSE = "sign-invitation"
REVOKED = "revoked"


class InvitesError(DomainError):
    """Something about invitations a coordinator asked for that cannot be done."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAccepting(InvitesError):
    """Invitations are sent while the letter is open for signing."""


class NotPending(InvitesError):
    """The invitation was used or revoked already: nothing to resend or revoke."""


# --- The policy -----------------------------------------------------------------------


def set_policy(
    session: DbSession,
    letter: Letter,
    signing_policy: str,
    domains_text: str,
    *,
    actor: Coordinator,
    now: datetime,
) -> None:
    """Set whom the letter accepts signatures from; ``DomainsRefused`` for a bad list.

    The list is kept (normalised) only with the "domains" policy; the letter page changes
    at once (migration 0021 moves the letter's revision on either column).
    """
    chosen = SigningPolicy(signing_policy)
    domains = policy.stored(policy.parse_domains(domains_text)) if chosen == "domains" else None
    before = (letter.signing_policy, letter.allowed_domains)
    letter.signing_policy, letter.allowed_domains = chosen.value, domains
    if before != (letter.signing_policy, letter.allowed_domains):
        audit.record(
            session,
            "letter.signing_policy",
            actor_label="coordinator",
            actor_id=actor.id,
            letter_id=letter.id,
            detail={"policy": chosen.value, "allowed_domains": domains, "before": before[0]},
            now=now,
        )
    session.flush()


# --- Inviting -------------------------------------------------------------------------


def _duplicates(
    session: DbSession, letter: Letter, entries: list[InviteEntry]
) -> list[tuple[int, str]]:
    """The entries naming an organization twice, or one already invited and pending."""
    keys = [organization_key(entry.organization) or "" for entry in entries]
    pending = set(
        session.scalars(
            select(SigningInvitation.organization_key).where(
                SigningInvitation.letter_id == letter.id,
                SigningInvitation.organization_key.in_(set(keys)),
                SigningInvitation.used_at.is_(None),
                SigningInvitation.revoked_at.is_(None),
            )
        )
    )
    errors: list[tuple[int, str]] = []
    first: dict[str, int] = {}
    for number, (entry, key) in enumerate(zip(entries, keys, strict=True), start=1):
        if key in pending:
            errors.append(
                (
                    number,
                    gettext(
                        "%(organization)s already has an invitation that has not been used: "
                        "resend it from the list below instead.",
                        organization=entry.organization,
                    ),
                )
            )
        elif key in first:
            errors.append(
                (
                    number,
                    gettext(
                        "%(organization)s is already on line %(line)s.",
                        organization=entry.organization,
                        line=first[key],
                    ),
                )
            )
        first.setdefault(key, number)
    return errors


def invite(
    session: DbSession,
    letter: Letter,
    entries: list[InviteEntry],
    *,
    actor: Coordinator,
    now: datetime,
    locale: str | None = None,
) -> list[SigningInvitation]:
    """Invite each organization of ``entries`` (checked already): all of them or none.

    ``LinesRefused`` (numbered as ``entries``) when one is invited already or twice;
    ``NotAccepting`` unless the letter is open. Each gets its email through the outbox.
    """
    if letter.status != LetterStatus.OPEN:
        raise NotAccepting(gettext("Invitations are sent while the letter is open for signing."))
    errors = _duplicates(session, letter, entries)
    if errors:
        raise LinesRefused(errors)
    made = [
        SigningInvitation(
            letter_id=letter.id,
            organization=entry.organization,
            organization_key=organization_key(entry.organization) or "",
            email=entry.email,
            name=entry.name,
            note=entry.note,
            invited_by_id=actor.id,
            created_at=now,
            last_sent_at=now,
        )
        for entry in entries
    ]
    try:
        with savepoint(session):
            session.add_all(made)
    except IntegrityError:
        # Another coordinator invited one of them meanwhile: the unique index says so.
        raise LinesRefused(
            [(0, gettext("Someone invited one of these organizations meanwhile. Reload the list."))]
        ) from None
    for invitation in made:
        _send(session, invitation, now=now, locale=locale)
        _record(session, "invitation.created", invitation, actor, now)
    return made


def _send(
    session: DbSession, invitation: SigningInvitation, *, now: datetime, locale: str | None
) -> None:
    enqueue(
        session,
        template=TEMPLATE,
        to=invitation.email,
        context={"invitation_id": invitation.id, "locale": locale},
        letter_id=invitation.letter_id,
        now=now,
    )


def _record(
    session: DbSession,
    action: str,
    invitation: SigningInvitation,
    actor: Coordinator,
    now: datetime,
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=invitation.letter_id,
        detail={
            "invitation_id": invitation.id,
            "organization": invitation.organization,
            "email": invitation.email,
        },
        now=now,
    )


def invitations_of(session: DbSession, letter: Letter) -> list[SigningInvitation]:
    """The letter's invitations, newest first, with the signature each one started."""
    return list(
        session.scalars(
            select(SigningInvitation)
            .options(joinedload(SigningInvitation.signature))
            .where(SigningInvitation.letter_id == letter.id)
            .order_by(SigningInvitation.created_at.desc(), SigningInvitation.id.desc())
        )
    )


def state_counts(invitations: Iterable[SigningInvitation]) -> dict[str, int]:
    """The list's counts: invited, links opened (ever), signed, revoked, still pending."""
    listed = list(invitations)
    return {
        "invited": len(listed),
        "opened": sum(1 for each in listed if each.opened_at is not None),
        InvitationState.SIGNED.value: sum(1 for each in listed if each.used_at is not None),
        InvitationState.REVOKED.value: sum(1 for each in listed if each.revoked_at is not None),
        "pending": sum(1 for each in listed if each.pending),
    }


def _pending_of(session: DbSession, letter: Letter, invitation_id: int) -> SigningInvitation:
    invitation = session.get(SigningInvitation, invitation_id)
    if invitation is None or invitation.letter_id != letter.id:
        raise LookupError(invitation_id)
    if invitation.used_at is not None:
        raise NotPending(
            gettext(
                "%(organization)s has used its invitation already: its signature is in "
                "the moderation queue or on the list.",
                organization=invitation.organization,
            )
        )
    if invitation.revoked_at is not None:
        raise NotPending(
            gettext(
                "The invitation of %(organization)s was revoked. Invite the organization "
                "again for a new link.",
                organization=invitation.organization,
            )
        )
    return invitation


def resend(
    session: DbSession,
    letter: Letter,
    invitation_id: int,
    *,
    actor: Coordinator,
    now: datetime,
    locale: str | None = None,
) -> SigningInvitation:
    """Email a pending invitation's link again (the same link: it still works).

    ``LookupError`` for an invitation not of this letter, ``NotPending`` for one used or
    revoked, ``NotAccepting`` unless the letter is open.
    """
    invitation = _pending_of(session, letter, invitation_id)
    if letter.status != LetterStatus.OPEN:
        raise NotAccepting(gettext("Invitations are sent while the letter is open for signing."))
    invitation.sent_count += 1
    invitation.last_sent_at = now
    _send(session, invitation, now=now, locale=locale)
    _record(session, "invitation.resent", invitation, actor, now)
    session.flush()
    return invitation


def revoke(
    session: DbSession, letter: Letter, invitation_id: int, *, actor: Coordinator, now: datetime
) -> SigningInvitation:
    """Revoke a pending invitation: its link answers that it was revoked from now on.

    Conditional on it still being pending, so a revocation racing the sign POST that
    uses it ends in one or the other, never both.
    """
    invitation = _pending_of(session, letter, invitation_id)
    changed = session.execute(
        update(SigningInvitation)
        .where(
            SigningInvitation.id == invitation.id,
            SigningInvitation.used_at.is_(None),
            SigningInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 1) != 1:
        raise NotPending(gettext("The invitation was used meanwhile; it cannot be revoked."))
    session.refresh(invitation)
    _record(session, "invitation.revoked", invitation, actor, now)
    return invitation


# --- The link, and the check at sign time -----------------------------------------------


def link_token(tokens: Tokens, invitation: SigningInvitation) -> str:
    """The invitation's link token (signed, not encrypted: it names the row and nonce)."""
    return tokens.make(PURPOSE, invitation.id, invitation.nonce)


def invitation_for_token(
    session: DbSession, tokens: Tokens, token: str, *, letter_id: int | None = None
) -> SigningInvitation:
    """The pending invitation ``token`` names (on ``letter_id``, when given), with its letter.

    ``InvalidToken``: "invalid" or "wrong_purpose" for a forged, garbled or foreign token
    (or one of another letter), "used" and "revoked" for a link that no longer works.
    """
    payload = tokens.read(PURPOSE, token)
    invitation = session.scalar(
        select(SigningInvitation)
        .options(joinedload(SigningInvitation.letter))
        .where(SigningInvitation.id == payload.row_id)
    )
    if invitation is None or not nonce_matches(invitation.nonce, payload.nonce):
        raise InvalidToken(INVALID)
    if letter_id is not None and invitation.letter_id != letter_id:
        raise InvalidToken(INVALID)
    if invitation.revoked_at is not None:
        raise InvalidToken(REVOKED)
    if invitation.used_at is not None:
        raise InvalidToken(USED)
    return invitation


def mark_opened(invitation: SigningInvitation, *, now: datetime) -> None:
    """Note the first opening of the link (a person's, or a mail scanner's)."""
    if invitation.opened_at is None:
        invitation.opened_at = now


class SigningRefused(DomainError):
    """The letter's policy refuses this signature (the sign POST words each reason)."""


class InvitationRequired(SigningRefused):
    """An invite-only letter, and no usable invitation: ``reason`` is the token's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotInvitedOrganization(SigningRefused):
    """The invitation is another organization's, or the form signs as an individual."""

    def __init__(self, organization: str) -> None:
        super().__init__(organization)
        self.organization = organization


class DomainNotAllowed(SigningRefused):
    """The address's domain is not one the letter lists."""


@dataclass(frozen=True)
class Admission:
    """What the sign POST must do after writing the signature: use up this invitation."""

    invitation_id: int | None = None
    nonce: str | None = None
    email: str | None = None


def admit_invited(
    session: DbSession, tokens: Tokens, *, letter_id: int, token: str | None
) -> tuple[Admission, str]:
    """The invitation the sign POST of an invite-only letter carries, and its organization.

    ``InvitationRequired`` with the token's reason ("missing" when there is none).
    """
    if not token:
        raise InvitationRequired("missing")
    try:
        invitation = invitation_for_token(session, tokens, token, letter_id=letter_id)
    except InvalidToken as error:
        raise InvitationRequired(error.reason) from None
    return Admission(invitation.id, invitation.nonce, invitation.email), invitation.organization


def check_signer(
    signing_policy: str,
    allowed_domains: str | None,
    *,
    invited_organization: str | None,
    kind: str,
    organization: str | None,
    email_domain: str,
) -> None:
    """The policy's checks of the form's fields, once they are valid (reads nothing)."""
    if signing_policy == SigningPolicy.DOMAINS and not email_allowed(email_domain, allowed_domains):
        raise DomainNotAllowed(email_domain)
    if signing_policy == SigningPolicy.INVITED and invited_organization is not None:
        same = organization_key(organization) == organization_key(invited_organization)
        if kind != SignatureKind.ORGANIZATION or not same:
            raise NotInvitedOrganization(invited_organization)


def use_invitation(
    session: DbSession,
    admission: Admission,
    *,
    letter_id: int,
    signature_id: int,
    email: str,
    now: datetime,
) -> None:
    """Use up the admission's invitation for the new signature ``signature_id``.

    A conditional UPDATE: ``InvitationRequired("used")`` when another form sent with the
    same link, or a revocation, came first (the caller rolls the signature back).
    """
    if admission.invitation_id is None:
        return
    changed = session.execute(
        update(SigningInvitation)
        .where(
            SigningInvitation.id == admission.invitation_id,
            SigningInvitation.nonce == admission.nonce,
            SigningInvitation.used_at.is_(None),
            SigningInvitation.revoked_at.is_(None),
        )
        .values(used_at=now, signature_id=signature_id)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 1) != 1:
        raise InvitationRequired(USED)
    detail: dict[str, Any] = {"invitation_id": admission.invitation_id}
    if (admission.email or "").casefold() != email.casefold():
        # The invitation binds the organization, not the address: say who else signed.
        detail["email_changed"] = True
    audit.record(
        session,
        "invitation.used",
        actor_label="signer",
        letter_id=letter_id,
        signature_id=signature_id,
        detail=detail,
        now=now,
    )
