"""The daily caps on the emails a signer can be sent, counted in the outbox.

Signing, signing again and "send me a new link" each queue an email to whatever address
was typed, so without a cap the sign form is a way to mail-bomb a stranger. The count is
taken from the database (the outbox's ``signature_id`` and ``created_at``, joined to the
signature's ``email_key``), so it holds across workers and machines, and it is compared
by the normalised key, so ``a.b+1@gmail.com`` and ``AB@googlemail.com`` share one budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from signatory.core.database import DbSession
from signatory.models.audit import AuditEvent, record
from signatory.models.outbox import OutboxMessage
from signatory.models.signature import Signature, email_key

CAP_WINDOW = timedelta(days=1)
CAPPED_ACTION = "signature.email_capped"


@dataclass(frozen=True)
class EmailCaps:
    """How many emails one signature, and one address across letters, may get in a day.

    The defaults are the configuration's (``SIGNER_EMAILS_PER_SIGNATURE_PER_DAY``,
    ``SIGNER_EMAILS_PER_ADDRESS_PER_DAY``).
    """

    per_signature: int = 5
    per_address: int = 10

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EmailCaps:
        return cls(
            per_signature=int(config["SIGNER_EMAILS_PER_SIGNATURE_PER_DAY"]),
            per_address=int(config["SIGNER_EMAILS_PER_ADDRESS_PER_DAY"]),
        )


def emails_sent_today(
    session: DbSession, signature: Signature, *, now: datetime
) -> tuple[int, int]:
    """Emails queued in the last day to the signer of ``signature``, and to its address anywhere.

    Only mail addressed to the signer counts: a coordinator's "review needed" email names
    the signature too.
    """
    since = now - CAP_WINDOW
    to_signature = session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.signature_id == signature.id,
            OutboxMessage.created_at >= since,
            OutboxMessage.to_addr == signature.email,
        )
    )
    return to_signature or 0, emails_to_address_today(session, email_key(signature.email), now=now)


def emails_to_address_today(session: DbSession, key: str, *, now: datetime) -> int:
    """Emails queued in the last day to the signers whose address has the email key ``key``."""
    return session.scalar(emails_to_address_query(key, since=now - CAP_WINDOW)) or 0


def emails_to_address_query(key: Any, *, since: Any) -> Select[int]:
    """How many emails were queued since ``since`` to the address with the email key ``key``.

    Either may be a value or a bound parameter (signing's one statement of checks).
    """
    return (
        select(func.count(OutboxMessage.id))
        .join(Signature, Signature.id == OutboxMessage.signature_id)
        .where(
            Signature.email_key == key,
            OutboxMessage.created_at >= since,
            OutboxMessage.to_addr == Signature.email,
        )
    )


def cap_reached(
    session: DbSession, signature: Signature, template: str, *, now: datetime, caps: EmailCaps
) -> bool:
    """Whether one more ``template`` email to the signer would pass a daily cap.

    Reaching a cap is audited once per address a day, however often it is hit.
    """
    to_signature, to_address = emails_sent_today(session, signature, now=now)
    if to_signature < caps.per_signature and to_address < caps.per_address:
        return False
    already = session.scalar(
        select(AuditEvent.id)
        .join(Signature, Signature.id == AuditEvent.signature_id)
        .where(
            AuditEvent.action == CAPPED_ACTION,
            AuditEvent.created_at >= now - CAP_WINDOW,
            Signature.email_key == email_key(signature.email),
        )
        .limit(1)
    )
    if already is None:
        record(
            session,
            CAPPED_ACTION,
            actor_label="system",
            letter_id=signature.letter_id,
            signature_id=signature.id,
            detail={
                "cap": "signature" if to_signature >= caps.per_signature else "address",
                "template": template,
                "per_signature": caps.per_signature,
                "per_address": caps.per_address,
            },
            now=now,
        )
    return True
