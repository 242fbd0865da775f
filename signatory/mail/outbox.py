"""Writing to the outbox. Callers enqueue inside their own transaction and never send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from signatory.core.database import DbSession
from signatory.core.ops.logs import current_request_id
from signatory.core.time import utcnow
from signatory.mail import registry
from signatory.models import OutboxMessage, OutboxStatus


def enqueue(
    session: DbSession,
    *,
    template: str,
    to: str,
    context: dict[str, Any],
    letter_id: int | None = None,
    signature_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction; the worker sends it."""
    if not registry.known(template):
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
        request_id=current_request_id(),
    )
    session.add(message)
    return message
