"""Accounting for mail that did not go out: what a letter's coordinators see, and re-queuing.

A message is *undelivered* when it failed for good (the server refused it with a 5xx
reply, or its attempts ran out) or when it is still being retried after a temporary
failure. A message that failed because what it was about is gone (``obsolete``: a purged
signature, a confirmation request for a signature already confirmed) is not undelivered:
nothing was wrong with the mail, and it is neither shown nor re-queued.

``requeue`` puts failed messages back in the queue with their attempts reset, for an
operator who has fixed what made them fail (``flask mail retry``). Permanent refusals are
re-queued only when asked for: the server said it will refuse them again, and sending
them again unasked would only repeat the refusal (and, for a mailbox that does not exist,
hurt the sender's reputation). They are worth re-queuing after a fault on our side that
looked permanent, such as a rejected sender address or a misconfigured relay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from signatory.core.database import DbSession
from signatory.models import OutboxMessage, OutboxStatus
from signatory.models import audit as audit_log
from signatory.models.outbox import OutboxFailure

# What a letter's coordinators are shown: failed for good, or still being retried.
FAILED_KINDS = (OutboxFailure.PERMANENT, OutboxFailure.EXHAUSTED)
RETRYING_KINDS = (OutboxFailure.TEMPORARY,)


def _undelivered() -> Any:
    return or_(
        (OutboxMessage.status == OutboxStatus.FAILED)
        & OutboxMessage.failure_kind.in_(FAILED_KINDS),
        (OutboxMessage.status == OutboxStatus.PENDING)
        & OutboxMessage.failure_kind.in_(RETRYING_KINDS),
    )


def _failed_or_tried_at() -> Any:
    # Rows failed before migration 0007 have no last_attempt_at: their creation stands in.
    return func.coalesce(OutboxMessage.last_attempt_at, OutboxMessage.created_at)


def undelivered_mail(
    session: DbSession, letter_id: int, *, limit: int = 500
) -> Sequence[OutboxMessage]:
    """The letter's undelivered messages: failed for good first, then those still being
    retried, each newest failure first; at most ``limit``."""
    failed_first = (OutboxMessage.status == OutboxStatus.FAILED).desc()
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.letter_id == letter_id, _undelivered())
        .order_by(failed_first, _failed_or_tried_at().desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).all()


def count_undelivered(session: DbSession, letter_id: int) -> int:
    """How many of the letter's messages failed for good or are being retried."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.letter_id == letter_id, _undelivered())
        )
        or 0
    )


@dataclass(frozen=True)
class RetrySelection:
    """Which failed messages to re-queue. With no criterion at all it selects every one;
    callers decide whether that needs an explicit ``--all``."""

    letter_id: int | None = None
    # Failed at or before this moment (``--older-than``) / at or after it (``--since``).
    failed_before: datetime | None = None
    failed_since: datetime | None = None
    include_permanent: bool = False

    @property
    def kinds(self) -> tuple[OutboxFailure, ...]:
        if self.include_permanent:
            return FAILED_KINDS
        return (OutboxFailure.EXHAUSTED,)

    def conditions(self, kinds: Sequence[OutboxFailure] | None = None) -> list[Any]:
        found: list[Any] = [
            OutboxMessage.status == OutboxStatus.FAILED,
            OutboxMessage.failure_kind.in_(kinds or self.kinds),
            # The privacy purge has erased its recipient and content: nothing to send.
            OutboxMessage.to_addr != "",
        ]
        if self.letter_id is not None:
            found.append(OutboxMessage.letter_id == self.letter_id)
        if self.failed_before is not None:
            found.append(_failed_or_tried_at() <= self.failed_before)
        if self.failed_since is not None:
            found.append(_failed_or_tried_at() >= self.failed_since)
        return found


@dataclass(frozen=True)
class RetryCount:
    """How many failed messages a selection holds, by kind; and the permanent refusals it
    leaves out because they were not asked for."""

    exhausted: int = 0
    permanent: int = 0
    permanent_left_out: int = 0

    @property
    def total(self) -> int:
        return self.exhausted + self.permanent


def count_retryable(session: DbSession, selection: RetrySelection) -> RetryCount:
    """What ``requeue`` would re-queue for ``selection``, without changing anything."""
    rows = session.execute(
        select(OutboxMessage.failure_kind, func.count())
        .where(*selection.conditions(FAILED_KINDS))
        .group_by(OutboxMessage.failure_kind)
    ).all()
    by_kind = {kind: int(count) for kind, count in rows}
    permanent = by_kind.get(OutboxFailure.PERMANENT, 0)
    return RetryCount(
        exhausted=by_kind.get(OutboxFailure.EXHAUSTED, 0),
        permanent=permanent if selection.include_permanent else 0,
        permanent_left_out=0 if selection.include_permanent else permanent,
    )


def requeue(
    session: DbSession, selection: RetrySelection, *, now: datetime, actor_label: str = "system"
) -> RetryCount:
    """Put the selected failed messages back in the queue, due now, attempts reset.

    One conditional ``UPDATE`` per kind: a row changes only while it is still failed, so
    two operators re-queuing at once re-queue each message once. Records one audit event
    per letter concerned (and one for mail that belongs to no letter) with its counts.
    Adds and flushes; the caller commits.
    """
    per_letter: dict[int | None, Counter[str]] = {}
    for kind in selection.kinds:
        letter_ids = session.scalars(
            update(OutboxMessage)
            .where(*selection.conditions((kind,)))
            .values(
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                failure_kind=None,
                smtp_code=None,
                last_error=None,
                claimed_at=None,
                claimed_by=None,
            )
            .returning(OutboxMessage.letter_id)
            .execution_options(synchronize_session=False)
        ).all()
        for letter_id in letter_ids:
            per_letter.setdefault(letter_id, Counter())[kind] += 1
    for letter_id, counts in sorted(per_letter.items(), key=lambda item: item[0] or 0):
        audit_log.record(
            session,
            "mail.requeued",
            actor_label=actor_label,
            letter_id=letter_id,
            detail={
                "count": sum(counts.values()),
                "exhausted": counts[OutboxFailure.EXHAUSTED],
                "permanent": counts[OutboxFailure.PERMANENT],
            },
            now=now,
        )
    session.flush()
    return RetryCount(
        exhausted=sum(c[OutboxFailure.EXHAUSTED] for c in per_letter.values()),
        permanent=sum(c[OutboxFailure.PERMANENT] for c in per_letter.values()),
    )
