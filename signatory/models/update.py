"""Updates to signatories: news a letter's coordinators post, shown on the letter page and
emailed to the signatories who asked for it when signing (``Signature.updates_consent_at``).

An update is public from the moment it is posted. Emailing it is a second step: once a
coordinator asks for it (``send_requested_at``), the mail worker's chore queues the
recipients in batches, walking the letter's consenting signatures by id from
``queued_through``. Each recipient is a row of ``update_recipient``, unique per update and
signature, so nobody is queued twice, whatever runs twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import new_nonce
from signatory.models.signature import Signature

if TYPE_CHECKING:
    from signatory.models.letter import Letter
    from signatory.models.outbox import OutboxMessage

UPDATE_TITLE_MAX = 200
UPDATE_BODY_MAX = 20_000


class LetterUpdate(Model):
    """One piece of news on a letter: a title and a Markdown body, sanitised as letters are."""

    __tablename__ = "letter_update"
    __table_args__ = (
        # A letter's updates, newest first (the letter page, its updates page and feed).
        Index("ix_letter_update_letter_posted", "letter_id", "posted_at"),
        # The updates the mail worker is still queueing: nearly none at any time.
        Index(
            "ix_letter_update_sending",
            "send_requested_at",
            sqlite_where=text("send_requested_at IS NOT NULL AND queued_all_at IS NULL"),
            postgresql_where=text("send_requested_at IS NOT NULL AND queued_all_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(UPDATE_TITLE_MAX))
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id", ondelete="SET NULL"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Emailing: asked for when and by whom; the highest signature id queued so far (the
    # batches' cursor, moved only by a conditional UPDATE, so two workers never queue one
    # batch twice); how many were queued; when the last batch was.
    send_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    send_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    queued_through: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_all_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")

    @property
    def sending_started(self) -> bool:
        return self.send_requested_at is not None


class UpdateRecipient(Model):
    """One signature an update was queued for, with its email and its unsubscribe nonce.

    The nonce is never rotated: an unsubscribe link must keep answering (RFC 8058 clients
    may post it again), and it can only ever switch the updates off.
    """

    __tablename__ = "update_recipient"
    __table_args__ = (
        UniqueConstraint("update_id", "signature_id", name="uq_update_recipient"),
        Index("ix_update_recipient_outbox", "outbox_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("letter_update.id", ondelete="CASCADE"))
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id", ondelete="CASCADE"))
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    unsubscribe_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    update: Mapped[LetterUpdate] = relationship(lazy="raise_on_sql")
    signature: Mapped[Signature] = relationship(lazy="raise_on_sql")
    outbox_message: Mapped[OutboxMessage | None] = relationship(lazy="raise_on_sql")


# The batches' walk: a letter's consenting signatures in id order, read by keyset. Partial,
# so signatures without consent (most of them) write no entry. Declared here, beside the
# walk, rather than among the signature's own indexes.
Index(
    "ix_signature_updates_consent",
    Signature.letter_id,
    Signature.id,
    sqlite_where=text("updates_consent_at IS NOT NULL"),
    postgresql_where=text("updates_consent_at IS NOT NULL"),
)
