"""Keyword-only factories for rows the tests need, each flushing and returning what it made;
then the readers the tests check rows with, all on a session the caller holds."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.models import (
    AuditEvent,
    Coordinator,
    Letter,
    LetterVersion,
    Membership,
    OutboxMessage,
    Signature,
    new_nonce,
)
from signatory.models.signature import (
    email_key,
    lookalike_key,
    organization_key,
    search_key,
    sort_key,
)

_serial = itertools.count(1)

LETTER_BODY = """We, the undersigned organizations, ask the Committee to **protect** civic space.

1. Keep negotiations open to observers.
2. Publish the drafts.
"""


def make_letter(
    session: Session,
    *,
    slug: str | None = None,
    title: str = "Protect civic space in the treaty",
    recipient: str = "Chair of the Ad Hoc Committee",
    status: str = "open",
    moderation: str = "none",
    allow_individuals: bool = True,
    require_domain_match: bool = False,
    deadline: datetime | None = None,
    body: str = LETTER_BODY,
) -> Letter:
    letter = Letter(
        slug=slug or f"letter-{next(_serial)}",
        title=title,
        recipient=recipient,
        status=status,
        moderation=moderation,
        allow_individuals=allow_individuals,
        require_domain_match=require_domain_match,
        deadline=deadline,
    )
    session.add(letter)
    session.add(
        LetterVersion(letter=letter, number=1, body_markdown=body, body_html=render_markdown(body))
    )
    session.flush()
    return letter


def _current_version_id(session: Session, letter: Letter) -> int:
    version_id = session.scalar(
        select(LetterVersion.id)
        .where(LetterVersion.letter_id == letter.id)
        .order_by(LetterVersion.number.desc())
        .limit(1)
    )
    assert version_id is not None, f"letter {letter.slug} has no version"
    return version_id


def make_signature(
    session: Session,
    letter: Letter,
    *,
    kind: str = "organization",
    status: str = "published",
    organization: str | None = None,
    name: str = "Ada Example",
    title: str | None = "Director",
    email: str | None = None,
    country: str = "DE",
    organization_type: str | None = "ngo",
    website: str | None = None,
    domain_verified: bool = True,
    published_at: datetime | None = None,
    **extra: Any,
) -> Signature:
    n = next(_serial)
    if kind == "organization":
        organization = organization or f"Organization {n}"
        website = website or f"https://org{n}.example.org"
    else:
        organization_type = None
    now = utcnow()
    signature = Signature(
        letter=letter,
        # Read, not taken from letter.versions: a request in the test's session may have
        # read the letter without its versions (``with_versions=False``).
        version_id=_current_version_id(session, letter),
        kind=kind,
        organization=organization,
        country=country,
        organization_type=organization_type,
        website=website,
        name=name,
        title=title,
        email=email or f"person{n}@org{n}.example.org",
        domain_verified=domain_verified if kind == "organization" else False,
        status=status,
        confirm_nonce=new_nonce(),
        withdraw_nonce=new_nonce(),
        created_at=now,
        status_changed_at=now,
        published_at=(published_at or now) if status == "published" else None,
        **extra,
    )
    session.add(signature)
    session.flush()
    return signature


PASSWORD = "correct horse battery staple"


def make_coordinator(
    session: Session,
    *,
    email: str | None = None,
    name: str = "Casey Coordinator",
    password: str = PASSWORD,
    **extra: Any,
) -> Coordinator:
    from werkzeug.security import generate_password_hash

    coordinator = Coordinator(
        email=email or f"coordinator{next(_serial)}@coalition.example.org",
        name=name,
        # A cheap hash: the tests sign in hundreds of times, and the slow scrypt the app
        # uses is tested where accounts are created for real.
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1000"),
        **extra,
    )
    session.add(coordinator)
    session.flush()
    return coordinator


def make_member(
    session: Session,
    letter: Letter,
    *,
    role: str = "owner",
    coordinator: Coordinator | None = None,
    **fields: Any,
) -> Coordinator:
    """A coordinator with ``role`` on ``letter``: ``coordinator``, else a new one made with
    ``fields`` (``email``, ``name``, ``notify``... as ``make_coordinator`` takes them)."""
    coordinator = coordinator or make_coordinator(session, **fields)
    session.add(Membership(coordinator=coordinator, letter=letter, role=role))
    session.flush()
    return coordinator


def make_team(
    session: Session, letter: Letter, *, roles: Iterable[str] = ("owner", "editor", "moderator")
) -> dict[str, str]:
    """A new coordinator on ``letter`` for each of ``roles``; their emails by role."""
    return {role: make_member(session, letter, role=role).email for role in roles}


def bulk_publish(
    session: Session,
    letter: Letter,
    count: int,
    *,
    kind: str,
    per_instant: int = 5,
) -> None:
    """``count`` published rows of ``kind`` in one INSERT, named "Org o0", "Org o1"... ("Org i0"
    for individuals); every ``per_instant`` of them share a published_at instant."""
    base = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    organization = kind == "organization"
    session.execute(
        insert(Signature),
        [
            {
                "letter_id": letter.id,
                "version_id": _current_version_id(session, letter),
                "kind": kind,
                "organization": f"Org {kind[0]}{i}",
                "organization_key": organization_key(f"Org {kind[0]}{i}"),
                "country": "DE",
                "organization_type": "ngo" if organization else None,
                "website": f"https://org{kind[0]}{i}.example.org" if organization else None,
                "name": f"Signer {kind[0]}{i}",
                "email": f"bulk{kind[0]}{i}@example.org",
                "email_key": email_key(f"bulk{kind[0]}{i}@example.org"),
                # A Core insert skips the mapper events: the keys come from the same functions.
                "sort_key": sort_key(kind, f"Org {kind[0]}{i}", f"Signer {kind[0]}{i}"),
                "search_key": search_key(f"Org {kind[0]}{i}", f"Signer {kind[0]}{i}"),
                "lookalike_key": lookalike_key(f"Org {kind[0]}{i}"),
                "status": "published",
                "published_at": base + timedelta(seconds=i // per_instant),
            }
            for i in range(count)
        ],
    )


# --- Readers ------------------------------------------------------------------------------


def find_letter(session: Session, slug: str) -> Letter | None:
    """The letter ``slug``, or None when there is none."""
    return session.scalar(select(Letter).where(Letter.slug == slug))


def audit_events(session: Session, action: str | None = None) -> list[AuditEvent]:
    """The audit trail, oldest first: every event, or only those of ``action``."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


def audit_actions(session: Session) -> list[str]:
    """The action of every event in the audit trail, oldest first."""
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def outbox_messages(session: Session, template: str | None = None) -> list[OutboxMessage]:
    """The queued emails, oldest first: all of them, or only those made from ``template``."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return list(session.scalars(query))
