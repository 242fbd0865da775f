"""The coordinators' notification emails: a signature awaiting review, and the daily digest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.core.domains import email_domain, is_free_mail
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import Coordinator, Membership, NotifyPreference, SignatureStatus
from signatory.models.signature import load_signature
from signatory.notifications.service import letter_activity


def _coordinator(session: DbSession, context: dict[str, Any], preference: str) -> Coordinator:
    coordinator_id = context.get("coordinator_id")
    coordinator = (
        session.get(Coordinator, coordinator_id) if isinstance(coordinator_id, int) else None
    )
    if coordinator is None or not coordinator.active:
        raise Undeliverable(f"coordinator {coordinator_id} no longer exists or is inactive")
    # The choice is theirs until the moment of sending: someone who switched these emails
    # off while one waited in the outbox does not get it.
    if coordinator.notify != preference:
        raise Undeliverable(
            f"coordinator {coordinator_id} now asks for {coordinator.notify!r} notifications"
        )
    return coordinator


def _common(env: MailEnv) -> dict[str, Any]:
    return {
        "base_url": env.base_url,
        "account_url": env.url("/manage/account"),
        "dashboard_url": env.url("/manage/"),
    }


def _review_needed(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    coordinator = _coordinator(session, context, NotifyPreference.EACH)
    signature_id = context.get("signature_id")
    signature = load_signature(session, signature_id) if isinstance(signature_id, int) else None
    if signature is None:
        raise Undeliverable(f"signature {signature_id} no longer exists")
    if signature.status != SignatureStatus.PENDING_REVIEW:
        raise Undeliverable(
            f"signature {signature_id} is now {signature.status}; nothing left to review"
        )
    # Only a member sees a signer's details: someone removed from the team meanwhile does not.
    member = session.scalar(
        select(Membership.id).where(
            Membership.letter_id == signature.letter_id,
            Membership.coordinator_id == coordinator.id,
        )
    )
    if member is None:
        raise Undeliverable(f"coordinator {coordinator.id} is no longer on this letter's team")
    letter = signature.letter
    domain = email_domain(signature.email)
    return {
        **_common(env),
        "locale": coordinator.language,
        "coordinator": coordinator,
        "signature": signature,
        "letter": letter,
        "email_domain": domain,
        "free_mail": is_free_mail(domain),
        "moderation_url": env.url(f"/manage/letters/{letter.slug}/moderation"),
        "letter_url": env.url(f"/letters/{letter.slug}"),
    }


def _moment(context: dict[str, Any], key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(context.get(key)))
    except ValueError:
        raise Undeliverable(f"the digest's {key!r} is not a time") from None
    if moment.tzinfo is None:
        raise Undeliverable(f"the digest's {key!r} has no time zone")
    return moment


def _digest(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    coordinator = _coordinator(session, context, NotifyPreference.DIGEST)
    since, until = _moment(context, "since"), _moment(context, "until")
    letters = [
        {
            "letter": each.letter,
            "pending": each.pending,
            "new_pending": each.new_pending,
            "new_published": each.new_published,
            "moderation_url": env.url(f"/manage/letters/{each.letter.slug}/moderation"),
            "overview_url": env.url(f"/manage/letters/{each.letter.slug}/"),
        }
        for each in letter_activity(session, coordinator, since=since, until=until)
    ]
    if not letters:
        raise Undeliverable(f"nothing left to report to coordinator {coordinator.id}")
    return {
        **_common(env),
        "locale": coordinator.language,
        "coordinator": coordinator,
        "letters": letters,
        "since": since,
        "until": until,
        "total_pending": sum(each["pending"] for each in letters),
        "total_new_published": sum(each["new_published"] for each in letters),
        "total_new_pending": sum(each["new_pending"] for each in letters),
    }


# What this module's emails are called, and what builds each one's context.
EMAILS: dict[str, Builder] = {
    "review_needed": _review_needed,
    "digest": _digest,
}
