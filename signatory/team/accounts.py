"""Coordinator accounts: creating them, signing in (throttled), passwords, resets, profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.security import check_password_hash, generate_password_hash

from signatory.core.database import DbSession
from signatory.core.errors import DomainError, InvalidArgument, InvalidToken
from signatory.core.i18n import LOCALES, current_locale
from signatory.core.text import has_control_characters
from signatory.core.tokens import USED, TokenPayload, nonce_matches
from signatory.mail.outbox import enqueue
from signatory.models import (
    Coordinator,
    NotifyPreference,
    OutboxMessage,
    SignInAttempt,
    audit,
    new_nonce,
)

PASSWORD_MIN = 12
# Refused before hashing: a slow hash of a megabyte-long "password" is a cheap way to burn CPU.
PASSWORD_MAX = 1024

# Failed sign-ins allowed in THROTTLE_WINDOW per account and per address. Counting both,
# and neither globally, means an attacker can neither guess one account's password from
# many addresses nor lock everyone out from one.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 30

# Checked against when the address is unknown, so both answers take as long.
_DUMMY_HASH = generate_password_hash("not a real password, only there to spend time")


# --- Accounts by their address ------------------------------------------------------------


def normalise_coordinator_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidArgument(f"{email!r} is not a valid email address: {exc}") from None


def coordinator_by_email(session: DbSession, email: str) -> Coordinator | None:
    return session.scalar(
        select(Coordinator).where(Coordinator.email == normalise_coordinator_email(email))
    )


def create_coordinator(
    session: DbSession, *, email: str, name: str, password: str, now: datetime
) -> Coordinator:
    """A coordinator account; the password is kept only as a slow (scrypt) hash."""
    address = normalise_coordinator_email(email)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidArgument("the name must be 1 to 200 characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidArgument(f"the password is longer than {PASSWORD_MAX} characters")
    if len(password) < PASSWORD_MIN:
        raise InvalidArgument(f"the password must be at least {PASSWORD_MIN} characters")
    if session.scalar(select(Coordinator.id).where(Coordinator.email == address)) is not None:
        raise InvalidArgument(f"a coordinator with email {address} already exists")
    coordinator = Coordinator(
        email=address,
        name=name,
        password_hash=generate_password_hash(password),
        created_at=now,
    )
    session.add(coordinator)
    session.flush()
    audit.record(
        session,
        "coordinator.created",
        actor_label="cli",
        actor_id=coordinator.id,
        detail={"email": address},
        now=now,
    )
    return coordinator


# --- Signing in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthResult:
    coordinator: Coordinator | None
    throttled: bool = False


def _failures(
    session: DbSession, column: InstrumentedAttribute[str], value: str, since: datetime
) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(column == value, SignInAttempt.succeeded.is_(False))
        .where(SignInAttempt.created_at >= since)
    )
    return count or 0


def authenticate(
    session: DbSession, *, email: str, password: str, address: str, now: datetime
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
    if not ok or coordinator is None:
        return AuthResult(None)
    coordinator.last_sign_in_at = now
    return AuthResult(coordinator)


# -- passwords ---------------------------------------------------------------------------

NAME_MAX = 200

# "Forgot password" emails per account in RESET_MAIL_WINDOW: enough for a lost email or
# two, too few for the form to be used to flood someone's inbox.
RESET_MAIL_WINDOW = timedelta(hours=1)
MAX_RESET_MAILS = 3


class WrongPassword(DomainError):
    """The current password given to confirm a change does not match."""


class AccountExists(DomainError):
    """An account with this email already exists."""


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidArgument(
            gettext("Enter a name, at most %(max)s characters long.", max=NAME_MAX)
        )
    if has_control_characters(name):
        raise InvalidArgument(gettext("Use letters, numbers and punctuation only, on one line."))
    return name


def check_password_rules(password: str) -> None:
    """Refuse a new password that is too short or too long (before any hashing)."""
    if len(password) > PASSWORD_MAX:
        raise InvalidArgument(gettext("Use at most %(max)s characters.", max=PASSWORD_MAX))
    if len(password) < PASSWORD_MIN:
        raise InvalidArgument(gettext("Use at least %(min)s characters.", min=PASSWORD_MIN))


def _set_password(coordinator: Coordinator, password: str) -> None:
    check_password_rules(password)
    coordinator.password_hash = generate_password_hash(password)
    # Part of every session's identity: all sessions made with the old password end.
    coordinator.session_token = new_nonce()


def create_account(
    session: DbSession, *, email: str, name: str, password: str, now: datetime
) -> Coordinator:
    """An account made by the person themselves (from an invitation), audited as theirs.

    ``letters.create_coordinator`` is the operator's way (the CLI); this one is the same
    account, but the audit trail names the new coordinator as the one who acted.
    """
    address = normalise_coordinator_email(email)
    name = _checked_name(name)
    check_password_rules(password)
    if session.scalar(select(Coordinator.id).where(Coordinator.email == address)) is not None:
        raise AccountExists(address)
    coordinator = Coordinator(
        email=address,
        name=name,
        password_hash=generate_password_hash(password),
        created_at=now,
        last_sign_in_at=now,
    )
    session.add(coordinator)
    session.flush()
    audit.record(
        session,
        "coordinator.created",
        actor_label="coordinator",
        actor_id=coordinator.id,
        detail={"email": address},
        now=now,
    )
    return coordinator


def change_password(
    session: DbSession, coordinator: Coordinator, *, current: str, new: str, now: datetime
) -> None:
    """Set a new password after checking the current one; other sessions are signed out."""
    if len(current) > PASSWORD_MAX or not check_password_hash(coordinator.password_hash, current):
        raise WrongPassword()
    _set_password(coordinator, new)
    audit.record(
        session,
        "coordinator.password_changed",
        actor_label="coordinator",
        actor_id=coordinator.id,
        now=now,
    )


def update_profile(
    session: DbSession,
    coordinator: Coordinator,
    *,
    name: str,
    notify: str,
    language: str | None,
    now: datetime,
) -> bool:
    """Change the display name, the notification choice and the language (None or "":
    the browser's); False when nothing changed."""
    name = _checked_name(name)
    if notify not in set(NotifyPreference):
        raise InvalidArgument(
            gettext("Choose one of: %(choices)s.", choices=", ".join(NotifyPreference))
        )
    language = language or None
    if language is not None and language not in LOCALES:
        raise InvalidArgument(gettext("Choose one of: %(choices)s.", choices=", ".join(LOCALES)))
    changes: dict[str, list[str | None]] = {}
    if name != coordinator.name:
        changes["name"] = [coordinator.name, name]
        coordinator.name = name
    if notify != coordinator.notify:
        changes["notify"] = [str(coordinator.notify), notify]
        coordinator.notify = notify
    if language != coordinator.language:
        changes["language"] = [coordinator.language, language]
        coordinator.language = language
    if not changes:
        return False
    audit.record(
        session,
        "coordinator.updated",
        actor_label="coordinator",
        actor_id=coordinator.id,
        detail=changes,
        now=now,
    )
    return True


# -- "forgot password" -------------------------------------------------------------------


def request_password_reset(session: DbSession, *, email: str, now: datetime) -> bool:
    """Queue a ``password_reset`` email if ``email`` names an active account.

    The caller answers the same whatever this returns (True when an email was queued),
    so the form does not tell who has an account.
    """
    try:
        address = normalise_coordinator_email(email)
    except InvalidArgument:
        return False
    coordinator = session.scalar(select(Coordinator).where(Coordinator.email == address))
    if coordinator is None or not coordinator.active:
        return False
    recent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.template == "password_reset",
            OutboxMessage.to_addr == coordinator.email,
            OutboxMessage.created_at >= now - RESET_MAIL_WINDOW,
        )
    )
    if (recent or 0) >= MAX_RESET_MAILS:
        return False
    enqueue(
        session,
        template="password_reset",
        to=coordinator.email,
        # The language of the page that asked, for an account that has not chosen one.
        context={"coordinator_id": coordinator.id, "locale": current_locale()},
        now=now,
    )
    return True


def coordinator_for_reset(session: DbSession, payload: TokenPayload) -> Coordinator:
    """The account a reset link is for, if the link can still be used; else ``InvalidToken``."""
    coordinator = session.get(Coordinator, payload.row_id)
    if coordinator is None or not coordinator.active:
        raise InvalidToken("gone")
    if not nonce_matches(coordinator.reset_nonce, payload.nonce):
        raise InvalidToken(USED)
    return coordinator


def reset_password(
    session: DbSession, payload: TokenPayload, *, password: str, now: datetime
) -> Coordinator:
    """Set a new password from a reset link: the link then stops working, as does every
    session signed in with the old password."""
    coordinator = coordinator_for_reset(session, payload)
    _set_password(coordinator, password)
    coordinator.reset_nonce = new_nonce()
    coordinator.last_sign_in_at = now
    audit.record(
        session,
        "coordinator.password_reset",
        actor_label="coordinator",
        actor_id=coordinator.id,
        now=now,
    )
    return coordinator
