"""Writing to the outbox. Callers enqueue inside their own transaction and never send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..models import OutboxMessage, OutboxStatus
from ..timeutil import utcnow

# Templates the worker knows how to render, each a templates/mail/<name>.{subject,txt,html}.
TEMPLATES = frozenset(
    {
        "confirm_request",  # "please confirm": the confirm link
        "withdraw_link",  # signing again once confirmed, or a fresh withdraw link
        "signature_confirmed",  # receipt after confirming: the withdraw link
        "withdrawal_receipt",  # after withdrawing
    }
)


def enqueue(
    session: Session,
    *,
    template: str,
    to: str,
    context: dict[str, Any],
    letter_id: int | None = None,
    signature_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction; the worker sends it."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    message = OutboxMessage(
        template=template,
        to_addr=to,
        context=context,
        letter_id=letter_id,
        signature_id=signature_id,
        status=OutboxStatus.PENDING,
        next_attempt_at=now or utcnow(),
        created_at=now or utcnow(),
    )
    session.add(message)
    return message
