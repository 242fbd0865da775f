"""The signer's emails: confirm, receipt, withdraw link, withdrawal receipt, a moderator's
decision, the link to their manage-my-signature page, and the news of a substantive change
to the text they signed. Every one but the confirmation request links that page."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.core.tokens import scoped_nonce
from signatory.letters import diff
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import (
    STANDING_STATUSES,
    LetterVersion,
    Signature,
    SignatureStatus,
    needs_review,
)
from signatory.models.signature import load_signature

# The signature statuses in which each email still says something true. A message that
# waited in the outbox while its signature moved on (say, confirmed before the worker sent
# the confirmation request) is not sent: its link would not work and its news is stale.
_STILL_TRUE: dict[str, tuple[str, ...]] = {
    "confirm_request": (SignatureStatus.UNCONFIRMED,),
    "signature_confirmed": (SignatureStatus.PENDING_REVIEW, SignatureStatus.PUBLISHED),
    "withdraw_link": (
        SignatureStatus.PENDING_REVIEW,
        SignatureStatus.PUBLISHED,
        SignatureStatus.LAPSED,
    ),
    "withdrawal_receipt": (SignatureStatus.WITHDRAWN,),
    # A moderator's decision, told to the signer (``moderation.decide``).
    "signature_approved": (SignatureStatus.PUBLISHED,),
    "signature_rejected": (SignatureStatus.REJECTED,),
    # The link to the manage-my-signature page, asked for by the signer (``own``).
    "manage_link": (
        SignatureStatus.UNCONFIRMED,
        SignatureStatus.PENDING_REVIEW,
        SignatureStatus.PUBLISHED,
        SignatureStatus.WITHDRAWN,
        SignatureStatus.REJECTED,
    ),
}


def signature_context(
    session: DbSession, name: str, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    """Load the signature an email is about and check the email still fits it."""
    signature_id = context.get("signature_id")
    if not isinstance(signature_id, int):
        raise Undeliverable("the message names no signature")
    signature = load_signature(session, signature_id)
    if signature is None:
        raise Undeliverable(f"signature {signature_id} no longer exists (purged); nothing to send")
    if signature.status not in _STILL_TRUE[name]:
        raise Undeliverable(
            f"signature {signature_id} is now {signature.status}; "
            f"a {name} email would be out of date"
        )
    if signature.erased_at is not None:
        raise Undeliverable(f"signature {signature_id} was erased; there is nobody to write to")
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
        "manage_url": manage_url(signature, env),
    }


def withdraw_url(signature: Signature, env: MailEnv) -> str:
    token = env.tokens.make("withdraw", signature.id, signature.withdraw_nonce)
    return env.url(f"/withdraw/{token}")


def keep_url(signature: Signature, version: LetterVersion, env: MailEnv) -> str:
    """The link that keeps ``signature`` on ``version`` (served by ``signatory.reconfirm``).

    Its nonce names the version, so a link for an older version is told apart from one
    for the newest; the path is the one ``reconfirm.public`` serves.
    """
    nonce = scoped_nonce(version.id, signature.reconfirm_nonce or "")
    token = env.tokens.make("reconfirm", signature.id, nonce)
    return env.url(f"/letters/{signature.letter.slug}/keep/{token}")


def manage_url(signature: Signature, env: MailEnv) -> str:
    """The signer's manage-my-signature page (``privacy``): what is held, withdraw, correct."""
    token = env.tokens.make("manage", signature.id, signature.manage_nonce)
    return env.url(f"{MANAGE_PATH}/{token}")


# Where the manage-my-signature pages are (served by ``signatory.privacy.public``).
MANAGE_PATH = "/my-signature"


def _confirm_request(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "confirm_request", context, env)
    signature = built["signature"]
    token = env.tokens.make("confirm", signature.id, signature.confirm_nonce)
    built["confirm_url"] = env.url(f"/confirm/{token}")
    return built


def _signature_confirmed(
    session: DbSession, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    built = signature_context(session, "signature_confirmed", context, env)
    built["withdraw_url"] = withdraw_url(built["signature"], env)
    return built


def _withdraw_link(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "withdraw_link", context, env)
    built["withdraw_url"] = withdraw_url(built["signature"], env)
    return built


def _withdrawal_receipt(
    session: DbSession, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    return signature_context(session, "withdrawal_receipt", context, env)


def _signature_approved(
    session: DbSession, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    built = signature_context(session, "signature_approved", context, env)
    built["withdraw_url"] = withdraw_url(built["signature"], env)
    built["reason"] = built["signature"].moderation_reason
    return built


def _signature_rejected(
    session: DbSession, context: dict[str, Any], env: MailEnv
) -> dict[str, Any]:
    built = signature_context(session, "signature_rejected", context, env)
    built["reason"] = built["signature"].moderation_reason
    return built


def _manage_link(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    built = signature_context(session, "manage_link", context, env)
    built["manage_days"] = max(1, env.config["MANAGE_TOKEN_MAX_AGE"] // 86400)
    return built


# Unchanged paragraphs kept around each change in the emailed comparison: enough to see
# where a change sits without repeating the whole letter.
CONTEXT_PARAGRAPHS = 1


def _version_changed(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    """The difference between the version signed and the new one, a link to keep the
    signature on the new version and a withdrawal link.

    Checked again at send time: a signature withdrawn (or otherwise gone) while the
    message waited gets nothing, and neither does one already on this version or later.
    """
    signature_id, version_id = context.get("signature_id"), context.get("version_id")
    if not isinstance(signature_id, int) or not isinstance(version_id, int):
        raise Undeliverable("the message names no signature or version")
    signature = session.get(
        Signature,
        signature_id,
        options=[joinedload(Signature.letter), joinedload(Signature.version)],
    )
    if signature is None:
        raise Undeliverable(f"signature {signature_id} no longer exists; nothing to send")
    if signature.status not in STANDING_STATUSES:
        raise Undeliverable(
            f"signature {signature_id} is now {signature.status}; it is no longer on the letter"
        )
    version = session.get(LetterVersion, version_id)
    if version is None or version.letter_id != signature.letter_id:
        raise Undeliverable(f"version {version_id} is not a version of this signature's letter")
    signed = signature.version
    if signed.number >= version.number:
        raise Undeliverable(
            f"signature {signature_id} was signed against version {signed.number}, "
            f"not before version {version.number}"
        )
    letter = signature.letter
    changes = diff.compare(signed.body_markdown, version.body_markdown)
    history = f"/letters/{letter.slug}/versions"
    return {
        "signature": signature,
        "letter": letter,
        "version": version,
        "signed_version": signed,
        "diff_text": diff.to_text(changes, context=CONTEXT_PARAGRAPHS),
        "diff_html": diff.to_html(changes, context=CONTEXT_PARAGRAPHS, email=True),
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "history_url": env.url(history),
        "compare_url": env.url(f"{history}/compare?from={signed.number}&to={version.number}"),
        "withdraw_url": withdraw_url(signature, env),
        "keep_url": keep_url(signature, version, env),
        "manage_url": manage_url(signature, env),
        "base_url": env.base_url,
        # The signer's interface language when they signed: the email is written in it.
        "locale": signature.language,
    }


# What this module's emails are called, and what builds each one's context.
EMAILS: dict[str, Builder] = {
    "confirm_request": _confirm_request,
    "signature_confirmed": _signature_confirmed,
    "withdraw_link": _withdraw_link,
    "withdrawal_receipt": _withdrawal_receipt,
    "version_changed": _version_changed,
    "signature_approved": _signature_approved,
    "signature_rejected": _signature_rejected,
    "manage_link": _manage_link,
}
