"""Telling coordinators that a letter reached a milestone of its signature goal.

A letter's coordinators choose a goal and milestones in its settings ("100, 50%": counts,
or shares of the goal; the goal itself is always one, ``Letter.milestone_counts``). The
mail worker looks every ``MILESTONE_CHECK_EVERY`` at the letters that have any, reads
their published counts from the counts the database keeps (a few rows a letter, however
many signatures it has), and for each letter whose count passed milestones not yet
announced queues one email per coordinator, naming the highest one passed: a letter that
jumps past three milestones at once sends one email, not three.

Each milestone is announced once, however many workers run: the worker claims it with a
conditional ``UPDATE`` of ``Letter.goal_milestone_reached`` (set only if it still holds
the value the worker read) in the transaction that queues the emails. A count that falls
back below a milestone (withdrawals) and rises again does not announce it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from signatory.core.database import DbSession
from signatory.mail.outbox import enqueue
from signatory.mail.registry import Builder, MailEnv, Undeliverable
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    Membership,
    NotifyPreference,
    SignatureStatus,
    SignatureTally,
)
from signatory.models.letter import milestone_counts

log = logging.getLogger(__name__)

# How often the mail worker looks for milestones passed: news, not an alarm.
MILESTONE_CHECK_EVERY = timedelta(seconds=30)
# Letters whose count may still move: a delivered one's list is frozen.
_WATCHED = (LetterStatus.OPEN, LetterStatus.CLOSED)


@dataclass(frozen=True)
class Announcement:
    letter_id: int
    milestone: int
    published: int
    coordinators: int


def _recipients(session: DbSession, letter_id: int) -> list[Coordinator]:
    """The letter's active team members who get notifications at all (any role)."""
    return list(
        session.scalars(
            select(Coordinator)
            .join(Membership, Membership.coordinator_id == Coordinator.id)
            .where(
                Membership.letter_id == letter_id,
                Coordinator.active.is_(True),
                Coordinator.notify != NotifyPreference.NONE,
            )
            .order_by(Coordinator.id)
        )
    )


def announce_milestones(session: DbSession, *, now: datetime) -> list[Announcement]:
    """Queue the emails for every milestone newly passed; return what was announced.

    Commits once per letter announced (like the digests): one letter's failure does not
    hold back another's, and a claim is never kept without its emails.
    """
    watched = session.execute(
        select(Letter.id, Letter.goal, Letter.goal_milestones, Letter.goal_milestone_reached)
        .where(
            Letter.status.in_(_WATCHED),
            or_(Letter.goal.is_not(None), Letter.goal_milestones.is_not(None)),
        )
        .order_by(Letter.id)
    ).all()
    if not watched:
        return []
    published = dict(
        session.execute(
            select(SignatureTally.letter_id, func.sum(SignatureTally.signatures))
            .where(
                SignatureTally.letter_id.in_([row.id for row in watched]),
                SignatureTally.status == SignatureStatus.PUBLISHED,
            )
            .group_by(SignatureTally.letter_id)
        ).all()
    )
    session.commit()
    announced = []
    for row in watched:
        count = int(published.get(row.id) or 0)
        passed = [
            milestone
            for milestone in milestone_counts(row.goal, row.goal_milestones)
            if row.goal_milestone_reached < milestone <= count
        ]
        if not passed:
            continue
        try:
            announcement = _announce(
                session, row.id, row.goal_milestone_reached, passed[-1], count, now
            )
            session.commit()
        except Exception:
            session.rollback()
            log.exception("announcing a milestone of letter %s failed", row.id)
            continue
        if announcement is not None:
            announced.append(announcement)
    return announced


def _announce(
    session: DbSession, letter_id: int, read: int, milestone: int, count: int, now: datetime
) -> Announcement | None:
    claimed = session.execute(
        update(Letter)
        .where(Letter.id == letter_id, Letter.goal_milestone_reached == read)
        .values(goal_milestone_reached=milestone)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        # Another worker announced it, or the coordinators changed the goal meanwhile.
        return None
    coordinators = _recipients(session, letter_id)
    for coordinator in coordinators:
        enqueue(
            session,
            template="goal_milestone",
            to=coordinator.email,
            context={
                "letter_id": letter_id,
                "coordinator_id": coordinator.id,
                "milestone": milestone,
                "published": count,
            },
            letter_id=letter_id,
            now=now,
        )
    return Announcement(letter_id, milestone, count, len(coordinators))


@dataclass
class MilestoneWatch:
    """The mail worker's chore: ``announce_milestones`` every ``MILESTONE_CHECK_EVERY``."""

    every: timedelta = MILESTONE_CHECK_EVERY
    next_at: datetime | None = field(default=None)

    @classmethod
    def from_config(cls, _config: Mapping[str, Any]) -> MilestoneWatch:
        return cls()

    def run_if_due(self, session: DbSession, *, now: datetime) -> list[Announcement] | None:
        if self.next_at is not None and now < self.next_at:
            return None
        self.next_at = now + self.every
        try:
            announced = announce_milestones(session, now=now)
        except Exception:
            # Milestones must never stop the mail.
            session.rollback()
            log.exception("looking for milestones passed failed")
            return None
        if announced:
            log.info("announced %s milestone(s)", len(announced))
        return announced


# --- The email ------------------------------------------------------------------------


def _goal_milestone(session: DbSession, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    letter_id, coordinator_id = context.get("letter_id"), context.get("coordinator_id")
    milestone, published = context.get("milestone"), context.get("published")
    if not all(isinstance(value, int) for value in (letter_id, coordinator_id, milestone)):
        raise Undeliverable("a milestone email names no letter, coordinator or milestone")
    letter = session.get(Letter, letter_id)
    coordinator = session.get(Coordinator, coordinator_id)
    if letter is None or coordinator is None or not coordinator.active:
        raise Undeliverable(f"letter {letter_id} or coordinator {coordinator_id} is gone")
    if coordinator.notify == NotifyPreference.NONE:
        raise Undeliverable(f"coordinator {coordinator_id} now asks for no notifications")
    member = session.scalar(
        select(Membership.id).where(
            Membership.letter_id == letter.id, Membership.coordinator_id == coordinator.id
        )
    )
    if member is None:
        raise Undeliverable(f"coordinator {coordinator_id} is no longer on this letter's team")
    return {
        "base_url": env.base_url,
        "account_url": env.url("/manage/account"),
        "locale": coordinator.language,
        "coordinator": coordinator,
        "letter": letter,
        "milestone": milestone,
        "published": published if isinstance(published, int) else milestone,
        "is_goal": milestone == letter.goal,
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "settings_url": env.url(f"/manage/letters/{letter.slug}/edit#goal-settings"),
    }


EMAILS: dict[str, Builder] = {"goal_milestone": _goal_milestone}
