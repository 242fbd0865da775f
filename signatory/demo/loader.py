"""A demo letter with realistic (invented) signatories, so a first run has something to show.

The organizations, people and domains are fictional; ``.example`` domains are reserved
and can never belong to anyone.

It also makes a demo coordinator account (owner of the demo letter, with a fixed,
documented password: it exists only in a local demo database), a moderation queue with
the cases a moderator meets (a free-mail address, a near-duplicate organization name, an
acronym of a name already on the list, a plain domain mismatch) and a second,
substantive version of the text, with earlier signatures still on the first.

The invented data lives beside this module, to be edited without touching code:
``letter.md`` and ``letter-v2.md`` are the two versions of the text (``letter-v2.fr.md`` and
``letter-v2.ar.md`` the second's French and Arabic translations), ``signatories.json``
the published organizations and individuals (signing order is list order) and the
signatures awaiting review. They are read once, on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import func, select

from signatory.core.database import DbSession
from signatory.core.domains import email_matches_website
from signatory.core.text import render_markdown
from signatory.demo.coalition import AUTHORISED_WORDING, add_coalition_demo
from signatory.letters.service import create_letter
from signatory.letters.settings import passed_milestone
from signatory.letters.translations import add_translation
from signatory.models import (
    LIVE_STATUSES,
    Coordinator,
    Letter,
    LetterVersion,
    Membership,
    MembershipRole,
    Moderation,
    NotifyPreference,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    new_nonce,
)
from signatory.models.signature import email_key
from signatory.team.accounts import create_coordinator

DEMO_SLUG = "civic-space-in-the-treaty"
DEMO_TITLE = "Keep civil society in the room: an open letter on the draft convention"
DEMO_RECIPIENT = "Chair of the Ad Hoc Committee on the draft convention"

# Version 2 (letter-v2.md) is a substantive change (a fourth request, and more in the
# second), so the version history has a readable diff and earlier signatures visibly
# point at version 1.
DEMO_V2_NOTE = (
    "Added a fourth request (a public record of who takes part in informal consultations) "
    "and asked for revised drafts to be published with their annexes."
)
# How long ago version 2 was published: signatures before it signed version 1.
DEMO_V2_AGE = timedelta(days=8)
DEMO_GOAL = 100
DEMO_MILESTONES = "25%, 75%"

# The demo coordinator. The password is fixed and printed by ./scripts/serve: this
# account only ever exists in a local demo database, never in production data.
DEMO_COORDINATOR_EMAIL = "demo@signatory.example"
DEMO_COORDINATOR_NAME = "Demo Coordinator"
DEMO_COORDINATOR_PASSWORD = "demo-coordinator-password"  # noqa: S105 - documented demo login

# The data files' names, inside this package.
_BODY_FILE = "letter.md"
_BODY_V2_FILE = "letter-v2.md"
# Version 2 in two more languages, one written right to left: (language, title, file).
_TRANSLATIONS = (
    (
        "fr",
        "Garder la société civile dans la salle : lettre ouverte sur le projet de convention",
        "letter-v2.fr.md",
    ),
    ("ar", "إبقاء المجتمع المدني في القاعة: رسالة مفتوحة بشأن مشروع الاتفاقية", "letter-v2.ar.md"),
)
_SIGNATORIES_FILE = "signatories.json"


@dataclass(frozen=True)
class _Organization:
    """An organization that signs; its email's domain decides whether it is verified."""

    organization: str
    country: str
    organization_type: str
    website: str
    name: str
    title: str
    email: str


@dataclass(frozen=True)
class _PendingCase(_Organization):
    """A signature awaiting review: ``case`` says which moderator's case it shows."""

    case: str
    hours_ago: int


@dataclass(frozen=True)
class _Individual:
    """A published individual; the affiliation is for identification only."""

    name: str
    country: str
    title: str
    affiliation: str | None
    email: str


@dataclass(frozen=True)
class _Signatories:
    organizations: tuple[_Organization, ...]
    individuals: tuple[_Individual, ...]
    pending_review: tuple[_PendingCase, ...]


@cache
def _text(name: str) -> str:
    return files("signatory.demo").joinpath(name).read_text(encoding="utf-8")


@cache
def _signatories() -> _Signatories:
    # Built through the dataclasses so that a misspelt or missing key in the file fails
    # here, naming the field, rather than as a half-loaded demo.
    raw = json.loads(_text(_SIGNATORIES_FILE))
    return _Signatories(
        organizations=tuple(_Organization(**entry) for entry in raw["organizations"]),
        individuals=tuple(_Individual(**entry) for entry in raw["individuals"]),
        pending_review=tuple(_PendingCase(**entry) for entry in raw["pending_review"]),
    )


def _pending_count() -> int:
    return len(_signatories().pending_review)


@dataclass(frozen=True)
class DemoLoaded:
    """What ``load_demo`` made: the letter and how many signatories it shows."""

    letter: Letter
    organizations: int
    individuals: int
    coordinator_email: str = DEMO_COORDINATOR_EMAIL
    # A factory, not a constant, so the data file is not read at import.
    pending: int = field(default_factory=_pending_count)


def load_demo(session: DbSession, *, now: datetime) -> DemoLoaded | None:
    """Create the demo letter, its signatories, coordinator, queue and versions.

    None if everything is already there: a second run changes nothing. A database whose
    demo letter predates the workspace gets the coordinator, the queue and version 2.
    """
    letter = session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
    coordinator = session.scalar(
        select(Coordinator).where(Coordinator.email == DEMO_COORDINATOR_EMAIL)
    )
    if letter is not None and coordinator is not None:
        return None
    if coordinator is None:
        coordinator = _demo_coordinator(session, now=now)
    if letter is None:
        return _new_demo_letter(session, coordinator, now=now)
    return _add_workspace_demo(session, letter, coordinator, now=now)


def _demo_coordinator(session: DbSession, *, now: datetime) -> Coordinator:
    coordinator = create_coordinator(
        session,
        email=DEMO_COORDINATOR_EMAIL,
        name=DEMO_COORDINATOR_NAME,
        password=DEMO_COORDINATOR_PASSWORD,
        now=now - timedelta(days=22),
    )
    # An email per signature awaiting review: when a newcomer signs the demo letter from
    # a mismatched address, the review request lands beside their confirmation email.
    coordinator.notify = NotifyPreference.EACH
    return coordinator


def _new_demo_letter(session: DbSession, coordinator: Coordinator, *, now: datetime) -> DemoLoaded:
    letter = create_letter(
        session,
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        recipient=DEMO_RECIPIENT,
        body_markdown=_text(_BODY_FILE),
        now=now - timedelta(days=21),
        owner=coordinator,
        open_now=True,
        moderation=Moderation.MISMATCH,
        actor_label="demo",
    )
    letter.deadline = now + timedelta(days=30)
    # A goal the list is well on its way to (48 signatories): the bar shows on the letter
    # page and the widget, and the coordinator is emailed at 75 and at 100.
    letter.goal, letter.goal_milestones = DEMO_GOAL, DEMO_MILESTONES
    first = letter.current_version
    second = _second_version(session, letter, coordinator, at=now - DEMO_V2_AGE)
    for language, title, name in _TRANSLATIONS:
        add_translation(
            session,
            letter,
            language=language,
            title=title,
            body_markdown=_text(name),
            author=coordinator,
            now=now - DEMO_V2_AGE + timedelta(hours=2),
        )
    data = _signatories()
    total = len(data.organizations) + len(data.individuals)
    # Spread the signing times over twenty days, oldest first, all in the past.
    step = timedelta(days=20) / total
    times = [now - timedelta(days=21) + timedelta(hours=3) + step * i for i in range(total)]

    def signed(at: datetime) -> LetterVersion:
        return first if at < second.created_at else second

    signed_here: list[Signature] = []
    for org, at in zip(data.organizations, times, strict=False):
        verified = email_matches_website(org.email.rpartition("@")[2], org.website)
        signature = _published(
            letter,
            signed(at),
            at,
            kind=SignatureKind.ORGANIZATION,
            organization=org.organization,
            country=org.country,
            organization_type=org.organization_type,
            website=org.website,
            name=org.name,
            title=org.title,
            email=org.email,
            domain_verified=verified,
            authorised_statement=AUTHORISED_WORDING,
            authorised_at=at,
        )
        if not verified:
            # Under the letter's moderation these were reviewed and approved.
            signature.moderated_by_id = coordinator.id
            signature.moderated_at = at
        session.add(signature)
        signed_here.append(signature)
    for person, at in zip(data.individuals, times[len(data.organizations) :], strict=True):
        signed_here.append(
            _published(
                letter,
                signed(at),
                at,
                kind=SignatureKind.INDIVIDUAL,
                organization=person.affiliation,
                country=person.country,
                name=person.name,
                title=person.title,
                email=person.email,
            )
        )
    session.add_all(signed_here)
    _add_pending(session, letter, second, now=now)
    # The milestones the demo's list has passed already are not news to announce.
    letter.goal_milestone_reached = passed_milestone(letter, total)
    session.flush()
    add_coalition_demo(session, letter, coordinator, signed_here, now=now)
    session.flush()
    return DemoLoaded(letter, len(data.organizations), len(data.individuals))


def _add_workspace_demo(
    session: DbSession, letter: Letter, coordinator: Coordinator, *, now: datetime
) -> DemoLoaded:
    """The workspace parts, added to a demo letter loaded before there was a workspace."""
    member = session.scalar(
        select(Membership.id).where(
            Membership.letter_id == letter.id, Membership.coordinator_id == coordinator.id
        )
    )
    if member is None:
        session.add(
            Membership(
                coordinator=coordinator, letter=letter, role=MembershipRole.OWNER, created_at=now
            )
        )
    letter.moderation = Moderation.MISMATCH
    version = letter.current_version
    if version.number == 1:
        version = _second_version(session, letter, coordinator, at=now)
    _add_pending(session, letter, version, now=now)
    session.flush()
    published = {
        kind: session.scalar(
            select(func.count()).where(
                Signature.letter_id == letter.id,
                Signature.kind == kind,
                Signature.status == SignatureStatus.PUBLISHED,
            )
        )
        or 0
        for kind in SignatureKind
    }
    return DemoLoaded(
        letter, published[SignatureKind.ORGANIZATION], published[SignatureKind.INDIVIDUAL]
    )


def _second_version(
    session: DbSession, letter: Letter, author: Coordinator, *, at: datetime
) -> LetterVersion:
    # Inserted directly rather than through the editing service: the demo dates it in the
    # past, and its audit event says "demo".
    version = LetterVersion(
        letter=letter,
        number=2,
        kind="substantive",
        change_note=DEMO_V2_NOTE,
        body_markdown=_text(_BODY_V2_FILE),
        body_html=render_markdown(_text(_BODY_V2_FILE)),
        author_id=author.id,
        created_at=at,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        "letter.text_changed",
        actor_label="demo",
        actor_id=author.id,
        letter_id=letter.id,
        detail={"version": 2, "kind": "substantive", "change_note": DEMO_V2_NOTE},
        now=at,
    )
    return version


def _add_pending(
    session: DbSession, letter: Letter, version: LetterVersion, *, now: datetime
) -> int:
    """The moderation queue; entries whose address already signed are left as they are."""
    added = 0
    for case in _signatories().pending_review:
        taken = session.scalar(
            select(Signature.id).where(
                Signature.letter_id == letter.id,
                Signature.email_key == email_key(case.email),
                Signature.status.in_(LIVE_STATUSES),
            )
        )
        if taken is not None:
            continue
        at = now - timedelta(hours=case.hours_ago)
        session.add(
            Signature(
                letter=letter,
                version=version,
                kind=SignatureKind.ORGANIZATION,
                organization=case.organization,
                country=case.country,
                organization_type=case.organization_type,
                website=case.website,
                name=case.name,
                title=case.title,
                email=case.email,
                domain_verified=email_matches_website(case.email.rpartition("@")[2], case.website),
                status=SignatureStatus.PENDING_REVIEW,
                confirm_nonce=new_nonce(),
                withdraw_nonce=new_nonce(),
                created_at=at - timedelta(minutes=12),
                confirmed_at=at,
                status_changed_at=at,
            )
        )
        added += 1
    return added


def _published(letter: Letter, version: LetterVersion, at: datetime, **fields: Any) -> Signature:
    return Signature(
        letter=letter,
        version=version,
        status=SignatureStatus.PUBLISHED,
        confirm_nonce=new_nonce(),
        withdraw_nonce=new_nonce(),
        created_at=at - timedelta(minutes=7),
        confirmed_at=at,
        published_at=at,
        status_changed_at=at,
        **fields,
    )
