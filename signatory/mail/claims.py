"""Claiming outbox rows for sending: a batch at a time, each row by one worker only.

A worker takes up to ``MAIL_BATCH_SIZE`` due rows in one short transaction: it selects
them, marks them ``sending`` with its id and the time (its *lease* on them), counts the
attempt, and commits. On PostgreSQL the select is ``FOR UPDATE SKIP LOCKED``: rows another
worker is claiming at that moment are locked, so they are passed over rather than waited
for, and each worker gets rows of its own. On SQLite every transaction of the worker
begins ``IMMEDIATE`` (``core.database``), which admits one writer at a time, so the select
and the update of one claim cannot interleave with another's. On both, the ``UPDATE``
repeats the claimable condition: a row changes hands only while it is still claimable.

A row whose worker died stays ``sending``; once its lease (``MAIL_LEASE_SECONDS``) has run
out, any worker claims it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from signatory.core.database import DbSession
from signatory.models import OutboxMessage, OutboxStatus

# A row in 'sending' this long belongs to a worker that died; another may take it.
# Far longer than a batch takes (a worker stops a batch at half its lease), so a live
# worker keeps its rows. ``MAIL_LEASE_SECONDS`` overrides it.
LEASE = timedelta(minutes=10)
# Rows claimed at once. More means fewer claiming transactions; fewer means less mail
# resent after a crash and a fairer share between workers. ``MAIL_BATCH_SIZE`` overrides it.
BATCH_SIZE = 50


@dataclass(frozen=True)
class WorkerSettings:
    """The worker's knobs, read once from the app's configuration."""

    lease: timedelta = LEASE
    batch_size: int = BATCH_SIZE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        lease = _positive(config, "MAIL_LEASE_SECONDS", LEASE.total_seconds(), float)
        batch_size = _positive(config, "MAIL_BATCH_SIZE", BATCH_SIZE, int)
        return cls(lease=timedelta(seconds=lease), batch_size=int(batch_size))


def _positive(config: Mapping[str, Any], key: str, default: float, kind: type) -> float:
    value = config.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ValueError(f"SIGNATORY_{key} must be a positive number, got {value!r}")
    return float(number)


@dataclass(frozen=True)
class Claimed:
    """What sending a claimed row needs, read in the claim itself: the worker renders and
    sends from this and writes the outcome back, never loading the row again."""

    id: int
    template: str
    to_addr: str
    context: dict[str, Any]
    attempts: int
    created_at: datetime
    # The request that queued the message, for the worker's log lines (None: a command
    # or the worker itself queued it).
    request_id: str | None = None
    # The signature the message is about, if any: a batch reads all of its signatures at
    # once (``registry.Snapshot``) rather than one query per message.
    signature_id: int | None = None


_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.template,
    OutboxMessage.to_addr,
    OutboxMessage.context,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.request_id,
    OutboxMessage.signature_id,
)


def claimable(now: datetime, due_by: datetime, lease: timedelta = LEASE) -> Any:
    """Pending and due by ``due_by``, or 'sending' under a lease that ran out by ``now``."""
    return or_(
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= due_by,
        ),
        and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < now - lease,
        ),
    )


def _take(worker_id: str, now: datetime) -> dict[str, Any]:
    return {
        "status": OutboxStatus.SENDING,
        "claimed_by": worker_id,
        "claimed_at": now,
        "attempts": OutboxMessage.attempts + 1,
    }


def claim_batch(
    session: DbSession,
    *,
    worker_id: str,
    now: datetime,
    size: int,
    due_by: datetime | None = None,
    lease: timedelta = LEASE,
) -> list[Claimed]:
    """Claim up to ``size`` due rows, oldest due first, and commit; what was claimed.

    Returns an empty list when nothing is due (or every due row is being claimed by
    other workers at this very moment: they are skipped, not waited for).
    """
    condition = claimable(now, due_by or now, lease)
    ids = session.scalars(
        select(OutboxMessage.id)
        .where(condition)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(size)
        # PostgreSQL: lock the rows chosen, and pass over those another claim holds.
        # SQLite has no row locks (SQLAlchemy leaves the clause out); its IMMEDIATE
        # transaction already keeps every other writer out until the commit.
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        session.commit()
        return []
    rows = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), condition)
        .values(**_take(worker_id, now))
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    claimed = [Claimed(*row) for row in rows]
    # RETURNING promises no order; send in the order the rows were chosen.
    claimed.sort(key=lambda message: ids.index(message.id))
    return claimed


def claim(
    session: DbSession,
    message_id: int,
    *,
    worker_id: str,
    now: datetime,
    due_by: datetime | None = None,
    lease: timedelta = LEASE,
) -> bool:
    """Try to take one given row for sending and commit; True if this worker got it.

    The ``WHERE`` repeats the claimable condition, so of two workers racing for the same
    row exactly one changes it (rowcount 1) and the other sees rowcount 0.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, claimable(now, due_by or now, lease))
        .values(**_take(worker_id, now))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def claim_next(
    session: DbSession,
    *,
    worker_id: str,
    now: datetime,
    due_by: datetime | None = None,
    lease: timedelta = LEASE,
) -> int | None:
    """Claim the oldest due row and return its id, or None when nothing is due."""
    claimed = claim_batch(session, worker_id=worker_id, now=now, size=1, due_by=due_by, lease=lease)
    return claimed[0].id if claimed else None


def release(session: DbSession, ids: list[int], *, worker_id: str) -> int:
    """Give back claimed rows that were not tried (a stop, a batch that ran long): pending
    again, due at once, the attempt their claim counted taken back. Commits; how many."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_by == worker_id,
        )
        .values(
            status=OutboxStatus.PENDING,
            claimed_by=None,
            claimed_at=None,
            attempts=OutboxMessage.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
