"""The outbox: every email, as a row written in the transaction of the change that causes
it; and the daily caps on the emails a signer can be sent, counted in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.database import DbSession
from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.audit import AuditEvent, record
from signatory.models.signature import Signature, email_key


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxFailure(StrEnum):
    """Why the last attempt did not deliver a message (``failure_kind``).

    ``temporary`` is on a pending row that will be tried again; the other three are on
    failed rows, which the worker never takes again unless ``flask mail retry`` re-queues
    them.
    """

    # The server answered 4xx, or the connection failed: tried again with backoff.
    TEMPORARY = "temporary"
    # The server answered 5xx to MAIL FROM, RCPT TO or DATA: it will refuse it again.
    PERMANENT = "permanent"
    # Temporary failures until MAIL_MAX_ATTEMPTS ran out.
    EXHAUSTED = "exhausted"
    # What it was about is gone or no longer true (a purged or already confirmed
    # signature): nothing was wrong with the mail, and nothing needs doing.
    OBSOLETE = "obsolete"


class OutboxMessage(Model):
    """An email to send, written in the transaction of the change that causes it.

    It stores the template and its context, not the rendered text: links carry tokens
    that are minted when the message is sent, so no live credential sits in this table.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # A letter's undelivered mail, for its coordinators' page and its count.
        Index("ix_outbox_letter_status", "letter_id", "status"),
        # A signature's emails by time: the daily caps on signer mail (migration 0006).
        Index("ix_outbox_signature_created", "signature_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    to_addr: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # The last failed attempt: one line naming the error, or the server's reply
    # ("550 5.1.1 No such user"); its SMTP code when the server gave one; and which kind
    # of failure it was (``OutboxFailure``). Cleared when the message is sent.
    last_error: Mapped[str | None] = mapped_column(Text)
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    failure_kind: Mapped[str | None] = mapped_column(String(16))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letter.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="SET NULL")
    )
    # The request (``X-Request-Id``) that queued it, so the worker's log lines about it can
    # be found beside the web node's; None for mail a command or the worker queued.
    request_id: Mapped[str | None] = mapped_column(String(128))


# --------------------------------------------------------------------------------------
# The daily caps on the emails a signer can be sent, counted in the outbox.
#
# Signing, signing again and "send me a new link" each queue an email to whatever address
# was typed, so without a cap the sign form is a way to mail-bomb a stranger. The count is
# taken from the database (the outbox's ``signature_id`` and ``created_at``, joined to the
# signature's ``email_key``), so it holds across workers and machines, and it is compared
# by the normalised key, so ``a.b+1@gmail.com`` and ``AB@googlemail.com`` share one budget.

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
