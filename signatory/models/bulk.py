"""A bulk action on a flood: what a coordinator held or rejected in one go, and by what rule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow


class BulkKind(StrEnum):
    # Held for review: taken off the list (or kept from it) until a coordinator releases them.
    HOLD = "hold"
    # Rejected: for good, not reversible.
    REJECT = "reject"


class BulkAction(Model):
    """One bulk hold or rejection. A hold's signatures point back at it (``Signature.hold_id``)."""

    __tablename__ = "bulk_action"
    __table_args__ = (Index("ix_bulk_action_letter", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The rule that chose the signatures: client-address prefix, email domain, time window.
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How many signatures it changed, by the status they had before.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
