"""The signer's emails: confirm, receipt, withdraw link, withdrawal receipt."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from signatory.mail.registry import MailEnv, Undeliverable, email
from signatory.models import Signature, SignatureStatus, needs_review

# The signature statuses in which each email still says something true. A message that
# waited in the outbox while its signature moved on (say, confirmed before the worker sent
# the confirmation request) is not sent: its link would not work and its news is stale.
_STILL_TRUE: dict[str, tuple[str, ...]] = {
    "confirm_request": (SignatureStatus.UNCONFIRMED,),
    "signature_confirmed": (SignatureStatus.PENDING_REVIEW, SignatureStatus.PUBLISHED),
    "withdraw_link": (SignatureStatus.PENDING_REVIEW, SignatureStatus.PUBLISHED),
    "withdrawal_receipt": (SignatureStatus.WITHDRAWN,),
}


def signature_context(
    session: Session, name: str, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    """Load the signature an email is about and check the email still fits it."""
    signature_id = context.get("signature_id")
    if not isinstance(signature_id, int):
        raise Undeliverable("the message names no signature")
    signature = session.get(Signature, signature_id)
    if signature is None:
        raise Undeliverable(f"signature {signature_id} no longer exists (purged); nothing to send")
    if signature.status not in _STILL_TRUE[name]:
        raise Undeliverable(
            f"signature {signature_id} is now {signature.status}; "
            f"a {name} email would be out of date"
        )
    letter = signature.letter
    return {
        "signature": signature,
        "letter": letter,
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "base_url": env.base_url,
        "confirm_days": env.config["CONFIRM_TOKEN_MAX_AGE"] // 86400,
        "purge_days": env.config["UNCONFIRMED_PURGE_DAYS"],
        "needs_review": needs_review(letter, signature),
        # The signer's interface language when they signed: the email is written in it.
        "locale": signature.language,
    }


def withdraw_url(signature: Signature, env: MailEnv) -> str:
    token = env.tokens.make("withdraw", signature.id, signature.withdraw_nonce)
    return env.url(f"/withdraw/{token}")


@email("confirm_request")
def _confirm_request(session: Session, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "confirm_request", context, env)
    signature = built["signature"]
    token = env.tokens.make("confirm", signature.id, signature.confirm_nonce)
    built["confirm_url"] = env.url(f"/confirm/{token}")
    return built


@email("signature_confirmed")
def _signature_confirmed(session: Session, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "signature_confirmed", context, env)
    built["withdraw_url"] = withdraw_url(built["signature"], env)
    return built


@email("withdraw_link")
def _withdraw_link(session: Session, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "withdraw_link", context, env)
    built["withdraw_url"] = withdraw_url(built["signature"], env)
    return built


@email("withdrawal_receipt")
def _withdrawal_receipt(session: Session, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    return signature_context(session, "withdrawal_receipt", context, env)
