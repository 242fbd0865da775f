"""How many signatures each letter has, by status, kind and country: kept by the database.

Triggers on ``signature`` (migration 0011, on SQLite and PostgreSQL alike) add one to the
row of a signature's new (status, kind, country) and take one from its old, in the same
transaction as the change, whoever makes it: the ORM, a bulk UPDATE, a purge, a migration.
They also move ``Letter.list_revision`` on whenever the published list changes. So a count
or a live poll reads a few rows of this table or the letter's row, however many signatures
the letter has, and every web node reads the same numbers.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.extensions import Model


class SignatureTally(Model):
    __tablename__ = "signature_tally"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letter.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    signatures: Mapped[int] = mapped_column(Integer, default=0)
