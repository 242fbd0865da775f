"""Writing audit events. Rows are only ever added, never edited or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.models import AuditEvent


def record(
    session: Session,
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
        action=action,
        actor_label=actor_label,
        actor_id=actor_id,
        letter_id=letter_id,
        signature_id=signature_id,
        detail=detail or {},
        created_at=now or utcnow(),
    )
    session.add(event)
    return event
