"""Coordinators and their sign-in attempts (their memberships of letters: ``membership``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from signatory.core.extensions import Model
from signatory.core.time import UTCDateTime, utcnow
from signatory.models.common import new_nonce


class NotifyPreference(StrEnum):
    EACH = "each"  # an email per signature awaiting review
    DIGEST = "digest"  # one email a day
    NONE = "none"


class Coordinator(Model):
    __tablename__ = "coordinator"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Part of the session's identity: rotating it (password change, reset) signs out
    # every other session of this account.
    session_token: Mapped[str] = mapped_column(String(32), default=new_nonce)
    # Nonce for the "forgot password" link; rotated when a link is used.
    reset_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notify: Mapped[str] = mapped_column(String(16), default=NotifyPreference.DIGEST)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The interface language chosen on the account page ("fr"): the workspace's and the
    # emails'. None follows the browser (Accept-Language), and English in emails.
    language: Mapped[str | None] = mapped_column(String(8))

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class SignInAttempt(Model):
    """Sign-in attempts, to throttle failures per account and per address (not globally)."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_email", "email_key", "created_at"),
        Index("ix_sign_in_attempt_address", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
