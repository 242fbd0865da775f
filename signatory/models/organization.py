"""Organizations shown as organizations: the logo an organization signature carries.

A logo is stored already re-encoded (``organizations.images``): the uploaded bytes are never
kept, so nothing served can be what was sent. One per signature; a new upload replaces the
image and sends it back to the coordinators (``pending``). The public sees it only once it
is ``approved`` and its signature is published.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow

if TYPE_CHECKING:
    from signatory.models.signature import Signature


class LogoStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SignatureLogo(Model):
    __tablename__ = "signature_logo"
    __table_args__ = (
        # The logo wall (approved logos of a letter, in signature order, keyset-paginated)
        # and the review queue (pending ones): each an equality on the letter and status,
        # then the signature's id, however many signatures the letter holds.
        Index("ix_signature_logo_letter", "letter_id", "status", "signature_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signature.id", ondelete="CASCADE"), unique=True
    )
    # The signature's letter, kept here so the wall and the queue read this table's index
    # alone, never walking the letter's signatures.
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=LogoStatus.PENDING)
    # The re-encoded image, never the uploaded bytes; its type, size and SHA-256 (the
    # served URL carries the hash's start, so a replaced logo gets a new address).
    image: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # What was uploaded, by its content: png, jpeg, webp or svg (for the coordinators).
    source_type: Mapped[str] = mapped_column(String(16))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    signature: Mapped[Signature] = relationship(lazy="raise_on_sql")

    @property
    def digest8(self) -> str:
        """The start of the image's SHA-256, as its public address carries it."""
        return self.sha256[:8]
