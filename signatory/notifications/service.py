"""Telling coordinators what awaits them: an email per signature to review, or a daily digest.

Each coordinator chooses (``Coordinator.notify``):

- ``each``: one ``review_needed`` email whenever a signature on one of their letters
  enters the moderation queue, queued in the transaction of the confirmation itself;
- ``digest``: at most one ``digest`` email a day, after ``DIGEST_HOUR_UTC``, when one of
  their letters has something new (signatures newly awaiting review, or newly published);
- ``none``: nothing.

The digest is sent at most once per daily slot, however many workers run: a worker
claims a coordinator's digest with a conditional ``UPDATE`` of ``last_digest_at`` (set
only if it still holds the value the worker read), in the same transaction that queues
the email. Of two workers racing, one updates the row and the other changes nothing and
moves on. ``last_digest_at`` therefore records when the coordinator's digest was last
handled: sent, or found to have nothing new (then there was nothing to tell since the
previous one either, so the next digest's "since" is still truthful).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from signatory.core.database import DbSession
from signatory.mail.outbox import enqueue
from signatory.models import (
    Coordinator,
    Letter,
    Membership,
    NotifyPreference,
    Signature,
    SignatureStatus,
)

log = logging.getLogger(__name__)

# A coordinator's first digest looks back this far (there is no earlier digest to start from).
FIRST_DIGEST_WINDOW = timedelta(days=1)
# After a failed digest run, the worker tries again this much later rather than every pass.
DIGEST_RETRY = timedelta(minutes=15)


# --- One email per signature awaiting review ---------------------------------------------


def notify_review_needed(session: DbSession, signature: Signature, *, now: datetime) -> int:
    """Queue a ``review_needed`` email to each member of the letter who chose ``each``.

    Any role: moderators need it most. Called in the transaction that put the signature
    in the queue, so no email goes out for a confirmation that was rolled back. Returns
    the number of emails queued.
    """
    coordinators = session.scalars(
        select(Coordinator)
        .join(Membership, Membership.coordinator_id == Coordinator.id)
        .where(
            Membership.letter_id == signature.letter_id,
            Coordinator.notify == NotifyPreference.EACH,
            Coordinator.active.is_(True),
        )
        .order_by(Coordinator.id)
    ).all()
    for coordinator in coordinators:
        enqueue(
            session,
            template="review_needed",
            to=coordinator.email,
            context={"signature_id": signature.id, "coordinator_id": coordinator.id},
            letter_id=signature.letter_id,
            signature_id=signature.id,
            now=now,
        )
    return len(coordinators)


# --- The daily digest --------------------------------------------------------------------


def digest_slot(now: datetime, hour: int) -> datetime:
    """The latest daily digest time (``hour``:00 UTC) at or before ``now``."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


@dataclass(frozen=True)
class LetterActivity:
    """What happened on one letter in a digest's window."""

    letter: Letter
    # Awaiting review now, and how many of those entered the queue in the window.
    pending: int
    new_pending: int
    # Published in the window (and still published).
    new_published: int

    @property
    def has_news(self) -> bool:
        return bool(self.new_pending or self.new_published)


def letter_activity(
    session: DbSession, coordinator: Coordinator, *, since: datetime, until: datetime
) -> list[LetterActivity]:
    """Per letter of ``coordinator``, the queue now and what arrived in ``(since, until]``.

    Only letters with something to report (news, or a queue) are listed, oldest first.
    """
    letters = session.scalars(
        select(Letter)
        .join(Membership, Membership.letter_id == Letter.id)
        .where(Membership.coordinator_id == coordinator.id)
        .order_by(Letter.created_at, Letter.id)
    ).all()
    if not letters:
        return []
    ids = [letter.id for letter in letters]
    # Two queries, each an equality on (letter_id, status) and at most a range after it,
    # so neither reads the letters' whole lists.
    pending = {
        letter_id: (total, new or 0)
        for letter_id, total, new in session.execute(
            select(
                Signature.letter_id,
                func.count(),
                func.sum(
                    case(
                        (
                            (Signature.status_changed_at > since)
                            & (Signature.status_changed_at <= until),
                            1,
                        ),
                        else_=0,
                    )
                ),
            )
            .where(
                Signature.letter_id.in_(ids),
                Signature.status == SignatureStatus.PENDING_REVIEW,
            )
            .group_by(Signature.letter_id)
        )
    }
    published = dict(
        session.execute(
            select(Signature.letter_id, func.count())
            .where(
                Signature.letter_id.in_(ids),
                Signature.status == SignatureStatus.PUBLISHED,
                Signature.published_at > since,
                Signature.published_at <= until,
            )
            .group_by(Signature.letter_id)
        ).all()
    )
    activity = [
        LetterActivity(
            letter=letter,
            pending=pending.get(letter.id, (0, 0))[0],
            new_pending=pending.get(letter.id, (0, 0))[1],
            new_published=published.get(letter.id, 0),
        )
        for letter in letters
    ]
    return [each for each in activity if each.has_news or each.pending]


def claim_digest(
    session: DbSession, coordinator_id: int, *, seen: datetime | None, now: datetime
) -> bool:
    """Set ``last_digest_at`` to ``now`` if it still is ``seen``; True if this call did it."""
    unchanged = (
        Coordinator.last_digest_at.is_(None) if seen is None else Coordinator.last_digest_at == seen
    )
    result = session.execute(
        update(Coordinator)
        .where(
            Coordinator.id == coordinator_id,
            Coordinator.notify == NotifyPreference.DIGEST,
            unchanged,
        )
        .values(last_digest_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


# What ``digest_for`` did for one coordinator.
SENT = "sent"
NOTHING_NEW = "nothing_new"
NOT_DUE = "not_due"
TAKEN = "taken"  # another worker handled it first


@dataclass(frozen=True)
class DigestOutcome:
    result: str
    letters: int = 0


def digest_for(
    session: DbSession, coordinator: Coordinator, *, now: datetime, hour: int, force: bool = False
) -> DigestOutcome:
    """Queue ``coordinator``'s digest if it is due and something is new; claim the slot.

    Due once the day's slot (``hour``:00 UTC) has passed and no digest was handled since;
    ``force`` ignores the slot (something must still be new since the last digest). Does
    not commit: the claim and the queued email belong to the caller's transaction.
    """
    if coordinator.notify != NotifyPreference.DIGEST or not coordinator.active:
        return DigestOutcome(NOT_DUE)
    seen = coordinator.last_digest_at
    if not force and seen is not None and seen >= digest_slot(now, hour):
        return DigestOutcome(NOT_DUE)
    since = seen or now - FIRST_DIGEST_WINDOW
    activity = letter_activity(session, coordinator, since=since, until=now)
    if not claim_digest(session, coordinator.id, seen=seen, now=now):
        return DigestOutcome(TAKEN)
    session.expire(coordinator, ["last_digest_at"])
    news = [each for each in activity if each.has_news]
    if not news:
        return DigestOutcome(NOTHING_NEW)
    enqueue(
        session,
        template="digest",
        to=coordinator.email,
        context={
            "coordinator_id": coordinator.id,
            "since": since.isoformat(),
            "until": now.isoformat(),
        },
        now=now,
    )
    return DigestOutcome(SENT, letters=len(news))


@dataclass
class DigestRun:
    """What one run of the digests did, coordinator by coordinator (by email)."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.sent) + len(self.nothing_new) + len(self.taken) + len(self.failed)


def run_digests(session: DbSession, *, now: datetime, hour: int, force: bool = False) -> DigestRun:
    """Handle every due digest, one coordinator per transaction; return what happened.

    Like the outbox worker (and unlike request services) this commits, once per
    coordinator, so one failure neither blocks the others nor holds a lock for long.
    """
    slot = digest_slot(now, hour)
    query = select(Coordinator.id).where(
        Coordinator.notify == NotifyPreference.DIGEST, Coordinator.active.is_(True)
    )
    if not force:
        query = query.where(
            Coordinator.last_digest_at.is_(None) | (Coordinator.last_digest_at < slot)
        )
    candidates = list(session.scalars(query.order_by(Coordinator.id)))
    session.commit()
    run = DigestRun()
    for coordinator_id in candidates:
        coordinator = session.get(Coordinator, coordinator_id, populate_existing=True)
        if coordinator is None:
            continue
        email = coordinator.email
        try:
            outcome = digest_for(session, coordinator, now=now, hour=hour, force=force)
            session.commit()
        except Exception:
            session.rollback()
            log.exception("digest for coordinator %s failed", coordinator_id)
            run.failed.append(email)
            continue
        if outcome.result == SENT:
            run.sent.append((email, outcome.letters))
        elif outcome.result == NOTHING_NEW:
            run.nothing_new.append(email)
        elif outcome.result == TAKEN:
            run.taken.append(email)
    return run


@dataclass
class DigestSchedule:
    """Runs the digests from the mail worker: once per daily slot, cheap on every other pass.

    The first pass after each slot (``hour``:00 UTC) runs them; later passes return at
    once without touching the database. A worker started late catches up on the slot it
    missed. After a failure it tries again ``DIGEST_RETRY`` later.
    """

    hour: int
    done_slot: datetime | None = None
    retry_at: datetime | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DigestSchedule:
        """The mail worker's chore, at the app's ``DIGEST_HOUR_UTC``."""
        return cls(hour=int(config["DIGEST_HOUR_UTC"]))

    def run_if_due(self, session: DbSession, *, now: datetime) -> DigestRun | None:
        slot = digest_slot(now, self.hour)
        if self.done_slot == slot or (self.retry_at is not None and now < self.retry_at):
            return None
        try:
            run = run_digests(session, now=now, hour=self.hour)
        except Exception:
            # Digests must never stop the mail.
            session.rollback()
            log.exception("running the digests failed")
            self.retry_at = now + DIGEST_RETRY
            return None
        if run.failed:
            self.retry_at = now + DIGEST_RETRY
        else:
            self.done_slot, self.retry_at = slot, None
        if run.sent:
            log.info("queued %s digest(s)", len(run.sent))
        return run
