"""The outbox: every email, as a row written in the transaction of the change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow


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
