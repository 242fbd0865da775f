"""The update email: to each consenting signatory, as a coordinator's test, or previewed.

One template (templates/mail/letter_update.*), three readers:

- a signatory (context ``update_id`` and ``signature_id``): checked again at send time (the
  signature still stands, still wants updates, was not erased), written in the signer's
  language, with a one-click unsubscribe link in the body and in the ``List-Unsubscribe``
  and ``List-Unsubscribe-Post`` headers (RFC 2369, RFC 8058);
- the coordinator's test (``update_id`` and ``coordinator_id``): the same email, marked as a
  test, to their own address, with no working unsubscribe link (they hold no signature);
- the preview (``preview``): what a signatory gets, with a stand-in name and link, built
  for the workspace page and never queued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.mail.registry import HEADERS, Builder, MailEnv, Undeliverable
from signatory.models import (
    STANDING_STATUSES,
    Coordinator,
    LetterUpdate,
    Signature,
    UpdateRecipient,
)
from signatory.updates.service import TEMPLATE

UNSUBSCRIBE_PATH = "/unsubscribe"


def unsubscribe_url(recipient: UpdateRecipient, env: MailEnv) -> str:
    """The recipient's unsubscribe link: the one-click POST target and the page's GET."""
    token = env.tokens.make("unsubscribe", recipient.id, recipient.unsubscribe_nonce)
    return env.url(f"{UNSUBSCRIBE_PATH}/{token}")


def one_click_headers(url: str) -> dict[str, str]:
    """RFC 8058: the link in angle brackets, and the header saying a bare POST is enough."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _update(session: DbSession, update_id: Any) -> LetterUpdate:
    found = (
        session.scalar(
            select(LetterUpdate)
            .options(joinedload(LetterUpdate.letter))
            .where(LetterUpdate.id == update_id)
        )
        if isinstance(update_id, int)
        else None
    )
    if found is None:
        raise Undeliverable(f"update {update_id} no longer exists; nothing to send")
    return found


def _common(posted: LetterUpdate, env: MailEnv) -> dict[str, Any]:
    letter = posted.letter
    return {
        "update": posted,
        "letter": letter,
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "updates_url": env.url(f"/letters/{letter.slug}/updates#update-{posted.id}"),
        "base_url": env.base_url,
        "test": False,
        "preview": False,
    }


def _to_signatory(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    update_id, signature_id = context.get("update_id"), context.get("signature_id")
    recipient = session.scalar(
        select(UpdateRecipient)
        .options(joinedload(UpdateRecipient.signature))
        .where(UpdateRecipient.update_id == update_id, UpdateRecipient.signature_id == signature_id)
    )
    if recipient is None:
        raise Undeliverable(f"signature {signature_id} is not a recipient of update {update_id}")
    signature: Signature = recipient.signature
    # Checked again now: the signer may have withdrawn, been erased or unsubscribed since
    # the batch was queued.
    if signature.status not in STANDING_STATUSES:
        raise Undeliverable(f"signature {signature_id} is now {signature.status}")
    if signature.erased_at is not None:
        raise Undeliverable(f"signature {signature_id} was erased; there is nobody to write to")
    if signature.updates_consent_at is None:
        raise Undeliverable(f"signature {signature_id} no longer wants this letter's updates")
    built = _common(_update(session, update_id), env)
    url = unsubscribe_url(recipient, env)
    built.update(
        {
            "recipient_name": signature.name,
            "unsubscribe_url": url,
            # The signer's interface language when they signed: the email is written in it.
            "locale": signature.language,
            HEADERS: one_click_headers(url),
        }
    )
    return built


def _to_coordinator(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    coordinator_id = context.get("coordinator_id")
    coordinator = (
        session.get(Coordinator, coordinator_id) if isinstance(coordinator_id, int) else None
    )
    if coordinator is None or not coordinator.active:
        raise Undeliverable(f"coordinator {coordinator_id} no longer exists or is inactive")
    built = _common(_update(session, context.get("update_id")), env)
    built.update(
        {
            "recipient_name": coordinator.name,
            "unsubscribe_url": None,
            "test": True,
            "locale": coordinator.language,
        }
    )
    return built


def _preview(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = _common(_update(session, context.get("update_id")), env)
    # A stand-in: each signatory's own link is made when their email is sent.
    url = env.url(f"{UNSUBSCRIBE_PATH}/...")
    built.update(
        {
            "recipient_name": str(context.get("recipient_name") or "…"),
            "unsubscribe_url": url,
            "preview": True,
            HEADERS: one_click_headers(url),
        }
    )
    return built


def _letter_update(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    if context.get("preview"):
        return _preview(session, context, env)
    if "coordinator_id" in context:
        return _to_coordinator(session, context, env)
    return _to_signatory(session, context, env)


EMAILS: dict[str, Builder] = {TEMPLATE: _letter_update}
