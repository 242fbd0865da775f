"""Coordinator accounts: authentication and its throttling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..letters import PASSWORD_MAX
from ..models import Coordinator, SignInAttempt

# Failed sign-ins allowed in THROTTLE_WINDOW per account and per address. Counting both,
# and neither globally, means an attacker can neither guess one account's password from
# many addresses nor lock everyone out from one.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 30

# Checked against when the address is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("not a real password, only there to spend time")


@dataclass(frozen=True)
class AuthResult:
    coordinator: Coordinator | None
    throttled: bool = False


def _failures(session: Session, column: object, value: str, since: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(column == value, SignInAttempt.succeeded.is_(False))
        .where(SignInAttempt.created_at >= since)
    )


def authenticate(
    session: Session, *, email: str, password: str, address: str, now: datetime
) -> AuthResult:
    """Check a sign-in and record the attempt; refuse while the account or address is throttled."""
    email_key = email.strip().lower()
    since = now - THROTTLE_WINDOW
    if (
        _failures(session, SignInAttempt.email_key, email_key, since) >= MAX_FAILURES_PER_ACCOUNT
        or _failures(session, SignInAttempt.address, address, since) >= MAX_FAILURES_PER_ADDRESS
    ):
        return AuthResult(None, throttled=True)
    coordinator = session.scalar(select(Coordinator).where(Coordinator.email == email_key))
    if len(password) > PASSWORD_MAX:
        ok = False
    elif coordinator is None or not coordinator.active:
        check_password_hash(_DUMMY_HASH, password)
        ok = False
    else:
        ok = check_password_hash(coordinator.password_hash, password)
    session.add(
        SignInAttempt(email_key=email_key[:320], address=address[:64], succeeded=ok, created_at=now)
    )
    if not ok:
        return AuthResult(None)
    coordinator.last_sign_in_at = now
    return AuthResult(coordinator)
