"""The audit trail: who did what to which letter or signature, and when.

Rows are only ever added (``record``), never edited or deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Connection, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.database import DbSession, insert_row
from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow


class AuditEvent(Model):
    """Append-only: nothing in the app edits or deletes these rows."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_letter_time", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letter.id", ondelete="SET NULL"))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="SET NULL")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    # Who acted when there is no coordinator: "signer", "cli", "system".
    actor_label: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def record(
    session: DbSession,
    action: str,
    *,
    actor_label: str,
    actor_id: int | None = None,
    letter_id: int | None = None,
    signature_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        **_event_values(action, actor_label, actor_id, letter_id, signature_id, detail, now)
    )
    session.add(event)
    return event


def record_at_once(
    connection: Connection,
    action: str,
    *,
    actor_label: str,
    actor_id: int | None = None,
    letter_id: int | None = None,
    signature_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """``record``, written by one INSERT on ``connection`` now, not an object flushed later.

    For a request that writes a few rows and commits (the sign POST), where the ORM's
    flush would cost more than the rows.
    """
    values = _event_values(action, actor_label, actor_id, letter_id, signature_id, detail, now)
    _INSERT_EVENT.first(connection, **values)


def _event_values(
    action: str,
    actor_label: str,
    actor_id: int | None,
    letter_id: int | None,
    signature_id: int | None,
    detail: dict[str, Any] | None,
    now: datetime | None,
) -> dict[str, Any]:
    return {
        "action": action,
        "actor_label": actor_label,
        "actor_id": actor_id,
        "letter_id": letter_id,
        "signature_id": signature_id,
        "detail": detail or {},
        "created_at": now or utcnow(),
    }


_INSERT_EVENT = insert_row(
    cast(Table, AuditEvent.__table__),
    ("action", "actor_label", "actor_id", "letter_id", "signature_id", "detail", "created_at"),
)
