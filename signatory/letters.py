"""Creating letters and coordinators: used by the commands now, by the workspace later."""

from __future__ import annotations

import re
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from signatory.core.errors import InvalidArgument
from signatory.core.text import render_markdown
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    LetterVersion,
    Membership,
    MembershipRole,
    Moderation,
    audit,
    change_letter_status,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 80
TITLE_MAX = 200
RECIPIENT_MAX = 300
BODY_MAX = 100_000
PASSWORD_MIN = 12
# Refused before hashing: a slow hash of a megabyte-long "password" is a cheap way to burn CPU.
PASSWORD_MAX = 1024


def create_letter(
    session: Session,
    *,
    slug: str,
    title: str,
    recipient: str,
    body_markdown: str,
    now: datetime,
    owner: Coordinator | None = None,
    open_now: bool = False,
    moderation: str = Moderation.NONE,
    allow_individuals: bool = True,
    require_domain_match: bool = False,
    actor_label: str = "cli",
) -> Letter:
    """A letter with its first version; a draft unless ``open_now``."""
    slug = slug.strip()
    title, recipient = title.strip(), recipient.strip()
    if not SLUG.match(slug) or len(slug) > SLUG_MAX:
        raise InvalidArgument(
            f"slug {slug!r} must be lowercase letters, digits and single hyphens, "
            f"at most {SLUG_MAX} characters"
        )
    for label, value, limit in (
        ("title", title, TITLE_MAX),
        ("recipient", recipient, RECIPIENT_MAX),
        ("body", body_markdown.strip(), BODY_MAX),
    ):
        if not value:
            raise InvalidArgument(f"the {label} is empty")
        if len(value) > limit:
            raise InvalidArgument(f"the {label} is longer than {limit} characters")
    if moderation not in set(Moderation):
        raise InvalidArgument(f"moderation must be one of {', '.join(Moderation)}")
    if session.scalar(select(Letter.id).where(Letter.slug == slug)) is not None:
        raise InvalidArgument(f"a letter with slug {slug!r} already exists")

    letter = Letter(
        slug=slug,
        title=title,
        recipient=recipient,
        status=LetterStatus.OPEN if open_now else LetterStatus.DRAFT,
        moderation=moderation,
        allow_individuals=allow_individuals,
        require_domain_match=require_domain_match,
        created_at=now,
        opened_at=now if open_now else None,
    )
    session.add(letter)
    session.add(
        LetterVersion(
            letter=letter,
            number=1,
            kind="initial",
            body_markdown=body_markdown,
            body_html=render_markdown(body_markdown),
            author_id=owner.id if owner else None,
            created_at=now,
        )
    )
    if owner is not None:
        session.add(
            Membership(coordinator=owner, letter=letter, role=MembershipRole.OWNER, created_at=now)
        )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidArgument(f"a letter with slug {slug!r} already exists") from None
    audit.record(
        session,
        "letter.created",
        actor_label=actor_label,
        actor_id=owner.id if owner else None,
        letter_id=letter.id,
        detail={"slug": slug, "status": str(letter.status)},
        now=now,
    )
    return letter


def normalise_coordinator_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidArgument(f"{email!r} is not a valid email address: {exc}") from None


def coordinator_by_email(session: Session, email: str) -> Coordinator | None:
    return session.scalar(
        select(Coordinator).where(Coordinator.email == normalise_coordinator_email(email))
    )


def create_coordinator(
    session: Session, *, email: str, name: str, password: str, now: datetime
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


def set_letter_status(
    session: Session,
    letter: Letter,
    event: str,
    *,
    now: datetime,
    actor_label: str = "cli",
    actor_id: int | None = None,
) -> Letter:
    """Open, close or reopen ``letter`` through its status machine, and audit the change.

    ``IllegalTransition`` (``DeadlinePassed`` among them) when the letter cannot make it;
    each caller words that for its own audience. Delivery audits its own event.
    """
    previous = letter.status
    status = change_letter_status(session, letter, event, now=now)
    audit.record(
        session,
        "letter.status_changed",
        actor_label=actor_label,
        actor_id=actor_id,
        letter_id=letter.id,
        detail={"from": str(previous), "to": str(status)},
        now=now,
    )
    return letter
