"""Recording what happened to the messages of a batch: one transaction for all of them.

Each outcome is written only while the row is still the worker's (``sending``, claimed by
it): a worker that outlived its lease, whose row another took over, records nothing.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import OperationalError

from signatory.core.database import DbSession
from signatory.mail.backends import DeliveryError
from signatory.mail.claims import Claimed
from signatory.models import OutboxMessage, OutboxStatus
from signatory.models.outbox import OutboxFailure

log = logging.getLogger("signatory.mail.worker")

FIRST_RETRY = timedelta(seconds=15)
MAX_RETRY = timedelta(seconds=600)
MAX_ERROR_LENGTH = 500
# Pauses before writing outcomes again when the database is locked (seconds).
RECORD_RETRY_PAUSES = (0.5, 2.0)
# A batch's outcomes are written at its end, or after this many seconds of sending.
RECORD_EVERY = 1.0


@dataclass
class SendCounts:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, other: SendCounts) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 15 s, doubling, capped."""
    # Capping the exponent first keeps 2**n small however many attempts are configured.
    factor = 2 ** min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * factor, MAX_RETRY)


@dataclass
class Ledger:
    """The outcomes of a batch, written together, each only while the row is still ours.

    If we outlived the lease and another worker has taken a row over, its outcome is the
    one that counts. A database that is briefly locked is waited for a few times: an
    outcome not written is a message sent again.
    """

    session: DbSession
    worker_id: str
    counts: SendCounts = field(default_factory=SendCounts)
    pending: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    written_at: float = field(default_factory=time.monotonic)

    def sent(self, message: Claimed, now: datetime, subject: str) -> None:
        log.info("outbox %s sent (attempt %s)", message.id, message.attempts)
        self.counts.sent += 1
        self._add(
            message,
            now,
            status=OutboxStatus.SENT,
            subject=subject,
            sent_at=now,
            last_error=None,
            smtp_code=None,
            failure_kind=None,
        )

    def failed(
        self,
        message: Claimed,
        now: datetime,
        kind: OutboxFailure,
        error: str,
        *,
        code: int | None = None,
        **values: Any,
    ) -> None:
        self.counts.failed += 1
        self._add(
            message,
            now,
            status=OutboxStatus.FAILED,
            last_error=scrub(error, message.to_addr),
            smtp_code=code,
            failure_kind=kind,
            **values,
        )

    def temporary(
        self, message: Claimed, now: datetime, exc: BaseException, max_attempts: int, **values: Any
    ) -> None:
        """A failure that may pass: retried with backoff, or given up when attempts run out."""
        error = str(exc) if isinstance(exc, DeliveryError) else short(exc)
        code = exc.code if isinstance(exc, DeliveryError) else None
        if message.attempts >= max_attempts:
            error = f"gave up after {message.attempts} attempts: {error}"
            log.warning("outbox %s failed for good: %s", message.id, scrub(error, message.to_addr))
            self.failed(message, now, OutboxFailure.EXHAUSTED, error, code=code, **values)
            return
        self.counts.retried += 1
        self._add(
            message,
            now,
            status=OutboxStatus.PENDING,
            last_error=scrub(error, message.to_addr),
            smtp_code=code,
            failure_kind=OutboxFailure.TEMPORARY,
            next_attempt_at=now + retry_delay(message.attempts),
            **values,
        )

    def _add(self, message: Claimed, now: datetime, **values: Any) -> None:
        values.update(claimed_at=None, claimed_by=None, last_attempt_at=now)
        self.pending.append((message.id, values))

    def write_if_due(self) -> None:
        if self.pending and time.monotonic() - self.written_at >= RECORD_EVERY:
            self.write()

    def write(self) -> None:
        """Commit every outcome not written yet, in one transaction."""
        if not self.pending:
            return
        for pause in (*RECORD_RETRY_PAUSES, None):
            try:
                lost = self._write()
                self.session.commit()
                break
            except OperationalError:
                self.session.rollback()
                if pause is None:
                    raise
                log.warning("outbox: database busy, recording %s outcomes again", len(self.pending))
                time.sleep(pause)
        for message_id in lost:
            log.warning(
                "outbox %s was taken over by another worker; outcome not recorded", message_id
            )
        self.pending.clear()
        self.written_at = time.monotonic()

    def _write(self) -> list[int]:
        """Update the rows still ours; the ids of those another worker took over."""
        ids = [message_id for message_id, _ in self.pending]
        # Locked until the commit (PostgreSQL's FOR UPDATE; SQLite's IMMEDIATE transaction
        # keeps every other writer out), so what is ours now is still ours when updated.
        ours = set(
            self.session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.claimed_by == self.worker_id,
                )
                .with_for_update()
            )
        )
        # One statement per kind of outcome, executed for all its rows at once.
        alike: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for message_id, values in self.pending:
            if message_id in ours:
                row = {"row_id": message_id, **{f"new_{key}": v for key, v in values.items()}}
                alike.setdefault(tuple(sorted(values)), []).append(row)
        for columns, rows in alike.items():
            self.session.execute(self._update(columns), rows)
        return [message_id for message_id in ids if message_id not in ours]

    def _update(self, columns: tuple[str, ...]) -> Any:
        table = cast(Table, OutboxMessage.__table__)
        return (
            update(table)
            .where(
                table.c.id == bindparam("row_id"),
                table.c.status == OutboxStatus.SENDING,
                table.c.claimed_by == self.worker_id,
            )
            .values({column: bindparam(f"new_{column}") for column in columns})
        )


def scrub(error: str, to_addr: str) -> str:
    """``error`` without the recipient's address, trimmed to fit ``last_error``."""
    # Servers often repeat the address in their reply ("<ada@example.org>: no such user").
    # The row's address is erased by the privacy purge; its error must not keep a copy.
    if to_addr:
        error = re.sub(re.escape(to_addr), "[recipient]", error, flags=re.IGNORECASE)
    return error[:MAX_ERROR_LENGTH]


def short(exc: BaseException) -> str:
    """One line naming the error, for the last_error column: never a traceback."""
    detail = " ".join(str(exc).split()) or "no detail"
    return f"{type(exc).__name__}: {detail}"[:MAX_ERROR_LENGTH]
