"""Writing to the outbox. Callers enqueue inside their own transaction and never send."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from signatory.core.database import DbSession, insert_row
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
    message = OutboxMessage(**_message_values(template, to, context, letter_id, signature_id, now))
    session.add(message)
    return message


def enqueue_at_once(
    connection: Connection,
    *,
    template: str,
    to: str,
    context: dict[str, Any],
    letter_id: int | None = None,
    signature_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """``enqueue``, written by one INSERT on ``connection`` now, not an object flushed later.

    For a request that writes a few rows and commits (the sign POST), where the ORM's
    flush would cost more than the rows.
    """
    values = _message_values(template, to, context, letter_id, signature_id, now)
    _INSERT_MESSAGE.first(connection, **values)


def _message_values(
    template: str,
    to: str,
    context: dict[str, Any],
    letter_id: int | None,
    signature_id: int | None,
    now: datetime | None,
) -> dict[str, Any]:
    if not registry.known(template):
        raise ValueError(f"unknown mail template {template!r}")
    at = now or utcnow()
    return {
        "template": template,
        "to_addr": to,
        "context": context,
        "letter_id": letter_id,
        "signature_id": signature_id,
        "status": OutboxStatus.PENDING,
        "next_attempt_at": at,
        "created_at": at,
        "request_id": current_request_id(),
    }


_INSERT_MESSAGE = insert_row(
    cast(Table, OutboxMessage.__table__),
    (
        "template", "to_addr", "context", "letter_id", "signature_id", "status",
        "next_attempt_at", "created_at", "request_id",
    ),
)  # fmt: skip
