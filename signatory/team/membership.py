"""A letter's team: members and their roles, invitations by email, joining by link.

Rules kept here rather than in the views:

- only a pending invitation (neither accepted nor revoked) can be used, once;
- inviting an address again replaces its pending invitation (the old link stops working);
- a letter always keeps at least one owner: the last one can be neither demoted nor removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession, savepoint
from signatory.core.errors import DomainError, InvalidArgument
from signatory.core.i18n import current_locale
from signatory.core.tokens import TokenPayload, nonce_matches
from signatory.mail.outbox import enqueue
from signatory.models import (
    ROLE_RANK,
    Coordinator,
    Invitation,
    Letter,
    Membership,
    MembershipRole,
    audit,
    new_nonce,
)
from signatory.models.membership import load_invitation
from signatory.team import accounts
from signatory.team.accounts import normalise_coordinator_email

# Reasons an invitation link cannot be used, each with its own page.
GONE = "gone"
REVOKED = "revoked"
ACCEPTED = "accepted"


class TeamError(DomainError):
    """A change to the team that cannot be made; the message says why."""


class NotFound(TeamError):
    """The member or invitation is not part of this letter's team."""


class AlreadyMember(TeamError):
    pass


class LastOwner(TeamError):
    pass


class InvitationUnusable(DomainError):
    """An invitation link that cannot be used; ``reason`` is gone, revoked or accepted."""

    def __init__(self, reason: str, invitation: Invitation | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invitation = invitation


class WrongAccount(DomainError):
    """The invitation is for another email address than the signed-in account's."""


@dataclass(frozen=True)
class PendingInvitation:
    invitation: Invitation
    expires_at: datetime
    expired: bool


def _role(role: str) -> MembershipRole:
    try:
        return MembershipRole(role)
    except ValueError:
        raise InvalidArgument(
            gettext("Choose one of: %(roles)s.", roles=", ".join(MembershipRole))
        ) from None


def _record(
    session: DbSession,
    action: str,
    letter: Letter,
    actor: Coordinator,
    now: datetime,
    **detail: object,
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail=detail,
        now=now,
    )


# -- reading -----------------------------------------------------------------------------


def members(session: DbSession, letter: Letter) -> list[Membership]:
    """The team: owners first, then editors, then moderators, each by name."""
    rows = session.scalars(
        select(Membership)
        .options(joinedload(Membership.coordinator))
        .join(Coordinator, Coordinator.id == Membership.coordinator_id)
        .where(Membership.letter_id == letter.id)
        .order_by(Coordinator.name, Coordinator.id)
    ).all()
    return sorted(rows, key=lambda m: -ROLE_RANK[MembershipRole(m.role)])


def pending_invitations(
    session: DbSession, letter: Letter, *, lifetime: timedelta, now: datetime
) -> list[PendingInvitation]:
    """Invitations neither accepted nor revoked, newest first, with when their link expires."""
    rows = session.scalars(
        select(Invitation)
        .options(joinedload(Invitation.invited_by))
        .where(
            Invitation.letter_id == letter.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    # The link's own clock starts when the email is sent, moments after this.
    return [
        PendingInvitation(row, row.created_at + lifetime, row.created_at + lifetime <= now)
        for row in rows
    ]


def _member(session: DbSession, letter: Letter, member_id: int) -> Membership:
    membership = session.scalar(
        select(Membership)
        .options(joinedload(Membership.coordinator))
        .where(Membership.id == member_id)
    )
    # A membership of another letter is "not found" here, like any other id.
    if membership is None or membership.letter_id != letter.id:
        raise NotFound(member_id)
    return membership


def _owners(session: DbSession, letter: Letter) -> list[Membership]:
    # Locked (on PostgreSQL): two owners demoting each other at once must not both win.
    return list(
        session.scalars(
            select(Membership)
            .where(Membership.letter_id == letter.id, Membership.role == MembershipRole.OWNER)
            .with_for_update()
        )
    )


def _membership_of(session: DbSession, letter: Letter, email: str) -> Membership | None:
    return session.scalar(
        select(Membership)
        .options(joinedload(Membership.coordinator))
        .join(Coordinator, Coordinator.id == Membership.coordinator_id)
        .where(Membership.letter_id == letter.id, Coordinator.email == email)
    )


# -- owners' actions ---------------------------------------------------------------------


def invite(
    session: DbSession, letter: Letter, *, actor: Coordinator, email: str, role: str, now: datetime
) -> Invitation:
    """Invite ``email`` to the team with ``role`` and queue the invitation email.

    A pending invitation to the same address is revoked: only the newest link works.
    """
    role = _role(role)
    address = normalise_coordinator_email(email)
    existing = _membership_of(session, letter, address)
    if existing is not None:
        raise AlreadyMember(
            gettext(
                "%(email)s is already on this letter's team, as %(role)s. "
                "Change their role in the list instead.",
                email=address,
                role=existing.role,
            )
        )
    replaced = session.scalars(
        select(Invitation).where(
            Invitation.letter_id == letter.id,
            Invitation.email == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ).all()
    for old in replaced:
        old.revoked_at = now
        _record(
            session,
            "team.invitation_revoked",
            letter,
            actor,
            now,
            invitation_id=old.id,
            email=old.email,
            role=old.role,
            replaced=True,
        )
    invitation = Invitation(
        letter_id=letter.id,
        email=address,
        role=role,
        invited_by_id=actor.id,
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    enqueue(
        session,
        template="invitation",
        to=address,
        context={"invitation_id": invitation.id, "locale": current_locale()},
        letter_id=letter.id,
        now=now,
    )
    _record(
        session,
        "team.invited",
        letter,
        actor,
        now,
        invitation_id=invitation.id,
        email=address,
        role=str(role),
    )
    return invitation


def revoke_invitation(
    session: DbSession, letter: Letter, invitation_id: int, *, actor: Coordinator, now: datetime
) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    invitation = load_invitation(session, invitation_id)
    if invitation is None or invitation.letter_id != letter.id:
        raise NotFound(invitation_id)
    if invitation.accepted_at is not None:
        raise TeamError(
            gettext("%(email)s has already accepted this invitation.", email=invitation.email)
        )
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = now
    _record(
        session,
        "team.invitation_revoked",
        letter,
        actor,
        now,
        invitation_id=invitation.id,
        email=invitation.email,
        role=invitation.role,
    )
    return invitation


def change_role(
    session: DbSession,
    letter: Letter,
    member_id: int,
    *,
    actor: Coordinator,
    role: str,
    now: datetime,
) -> Membership:
    """Give a member another role; the last owner keeps theirs."""
    role = _role(role)
    membership = _member(session, letter, member_id)
    previous = membership.role
    if previous == role:
        return membership
    if previous == MembershipRole.OWNER and len(_owners(session, letter)) <= 1:
        raise LastOwner(
            gettext(
                "A letter needs at least one owner. Make someone else an owner first, "
                "then change this role."
            )
        )
    membership.role = role
    _record(
        session,
        "team.role_changed",
        letter,
        actor,
        now,
        member_id=membership.id,
        coordinator_id=membership.coordinator_id,
        email=membership.coordinator.email,
        **{"from": str(previous), "to": str(role)},
    )
    return membership


def remove_member(
    session: DbSession, letter: Letter, member_id: int, *, actor: Coordinator, now: datetime
) -> Coordinator:
    """Take a member off the team (the account itself stays); the last owner stays."""
    membership = _member(session, letter, member_id)
    if membership.role == MembershipRole.OWNER and len(_owners(session, letter)) <= 1:
        raise LastOwner(
            gettext(
                "A letter needs at least one owner. Make someone else an owner first, "
                "then remove this one."
            )
        )
    coordinator = membership.coordinator
    _record(
        session,
        "team.removed",
        letter,
        actor,
        now,
        member_id=membership.id,
        coordinator_id=coordinator.id,
        email=coordinator.email,
        role=str(membership.role),
    )
    session.delete(membership)
    session.flush()
    return coordinator


# -- the invited person's side -----------------------------------------------------------


def invitation_for_token(session: DbSession, payload: TokenPayload) -> Invitation:
    """The invitation a link is for, if it can still be used; else ``InvitationUnusable``."""
    invitation = load_invitation(session, payload.row_id)
    if invitation is None:
        raise InvitationUnusable(GONE)
    if invitation.revoked_at is not None:
        raise InvitationUnusable(REVOKED, invitation)
    if invitation.accepted_at is not None or not nonce_matches(invitation.nonce, payload.nonce):
        raise InvitationUnusable(ACCEPTED, invitation)
    return invitation


def account_for(session: DbSession, invitation: Invitation) -> Coordinator | None:
    """The existing account of the invited address, if there is one."""
    return session.scalar(select(Coordinator).where(Coordinator.email == invitation.email))


def _join(
    session: DbSession, invitation: Invitation, coordinator: Coordinator, now: datetime
) -> Membership:
    invitation.accepted_at = now
    invitation.nonce = new_nonce()
    letter = invitation.letter
    existing = _membership_of(session, letter, coordinator.email)
    if existing is not None:
        # Joined meanwhile by another invitation: the role they have stays.
        _record(
            session,
            "team.joined",
            letter,
            coordinator,
            now,
            invitation_id=invitation.id,
            role=str(existing.role),
            already_member=True,
        )
        return existing
    try:
        # Made inside the savepoint, so that the letter's and the coordinator's collections
        # are flushed inside it too.
        with savepoint(session):
            membership = Membership(
                coordinator=coordinator, letter=letter, role=invitation.role, created_at=now
            )
            session.add(membership)
    except IntegrityError:
        raise InvitationUnusable(ACCEPTED, invitation) from None
    _record(
        session,
        "team.joined",
        letter,
        coordinator,
        now,
        invitation_id=invitation.id,
        role=str(invitation.role),
        invited_by=invitation.invited_by_id,
    )
    return membership


def accept_with_new_account(
    session: DbSession,
    payload: TokenPayload,
    *,
    name: str,
    password: str,
    now: datetime,
) -> Membership:
    """Create the invited person's account and join the team with it.

    Raises ``accounts.AccountExists`` when the address has an account by now: the person
    must then sign in and accept with it.
    """
    invitation = invitation_for_token(session, payload)
    coordinator = accounts.create_account(
        session, email=invitation.email, name=name, password=password, now=now
    )
    return _join(session, invitation, coordinator, now)


def accept_as(
    session: DbSession, payload: TokenPayload, coordinator: Coordinator, *, now: datetime
) -> Membership:
    """Join the team with the signed-in account, which must be the invited address's."""
    invitation = invitation_for_token(session, payload)
    if coordinator.email != invitation.email:
        raise WrongAccount(invitation.email)
    return _join(session, invitation, coordinator, now)
