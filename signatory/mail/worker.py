"""The outbox worker: render, claim, send, record; retry with backoff; chores between passes.

Every step is its own short transaction, so the database is never locked while an SMTP
server is being waited on:

1. **claim** one due row with a conditional ``UPDATE`` and commit. Two workers (two
   processes, even two machines) may pick the same candidate; the ``WHERE`` clause lets
   only one of them change it, and the other moves on to the next row.
2. **render** it (links are minted now, so no live token ever sits in the table),
   store the subject, commit.
3. **send** it, with no transaction open.
4. **record** the outcome, while the row is still this worker's: sent; tried again later
   with backoff (a 4xx reply, a connection problem); or failed for good, at once for a
   5xx reply to MAIL FROM, RCPT TO or DATA, or when ``MAIL_MAX_ATTEMPTS`` run out.

A worker that dies between 1 and 4 leaves its row in ``sending``; after ``LEASE`` any
worker takes it again. Delivery is therefore **at least once**: a message is sent twice
only when the server accepted it and the worker died (or lost the connection before the
server's "250" arrived) before step 4 was committed; each such crash costs at most one
extra copy, with the same Message-ID, so mail clients recognise it. Two live workers
never send one message twice: the claim lets exactly one of them have it.

Everything here runs inside an application context: templates, configuration and the
token serializers come from the current app.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from types import FrameType
from typing import Any, Final, Literal, Protocol

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError

from signatory.core.database import DbSession
from signatory.core.i18n import language_of
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.mail import registry
from signatory.mail.backends import DeliveryError, MailBackend, PermanentDeliveryError
from signatory.mail.registry import MailEnv, Undeliverable
from signatory.models import OutboxMessage, OutboxStatus
from signatory.models.outbox import OutboxFailure

log = logging.getLogger(__name__)

# A row in 'sending' this long belongs to a worker that died; another may take it.
# Far longer than one SMTP exchange (its timeout is 10 s), so a live worker keeps its row.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=15)
MAX_RETRY = timedelta(seconds=600)
MAX_ERROR_LENGTH = 500
# Pauses before writing an outcome again when the database is locked (seconds).
RECORD_RETRY_PAUSES = (0.5, 2.0)


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


def default_worker_id() -> str:
    """``host:pid:random``: a stuck row names the worker that held it, and two workers
    in one process (threads) still have different ids."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 15 s, doubling, capped."""
    # Capping the exponent first keeps 2**n small however many attempts are configured.
    factor = 2 ** min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * factor, MAX_RETRY)


# -- rendering ---------------------------------------------------------------------------


def render_message(session: DbSession, message: OutboxMessage, *, now: datetime) -> EmailMessage:
    """Build the email for an outbox row: headers, a text part and an HTML part.

    Sets ``message.subject``. Raises ``Undeliverable`` when it can never be rendered, and
    ``LookupError`` for an email this worker does not know: perhaps newer code queued it
    and this worker predates it, so the row is retried rather than given up at once.
    """
    config = current_app.config
    env = MailEnv(
        base_url=config["BASE_URL"].rstrip("/"),
        tokens=current_tokens(),
        config=config,
    )
    context = registry.build_context(session, message.template, message.context or {}, env)
    # A builder that knows the reader's interface language ("locale") gets the email in it.
    with force_locale(language_of(context.get("locale"))):
        return _render(message, context, now=now)


def _render(message: OutboxMessage, context: dict[str, Any], *, now: datetime) -> EmailMessage:
    config = current_app.config
    name = f"mail/{message.template}"
    # A subject is one line: template whitespace and any newline in a title collapse.
    subject = " ".join(render_template(f"{name}.subject.txt", **context).split())[:300]
    context["subject"] = subject

    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.to_addr
    email["Subject"] = subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = _message_id(message, config["MAIL_FROM"])
    # RFC 3834: tells autoresponders (out-of-office replies) not to answer.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(render_template(f"{name}.txt", **context))
    email.add_alternative(render_template(f"{name}.html", **context), subtype="html")
    message.subject = subject
    return email


def _message_id(message: OutboxMessage, mail_from: str) -> str:
    # The same on every attempt, so the rare duplicate after a crashed worker is
    # recognisable as one by mail clients.
    domain = mail_from.rpartition("@")[2].strip(" >") or "signatory.invalid"
    return f"<outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


# -- claiming ----------------------------------------------------------------------------


def _claimable(now: datetime, due_by: datetime) -> Any:
    return or_(
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= due_by,
        ),
        and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < now - LEASE,
        ),
    )


def claim(
    session: DbSession,
    message_id: int,
    *,
    worker_id: str,
    now: datetime,
    due_by: datetime | None = None,
) -> bool:
    """Try to take one row for sending and commit; True if this worker got it.

    The ``WHERE`` repeats the claimable condition, so of two workers racing for the same
    row exactly one changes it (rowcount 1) and the other sees rowcount 0. A row is
    claimable when it is pending and due by ``due_by`` (default ``now``), or when it has
    been 'sending' for longer than ``LEASE``.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now, due_by or now))
        .values(
            status=OutboxStatus.SENDING,
            claimed_by=worker_id,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def claim_next(
    session: DbSession, *, worker_id: str, now: datetime, due_by: datetime | None = None
) -> int | None:
    """Claim the oldest due row and return its id, or None when nothing is due."""
    while True:
        candidate = session.scalar(
            select(OutboxMessage.id)
            .where(_claimable(now, due_by or now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if candidate is None:
            session.commit()
            return None
        if claim(session, candidate, worker_id=worker_id, now=now, due_by=due_by):
            return candidate
        # Another worker took it between our look and our claim. It is no longer
        # claimable, so the next look finds a different row or none.


# -- sending -----------------------------------------------------------------------------

SENT: Final = "sent"
RETRIED: Final = "retried"
FAILED: Final = "failed"
Outcome = Literal["sent", "retried", "failed"]


def send_one(
    session: DbSession,
    backend: MailBackend,
    message_id: int,
    *,
    worker_id: str,
    now: datetime,
    max_attempts: int,
) -> Outcome:
    """Render, send and record one row this worker has claimed; say what happened.

    A 5xx refusal fails the row at once (``permanent``); a 4xx refusal, a connection
    problem or a rendering error is tried again with backoff (``temporary``) until
    ``max_attempts`` run out (``exhausted``); a message about something gone or no
    longer true fails at once (``obsolete``).
    """
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:  # deleted while we held it: nothing left to send or record
        session.commit()
        return FAILED
    attempt = _Attempt(session, message_id, worker_id, message.to_addr, message.attempts, now)
    try:
        email = render_message(session, message, now=now)
    except Undeliverable as exc:
        session.rollback()
        log.info("outbox %s not sent: %s", message_id, exc)
        return attempt.failed(OutboxFailure.OBSOLETE, str(exc))
    except Exception as exc:
        # A template bug or a database hiccup: worth retrying, perhaps after a fix.
        session.rollback()
        log.exception("outbox %s could not be rendered", message_id)
        return attempt.temporary(exc, max_attempts)
    # Store the subject and end the transaction before waiting on the mail server: on
    # SQLite an open write transaction would hold up every other writer meanwhile.
    session.commit()

    try:
        backend.send(email)
    except PermanentDeliveryError as exc:
        log.warning("outbox %s refused for good: %s", message_id, attempt.scrub(str(exc)))
        return attempt.failed(OutboxFailure.PERMANENT, str(exc), code=exc.code)
    except Exception as exc:
        error = attempt.scrub(_short(exc))
        log.warning("outbox %s attempt %s failed: %s", message_id, attempt.attempts, error)
        return attempt.temporary(exc, max_attempts)
    # The server has the message. Until the next commit, a crash here means it is sent
    # again after the lease: the one duplicate that at-least-once delivery allows.
    attempt.record(
        status=OutboxStatus.SENT,
        last_error=None,
        smtp_code=None,
        failure_kind=None,
        sent_at=now,
    )
    return SENT


@dataclass
class _Attempt:
    """One claimed row's attempt, and the ways of recording how it ended."""

    session: DbSession
    message_id: int
    worker_id: str
    to_addr: str
    attempts: int
    now: datetime

    def failed(self, kind: OutboxFailure, error: str, *, code: int | None = None) -> Outcome:
        self.record(
            status=OutboxStatus.FAILED,
            last_error=self.scrub(error),
            smtp_code=code,
            failure_kind=kind,
        )
        return FAILED

    def temporary(self, exc: BaseException, max_attempts: int) -> Outcome:
        """A failure that may pass: retried with backoff, or given up when attempts run out."""
        error = str(exc) if isinstance(exc, DeliveryError) else _short(exc)
        code = exc.code if isinstance(exc, DeliveryError) else None
        if self.attempts >= max_attempts:
            error = f"gave up after {self.attempts} attempts: {error}"
            return self.failed(OutboxFailure.EXHAUSTED, error, code=code)
        self.record(
            status=OutboxStatus.PENDING,
            last_error=self.scrub(error),
            smtp_code=code,
            failure_kind=OutboxFailure.TEMPORARY,
            next_attempt_at=self.now + retry_delay(self.attempts),
        )
        return RETRIED

    def scrub(self, error: str) -> str:
        # Servers often repeat the address in their reply ("<ada@example.org>: no such
        # user"). The row's address is erased by the privacy purge; its error must not
        # keep a copy of it.
        if self.to_addr:
            error = re.sub(re.escape(self.to_addr), "[recipient]", error, flags=re.IGNORECASE)
        return error[:MAX_ERROR_LENGTH]

    def record(self, *, status: str, **values: Any) -> None:
        """Write the outcome, only while the row is still ours.

        If we outlived the lease and another worker has taken the row over, its outcome is
        the one that counts. A database that is briefly locked is waited for a few times:
        an outcome not written is a message sent again.
        """
        update_row = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == self.message_id,
                OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.claimed_by == self.worker_id,
            )
            .values(
                status=status,
                claimed_at=None,
                claimed_by=None,
                last_attempt_at=self.now,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
        for pause in (*RECORD_RETRY_PAUSES, None):
            try:
                result = self.session.execute(update_row)
                self.session.commit()
                break
            except OperationalError:
                self.session.rollback()
                if pause is None:
                    raise
                log.warning("outbox %s: database busy, recording again", self.message_id)
                time.sleep(pause)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            log.warning(
                "outbox %s was taken over by another worker; outcome not recorded", self.message_id
            )


def _short(exc: BaseException) -> str:
    """One line naming the error, for the last_error column: never a traceback."""
    detail = " ".join(str(exc).split()) or "no detail"
    return f"{type(exc).__name__}: {detail}"[:MAX_ERROR_LENGTH]


def send_due(
    session: DbSession,
    backend: MailBackend,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    stop: threading.Event | None = None,
) -> SendCounts:
    """Send every message due when the pass starts, once each; return what happened.

    ``now`` fixes the clock for the whole pass (tests use it to step through backoff);
    without it each message is stamped with the real time. Messages that fail are
    rescheduled, not retried within the pass. Stops early after ``limit`` messages or
    when ``stop`` is set. ``max_attempts`` defaults to the app's ``MAIL_MAX_ATTEMPTS``.
    """
    due_by = now or utcnow()
    worker_id = worker_id or default_worker_id()
    if max_attempts is None:
        max_attempts = int(current_app.config["MAIL_MAX_ATTEMPTS"])
    counts = SendCounts()
    while (limit is None or counts.total < limit) and not (stop and stop.is_set()):
        # Real time per message: a long pass must not stamp claims with a time so old
        # that another worker takes them for abandoned.
        moment = now or utcnow()
        message_id = claim_next(session, worker_id=worker_id, now=moment, due_by=due_by)
        if message_id is None:
            break
        outcome = send_one(
            session, backend, message_id, worker_id=worker_id, now=moment, max_attempts=max_attempts
        )
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    return counts


# -- the loop ----------------------------------------------------------------------------


class Chore(Protocol):
    """Housekeeping the worker does between passes (purges, digests), when it is due.

    Registered by the module it belongs to (``add_chore``), so the mail worker knows no
    domain. It must catch and log its own failures: housekeeping never stops the mail.
    """

    def run_if_due(self, session: DbSession, *, now: datetime) -> object: ...


# Makes a worker's chore from the app's configuration, once per worker run.
ChoreFactory = Callable[[Mapping[str, Any]], Chore]
CHORES = "signatory.mail.chores"


def add_chore(app: Flask, factory: ChoreFactory) -> None:
    """Have every mail worker of ``app`` run the chore ``factory`` makes."""
    app.extensions.setdefault(CHORES, []).append(factory)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Inside the block, SIGTERM and SIGINT set ``stop`` instead of killing the process."""
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may install signal handlers; elsewhere the caller owns stop.
        yield
        return

    def _handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping after the current message", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(
    session: DbSession,
    backend: MailBackend,
    *,
    interval: float | None = None,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
    on_pass: Callable[[SendCounts], None] | None = None,
) -> SendCounts:
    """Send what is due every ``interval`` seconds until ``stop`` is set or a signal arrives.

    Before each pass it runs the app's chores (``add_chore``): the signatures module
    purges unconfirmed signatures about once an hour, the notifications module queues
    the coordinators' daily digests. ``interval`` defaults to ``MAIL_WORKER_INTERVAL``;
    ``clock`` replaces the real time (for tests); ``on_pass`` is called after each pass
    that did something. Returns the totals.
    """
    stop = stop or threading.Event()
    if interval is None:
        interval = float(current_app.config["MAIL_WORKER_INTERVAL"])
    worker_id = worker_id or default_worker_id()
    totals = SendCounts()
    chores = [factory(current_app.config) for factory in current_app.extensions.get(CHORES, ())]
    with stop_on_signals(stop):
        while not stop.is_set():
            now = clock() if clock else None
            try:
                for chore in chores:
                    chore.run_if_due(session, now=now or utcnow())
                counts = send_due(session, backend, now=now, worker_id=worker_id, stop=stop)
            except Exception:
                # The database may be restarting: keep the worker alive, try next time.
                session.rollback()
                log.exception("mail worker pass failed")
                counts = SendCounts()
            totals.add(counts)
            if counts.total and on_pass is not None:
                on_pass(counts)
            stop.wait(interval)
    return totals
