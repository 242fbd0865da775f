"""Emailing an update: its recipients queued in the outbox a batch at a time.

A letter may have 100,000 signatories; queueing all of them in one transaction would hold
SQLite's write lock (and PostgreSQL's row locks) for the whole of it. So each batch is a
transaction of its own: the next ``batch_size`` consenting signatures by id after the
update's cursor (``LetterUpdate.queued_through``, a keyset walk on the partial index
``ix_signature_updates_consent``), a recipient row and an outbox message for each.

Each recipient gets the update once, whoever queues the batch and however often:

- the cursor moves by a conditional ``UPDATE ... WHERE queued_through = <as read>``, made
  *before* the batch's rows: of two workers (or a worker and the "send" request) reading
  the same cursor, one moves it, the other matches no row and gives its batch up;
- and ``update_recipient`` is unique per (update, signature), so even a writer that skipped
  the cursor could not queue one signature twice: its batch fails whole.

The worker's chore (``UpdateSending``) queues batches between its passes over the outbox;
the "send" request queues the first itself, so a small letter's update is queued at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from signatory.core.database import DbSession
from signatory.mail.outbox import enqueue
from signatory.models import LetterUpdate, Signature, UpdateRecipient, audit
from signatory.updates.service import TEMPLATE, consenting

log = logging.getLogger(__name__)

# Recipients queued per transaction.
BATCH_SIZE = 500
# Batches one run of the chore queues at most, so the worker gets back to sending.
BATCHES_PER_RUN = 20


@dataclass(frozen=True)
class Batch:
    """What one call of ``queue_next_batch`` did."""

    queued: int = 0
    # The last batch: nobody is left after the cursor; the update is fully queued.
    finished: bool = False
    # Another writer moved the cursor first: this call queued nothing.
    lost: bool = False


def queue_next_batch(
    session: DbSession, update_id: int, *, now: datetime, batch_size: int = BATCH_SIZE
) -> Batch:
    """Queue the update's next batch of recipients in the caller's transaction.

    Does not commit. Raises nothing for a lost race (``Batch.lost``); the caller rolls back
    in that case, though nothing was written.
    """
    state = session.execute(
        select(
            LetterUpdate.letter_id,
            LetterUpdate.queued_through,
            LetterUpdate.send_requested_at,
            LetterUpdate.queued_all_at,
        ).where(LetterUpdate.id == update_id)
    ).one_or_none()
    if state is None:
        return Batch(finished=True)
    letter_id, cursor, requested, done = state
    if requested is None or done is not None:
        return Batch(finished=True)
    signatures = session.execute(
        select(Signature.id, Signature.email)
        .where(*consenting(letter_id), Signature.id > cursor)  # type: ignore[arg-type]
        .order_by(Signature.id)
        .limit(batch_size)
    ).all()
    if not signatures:
        moved = _move_cursor(session, update_id, cursor, cursor, 0, finished_at=now)
        if moved:
            _record_queued(session, update_id, letter_id, now=now)
        return Batch(finished=moved, lost=not moved)
    last = signatures[-1].id
    # A short batch is the last: nobody consenting is left after it.
    finished = len(signatures) < batch_size
    moved = _move_cursor(
        session, update_id, cursor, last, len(signatures), finished_at=now if finished else None
    )
    if not moved:
        return Batch(lost=True)
    for signature_id, email in signatures:
        message = enqueue(
            session,
            template=TEMPLATE,
            to=email,
            context={"update_id": update_id, "signature_id": signature_id},
            letter_id=letter_id,
            signature_id=signature_id,
            now=now,
        )
        session.add(
            UpdateRecipient(
                update_id=update_id,
                signature_id=signature_id,
                outbox_message=message,
                created_at=now,
            )
        )
    session.flush()
    if finished:
        _record_queued(session, update_id, letter_id, now=now)
    return Batch(queued=len(signatures), finished=finished)


def _move_cursor(
    session: DbSession,
    update_id: int,
    seen: int,
    to: int,
    added: int,
    *,
    finished_at: datetime | None = None,
) -> bool:
    values: dict[str, Any] = {
        "queued_through": to,
        "queued_count": LetterUpdate.queued_count + added,
    }
    if finished_at is not None:
        values["queued_all_at"] = finished_at
    moved = session.execute(
        update(LetterUpdate)
        .where(
            LetterUpdate.id == update_id,
            LetterUpdate.queued_through == seen,
            LetterUpdate.queued_all_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _record_queued(session: DbSession, update_id: int, letter_id: int, *, now: datetime) -> None:
    queued = session.scalar(select(LetterUpdate.queued_count).where(LetterUpdate.id == update_id))
    audit.record(
        session,
        "update.queued",
        actor_label="system",
        letter_id=letter_id,
        detail={"update_id": update_id, "recipients": queued or 0},
        now=now,
    )


def queue_batches(
    session: DbSession,
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    max_batches: int = BATCHES_PER_RUN,
) -> int:
    """Queue up to ``max_batches`` batches of every update being emailed, one transaction
    each (this commits, like the outbox worker); how many recipients were queued."""
    sending = list(
        session.scalars(
            select(LetterUpdate.id)
            .where(
                LetterUpdate.send_requested_at.is_not(None), LetterUpdate.queued_all_at.is_(None)
            )
            .order_by(LetterUpdate.send_requested_at, LetterUpdate.id)
        )
    )
    session.commit()
    queued = batches = 0
    for update_id in sending:
        while batches < max_batches:
            try:
                batch = queue_next_batch(session, update_id, now=now, batch_size=batch_size)
                if batch.lost:
                    session.rollback()
                else:
                    session.commit()
            except Exception:
                # A lost race the unique constraint caught, or the database went away: the
                # batch is written whole or not at all, and the next run takes it again.
                session.rollback()
                log.exception("queueing a batch of update %s failed", update_id)
                break
            batches += 1
            queued += batch.queued
            if batch.finished or batch.lost:
                break
    return queued


@dataclass
class UpdateSending:
    """The mail worker's chore: queue the next batches of every update being emailed."""

    batch_size: int = BATCH_SIZE
    max_batches: int = BATCHES_PER_RUN

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UpdateSending:
        """The chore, with ``UPDATE_BATCH_SIZE`` recipients a batch when it is set."""
        return cls(batch_size=int(config.get("UPDATE_BATCH_SIZE") or BATCH_SIZE))

    def run_if_due(self, session: DbSession, *, now: datetime) -> int:
        try:
            return queue_batches(
                session, now=now, batch_size=self.batch_size, max_batches=self.max_batches
            )
        except Exception:
            # Queueing updates must never stop the mail.
            session.rollback()
            log.exception("queueing update emails failed")
            return 0
