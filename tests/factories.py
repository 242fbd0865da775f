"""Keyword-only factories for rows the tests need; each flushes and returns the row."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.models import Coordinator, Letter, LetterVersion, Membership, Signature, new_nonce

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
        version=letter.current_version,
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
    session: Session, letter: Letter, *, role: str = "owner", coordinator: Coordinator | None = None
) -> Coordinator:
    """A coordinator with ``role`` on ``letter`` (a new one unless given)."""
    coordinator = coordinator or make_coordinator(session)
    session.add(Membership(coordinator=coordinator, letter=letter, role=role))
    session.flush()
    return coordinator
