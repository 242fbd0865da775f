"""The invitation to sign an invite-only letter: one email per organization invited.

The link is minted when the email is sent (``service.link_token``), from the row's nonce:
no live token waits in the outbox. An invitation revoked or used before its email goes
out is not sent at all.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.invites.service import TEMPLATE, link_token
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import SigningInvitation

LINK_PATH = "/invitation"


def _signing_invitation(
    session: DbSession, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    invitation_id = context.get("invitation_id")
    invitation = (
        session.scalar(
            select(SigningInvitation)
            .options(joinedload(SigningInvitation.letter), joinedload(SigningInvitation.invited_by))
            .where(SigningInvitation.id == invitation_id)
        )
        if isinstance(invitation_id, int)
        else None
    )
    if invitation is None:
        raise Undeliverable(f"signing invitation {invitation_id} no longer exists")
    if not invitation.pending:
        raise Undeliverable(f"signing invitation {invitation_id} was used or revoked")
    letter = invitation.letter
    return {
        # The inviting coordinator's language: the invitee has none on record.
        "locale": context.get("locale"),
        "invitation": invitation,
        "letter": letter,
        "inviter": (
            invitation.invited_by.name if invitation.invited_by else lazy_gettext("A coordinator")
        ),
        "sign_url": env.url(f"{LINK_PATH}/{link_token(env.tokens, invitation)}"),
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "base_url": env.base_url,
    }


EMAILS: dict[str, Builder] = {TEMPLATE: _signing_invitation}
