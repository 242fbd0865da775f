"""A letter's team: each coordinator's membership and role, and invitations to join."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from signatory.core.database import DbSession
from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import new_nonce
from signatory.models.letter import Letter
from signatory.models.team import Coordinator


class MembershipRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    MODERATOR = "moderator"


# Each role can do everything the roles below it can.
ROLE_RANK = {MembershipRole.MODERATOR: 1, MembershipRole.EDITOR: 2, MembershipRole.OWNER: 3}


class Membership(Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("coordinator_id", "letter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("coordinator.id", ondelete="CASCADE"))
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    coordinator: Mapped[Coordinator] = relationship(lazy="raise_on_sql")
    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")

    def allows(self, role: str) -> bool:
        """Whether this membership's role is ``role`` or above it."""
        return ROLE_RANK[MembershipRole(self.role)] >= ROLE_RANK[MembershipRole(role)]


class Invitation(Model):
    """An emailed invitation to join a letter's team; the link works once (nonce)."""

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_letter", "letter_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letter.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("coordinator.id", ondelete="SET NULL")
    )
    nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    letter: Mapped[Letter] = relationship(lazy="raise_on_sql")
    invited_by: Mapped[Coordinator | None] = relationship(lazy="raise_on_sql")


def load_invitation(session: DbSession, invitation_id: int) -> Invitation | None:
    """The invitation ``invitation_id`` with its letter and who sent it, as it is always shown."""
    return session.scalar(
        select(Invitation)
        .options(joinedload(Invitation.letter), joinedload(Invitation.invited_by))
        .where(Invitation.id == invitation_id)
    )
