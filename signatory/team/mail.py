"""The coordinators' account emails: a password reset link, and an invitation to a team."""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString, lazy_gettext, lazy_ngettext
from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import Coordinator
from signatory.models.membership import load_invitation

# A role as a sentence names it ("as editor"), and what it may do.
ROLE_NAMES = {
    "owner": lazy_gettext("owner"),
    "editor": lazy_gettext("editor"),
    "moderator": lazy_gettext("moderator"),
}
ROLE_DESCRIPTIONS = {
    "owner": lazy_gettext(
        "can do everything, including managing the team and delivering the letter"
    ),
    "editor": lazy_gettext(
        "can edit the text and settings, moderate signatures and export the list"
    ),
    "moderator": lazy_gettext("can review signatures awaiting moderation"),
}


def lifetime(seconds: int) -> LazyString:
    """A link's lifetime in words: "7 days", "1 hour", "90 minutes", in the language the
    email is rendered in (lazy: the worker builds the context before choosing it)."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return lazy_ngettext("%(num)s day", "%(num)s days", seconds // 86400)
    if seconds >= 3600 and seconds % 3600 == 0:
        return lazy_ngettext("%(num)s hour", "%(num)s hours", seconds // 3600)
    return lazy_ngettext("%(num)s minute", "%(num)s minutes", max(seconds // 60, 1))


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
        # Their chosen language, else that of the page where the reset was asked for.
        "locale": coordinator.language or context.get("locale"),
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
    account = session.scalar(select(Coordinator).where(Coordinator.email == invitation.email))
    letter = invitation.letter
    return {
        # An invitee with an account reads their own language; anyone else the inviter's.
        "locale": (account.language if account else None) or context.get("locale"),
        "invitation": invitation,
        "letter": letter,
        "inviter": (
            invitation.invited_by.name if invitation.invited_by else lazy_gettext("A coordinator")
        ),
        "role_name": ROLE_NAMES.get(invitation.role, invitation.role),
        "role_description": ROLE_DESCRIPTIONS.get(invitation.role, ""),
        "has_account": account is not None,
        "accept_url": env.url(f"/manage/invite/{token}"),
        "base_url": env.base_url,
        "valid_for": lifetime(env.config["INVITE_TOKEN_MAX_AGE"]),
    }


# What this module's emails are called, and what builds each one's context.
EMAILS: dict[str, Builder] = {
    "password_reset": _password_reset,
    "invitation": _invitation,
}
