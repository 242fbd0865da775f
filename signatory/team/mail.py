"""The coordinators' account emails: a password reset link, and an invitation to a team."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import Coordinator
from signatory.models.membership import load_invitation

ROLE_DESCRIPTIONS = {
    "owner": lazy_gettext(
        "can do everything, including managing the team and delivering the letter"
    ),
    "editor": lazy_gettext(
        "can edit the text and settings, moderate signatures and export the list"
    ),
    "moderator": lazy_gettext("can review signatures awaiting moderation"),
}


def lifetime(seconds: int) -> str:
    """A link's lifetime in words: "7 days", "1 hour", "90 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600)):
        if seconds >= size and seconds % size == 0:
            return _count(seconds // size, unit)
    return _count(max(seconds // 60, 1), "minute")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _password_reset(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    coordinator_id = context.get("coordinator_id")
    coordinator = (
        session.get(Coordinator, coordinator_id) if isinstance(coordinator_id, int) else None
    )
    if coordinator is None or not coordinator.active:
        raise Undeliverable(f"coordinator {coordinator_id} no longer exists or is inactive")
    # Minted now with the current nonce: a link sent earlier and already used is dead,
    # and this one dies when any of them is used.
    token = env.tokens.make("sign-in", coordinator.id, coordinator.reset_nonce)
    return {
        "coordinator": coordinator,
        "reset_url": env.url(f"/manage/reset/{token}"),
        "forgot_url": env.url("/manage/forgot"),
        "base_url": env.base_url,
        "valid_for": lifetime(env.config["RESET_TOKEN_MAX_AGE"]),
    }


def _invitation(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    invitation_id = context.get("invitation_id")
    invitation = load_invitation(session, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None:
        raise Undeliverable(f"invitation {invitation_id} no longer exists")
    if invitation.revoked_at is not None or invitation.accepted_at is not None:
        raise Undeliverable(f"invitation {invitation_id} is no longer pending")
    token = env.tokens.make("invite", invitation.id, invitation.nonce)
    has_account = (
        session.scalar(select(Coordinator.id).where(Coordinator.email == invitation.email))
        is not None
    )
    letter = invitation.letter
    return {
        "invitation": invitation,
        "letter": letter,
        "inviter": invitation.invited_by.name if invitation.invited_by else "A coordinator",
        "role_description": ROLE_DESCRIPTIONS.get(invitation.role, ""),
        "has_account": has_account,
        "accept_url": env.url(f"/manage/invite/{token}"),
        "base_url": env.base_url,
        "valid_for": lifetime(env.config["INVITE_TOKEN_MAX_AGE"]),
    }


# What this module's emails are called, and what builds each one's context.
EMAILS: dict[str, Builder] = {
    "password_reset": _password_reset,
    "invitation": _invitation,
}
