"""Who may sign a letter: its signing policy, and the invitations of invite-only letters.

A letter accepts signatures from anyone (the default), only from invited signers, or only
from email addresses at listed domains (``Letter.signing_policy`` and
``Letter.allowed_domains``, migration 0021). An invitation is per organization: a
coordinator invites an organization through a contact address, and the emailed link lets
one person sign for that organization, from that address or another one.

An invitation's link works until it is used (the sign form it opened is sent and a
signature is made: ``used_at``) or revoked (``revoked_at``); its nonce is the token's, so
the links of a row revoked and invited again are not each other's.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import new_nonce
from signatory.models.signature import NAME_MAX

if TYPE_CHECKING:
    from signatory.models.letter import Letter
    from signatory.models.signature import Signature
    from signatory.models.team import Coordinator

# The stored list of allowed domains ("un.org, *.gov.uk"), as ``invites.policy`` writes it.
ALLOWED_DOMAINS_MAX = 500
INVITATION_NOTE_MAX = 500
EMAIL_MAX = 320


class SigningPolicy(StrEnum):
    """Whom a letter accepts signatures from."""

    ANYONE = "anyone"
    INVITED = "invited"
    DOMAINS = "domains"


class InvitationState(StrEnum):
    """What became of an invitation, as the coordinators' list shows it."""

    SENT = "sent"
    OPENED = "opened"
    SIGNED = "signed"
    REVOKED = "revoked"


class SigningInvitation(Model):
    """An organization invited to sign an invite-only letter, through a contact address."""

    __tablename__ = "signing_invitation"
    __table_args__ = (
        Index("ix_signing_invitation_letter", "letter_id", "created_at"),
        # One pending invitation per organization and letter: inviting it again while its
        # link still works is a mistake (two links for one place), refused by the index.
        Index(
            "uq_signing_invitation_pending",
            "letter_id",
            "organization_key",
            unique=True,
            sqlite_where=text("used_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("used_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    organization: Mapped[str] = mapped_column(String(NAME_MAX))
    # ``models.signature.organization_key`` of the name: "E.F.F." and "eff" are one.
    organization_key: Mapped[str] = mapped_column(String(NAME_MAX))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    note: Mapped[str | None] = mapped_column(String(INVITATION_NOTE_MAX))
    nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The first time the link was opened (by a person or a mail scanner: it cannot tell).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signature.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")
    invited_by: Mapped[Coordinator | None] = relationship(lazy="raise_on_sql")
    signature: Mapped[Signature | None] = relationship(lazy="raise_on_sql")

    @property
    def state(self) -> InvitationState:
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.used_at is not None:
            return InvitationState.SIGNED
        if self.opened_at is not None:
            return InvitationState.OPENED
        return InvitationState.SENT

    @property
    def pending(self) -> bool:
        """Whether its link still works."""
        return self.used_at is None and self.revoked_at is None
