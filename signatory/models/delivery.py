"""A delivery: the list as it was handed over to the letter's recipient."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow

if TYPE_CHECKING:
    from signatory.models.letter import Letter


class Delivery(Model):
    """The list as handed over: frozen bytes, counts and their SHA-256, never rewritten."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    delivered_to: Mapped[str] = mapped_column(String(300))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    csv_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    organizations: Mapped[int] = mapped_column(Integer)
    individuals: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")
