"""What coordinators do to many signatures at once: a bulk action on a flood (what they
held or rejected in one go, and by what rule), and a spreadsheet import (the uploaded
file kept between its preview and its confirmation, and how an imported signature came,
``Signature.source``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
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


# --------------------------------------------------------------------------------------
# Spreadsheet imports: an uploaded file kept between its preview and its confirmation,
# and how an imported signature came (``Signature.source``).


class SignatureSource(StrEnum):
    """``Signature.source``: None for a signature made on the sign form by its signer."""

    # From a coordinator's spreadsheet; its signer confirmed it by the emailed link.
    IMPORTED = "imported"
    # From a spreadsheet, published on the coordinators' word that the signer agreed and
    # the address was verified: the list marks it "added by the coordinators".
    ATTESTED = "attested"


class ImportBatch(Model):
    """An uploaded file awaiting confirmation: kept here so the browser never carries the
    rows between the preview and the import (it sends back only the column mapping).

    Deleted when imported, and once past ``expires_at`` (``imports.service``).
    """

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    # Only the coordinator who uploaded it may import it.
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    # The file as decoded text (at most IMPORT_MAX_BYTES), read again at the import.
    text: Mapped[str] = mapped_column(Text)
    # Column index (as text) -> sign form field, as last chosen.
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
