"""The outbox worker: claim a batch, render and send each message, record the outcomes.

A pass over the outbox repeats these steps until nothing is due. Each is a short
transaction of its own (or none), so the database is never locked while an SMTP server
is waited on:

1. **claim** up to ``MAIL_BATCH_SIZE`` due rows and commit (``mail.claims``: ``FOR UPDATE
   SKIP LOCKED`` on PostgreSQL, SQLite's one writer at a time). The rows are then this
   worker's, under a lease of ``MAIL_LEASE_SECONDS``; no other live worker touches them.
2. **render** each message (links are minted now, so no live token ever sits in the
   table), reading in a transaction that ends before the message is sent. What the
   batch's messages are about (their signatures and letters) is read once for all of
   them (``registry.Snapshot``), and read again when it is a second old.
3. **send** it through the batch's one SMTP connection, on a thread of its own
   (``mail.sender``) while the next message is rendered; no transaction is open there.
4. **record** the outcomes (``mail.ledger``), in one transaction for the batch (and at
   least every ``ledger.RECORD_EVERY`` seconds of a long one), each only while the row is
   still this worker's: sent; tried again later with backoff (a 4xx reply, a connection
   problem); or failed for good, at once for a 5xx reply to MAIL FROM, RCPT TO or DATA,
   or when ``MAIL_MAX_ATTEMPTS`` run out.

A worker asked to stop (SIGTERM) finishes what it has handed over for sending, records it
and gives back the rest of its batch untried. A worker that dies leaves its rows in
``sending``; after the lease any worker takes them again.

Delivery is therefore **at least once**, and recording a batch's outcomes together is a
trade-off: a worker that dies (or loses its database) after the server has accepted
messages and before their outcomes are committed has those messages sent again after the
lease, so one crash can cost up to a batch, or ``RECORD_EVERY`` seconds' worth, of copies
rather than one. A commit per message would bound it to one copy, at several times the
cost per message. Every copy has the same Message-ID, so mail clients recognise it. Two
live workers never send one message twice: a claimed row is one worker's, and a worker
ends a batch at half its lease, so no row is taken from a worker still sending it.

Everything here runs inside an application context: templates, configuration and the
token serializers come from the current app.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from flask import current_app, render_template
from flask_babel import force_locale, get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext

from signatory.core.database import DbSession
from signatory.core.i18n import language_of
from signatory.core.ops.logs import log_context
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.mail import registry
from signatory.mail.backends import (
    MailBackend,
    PermanentDeliveryError,
    open_connection,
)
from signatory.mail.chores import Chore, add_chore, chores_of, stop_on_signals
from signatory.mail.claims import (
    LEASE,
    Claimed,
    WorkerSettings,
    claim,
    claim_batch,
    claim_next,
    release,
)
from signatory.mail.ledger import Ledger, SendCounts, retry_delay, scrub, short
from signatory.mail.mime import MAIL_POLICY, new_boundary, set_boundary
from signatory.mail.registry import (
    MailEnv,
    Snapshot,
    Undeliverable,
    in_transaction,
    kept_between_commits,
)
from signatory.mail.sender import Delivery, Sender
from signatory.models import OutboxMessage
from signatory.models.outbox import OutboxFailure

__all__ = [
    "LEASE",
    "Chore",
    "SendCounts",
    "add_chore",
    "claim",
    "claim_batch",
    "claim_next",
    "render_message",
    "retry_delay",
    "run_worker",
    "send_batch",
    "send_due",
]

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """``host:pid:random``: a stuck row names the worker that held it, and two workers
    in one process (threads) still have different ids."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def message_log_context(message: Claimed) -> AbstractContextManager[None]:
    """The log lines about ``message`` (rendered, sent, refused) carry the id of the request
    that queued it, when the outbox kept one (``Claimed.request_id``)."""
    return log_context(request_id=message.request_id)


# -- rendering ---------------------------------------------------------------------------


class Renderable(Protocol):
    """What rendering reads from an outbox row (an ``OutboxMessage`` or a ``Claimed``)."""

    @property
    def id(self) -> int: ...
    @property
    def template(self) -> str: ...
    @property
    def to_addr(self) -> str: ...
    @property
    def context(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


def render_message(session: DbSession, message: OutboxMessage, *, now: datetime) -> EmailMessage:
    """Build the email for an outbox row: headers, a text part and an HTML part.

    Sets ``message.subject``. Raises ``Undeliverable`` when it can never be rendered, and
    ``LookupError`` for an email this worker does not know: perhaps newer code queued it
    and this worker predates it, so the row is retried rather than given up at once.
    """
    email = render_email(session, message, now=now)
    message.subject = str(email["Subject"])
    return email


def render_email(
    session: DbSession, message: Renderable, *, now: datetime, boundary: str | None = None
) -> EmailMessage:
    """The email for ``message``, as ``render_message``, changing nothing; its multipart
    ``boundary`` one drawn for the batch (``mime.set_boundary``), or the generator's."""
    config = current_app.config
    env = MailEnv(
        base_url=config["BASE_URL"].rstrip("/"),
        tokens=current_tokens(),
        config=config,
    )
    context = registry.build_context(session, message.template, message.context or {}, env)
    # A builder that knows the reader's interface language ("locale") gets the email in it.
    with force_locale(language_of(context.get("locale"))):
        return _render(message, context, now=now, boundary=boundary)


def _render(
    message: Renderable, context: dict[str, Any], *, now: datetime, boundary: str | None
) -> EmailMessage:
    config = current_app.config
    name = f"mail/{message.template}"
    context.update(_sentences())
    # A subject is one line: template whitespace and any newline in a title collapse.
    subject = " ".join(render_template(f"{name}.subject.txt", **context).split())[:300]
    context["subject"] = subject

    email = EmailMessage(policy=MAIL_POLICY)
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.to_addr
    email["Subject"] = subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = _message_id(message, config["MAIL_FROM"])
    # RFC 3834: tells autoresponders (out-of-office replies) not to answer.
    email["Auto-Submitted"] = "auto-generated"
    for header, value in registry.extra_headers(context).items():
        email[header] = value
    text = render_template(f"{name}.txt", **context)
    email.set_content(text)
    html = render_template(f"{name}.html", **context)
    email.add_alternative(html, subtype="html")
    if boundary is not None:
        set_boundary(email, boundary, text, html)
    return email


def _sentences() -> dict[str, Any]:
    """``gettext`` and ``ngettext`` for the templates, bound to the catalogue of the language
    forced for this email, made as Jinja makes them.

    Flask-Babel's own (the environment's) look the catalogue up again for every sentence,
    through four lookups on ``g``: nearly half of an email's template time. Given in the
    context, these take their place in the email's templates and the ones they extend or
    include; macros imported without the context keep the environment's. The same
    catalogue, the same sentences.
    """
    catalogue = get_translations()
    gettext = _make_new_gettext(catalogue.ugettext)
    # ``_`` is the environment's alias, which only calls ``gettext``: this one directly.
    return {"gettext": gettext, "_": gettext, "ngettext": _make_new_ngettext(catalogue.ungettext)}


def _message_id(message: Renderable, mail_from: str) -> str:
    # The same on every attempt, so the rare duplicate after a crashed worker is
    # recognisable as one by mail clients.
    domain = mail_from.rpartition("@")[2].strip(" >") or "signatory.invalid"
    return f"<outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


# -- sending -----------------------------------------------------------------------------


def _render_one(
    session: DbSession,
    message: Claimed,
    ledger: Ledger,
    *,
    now: datetime,
    max_attempts: int,
    boundary: str | None = None,
) -> EmailMessage | None:
    """The email for a claimed message, or None when it cannot be rendered (its outcome is
    then in ``ledger``: ``obsolete`` for a message about something gone or no longer true,
    failing at once; ``temporary`` for anything else, tried again with backoff)."""
    try:
        email = render_email(session, message, now=now, boundary=boundary)
    except Undeliverable as exc:
        session.rollback()
        log.info("outbox %s not sent: %s", message.id, exc)
        ledger.failed(message, now, OutboxFailure.OBSOLETE, str(exc))
        return None
    except Exception as exc:
        # A template bug or a database hiccup: worth retrying, perhaps after a fix.
        session.rollback()
        log.exception("outbox %s could not be rendered", message.id)
        ledger.temporary(message, now, exc, max_attempts)
        return None
    # End the reading before the message waits for the mail server: on SQLite the
    # worker's transactions take the write lock, and would hold up every other writer.
    # A message rendered from the batch's snapshot alone began none.
    if in_transaction(session):
        session.commit()
    return email


def _take_snapshot(session: DbSession, untried: list[Claimed]) -> Snapshot:
    """What the messages not yet rendered are about, read at once. A failure to read it
    costs nothing but the speed: each message's builder then reads its own rows (and
    fails, and is retried, as it would have)."""
    try:
        return Snapshot.take(session, [message.signature_id for message in untried])
    except Exception:
        session.rollback()
        log.exception("outbox: the batch's rows could not be read at once")
        return Snapshot([], time.monotonic())


def _note(ledger: Ledger, delivery: Delivery, *, now: datetime, max_attempts: int) -> None:
    """Record what the server made of a message: a 5xx refusal fails it at once
    (``permanent``); a 4xx refusal or a connection problem is tried again with backoff
    (``temporary``) until ``max_attempts`` run out (``exhausted``)."""
    message, subject, exc = delivery.message, delivery.subject, delivery.error
    if exc is None:
        # The server has the message. Until the ledger is written, a crash means it is
        # sent again after the lease: the copy that at-least-once delivery allows.
        ledger.sent(message, now, subject)
    elif isinstance(exc, PermanentDeliveryError):
        log.warning("outbox %s refused for good: %s", message.id, scrub(str(exc), message.to_addr))
        code = exc.code
        ledger.failed(message, now, OutboxFailure.PERMANENT, str(exc), code=code, subject=subject)
    else:
        error = scrub(short(exc), message.to_addr)
        log.warning("outbox %s attempt %s failed: %s", message.id, message.attempts, error)
        ledger.temporary(message, now, exc, max_attempts, subject=subject)


def send_batch(
    session: DbSession,
    backend: MailBackend,
    batch: list[Claimed],
    *,
    worker_id: str,
    max_attempts: int,
    lease: timedelta = LEASE,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> SendCounts:
    """Render the claimed ``batch``, send it through one connection, record what happened.

    Messages are sent on a thread (``mail.sender``) while the next ones are rendered.
    Stops early, giving back the rows not yet tried, when ``stop`` is set or when the batch
    has taken half the lease (the rest would soon look abandoned to other workers).
    """
    ledger = Ledger(session, worker_id)
    deadline = time.monotonic() + lease.total_seconds() / 2
    untried = list(batch)

    def settle(deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if not delivery.tried:
                untried.append(delivery.message)
                continue
            with message_log_context(delivery.message):
                _note(ledger, delivery, now=now or utcnow(), max_attempts=max_attempts)

    sender = Sender(open_connection(backend))
    snapshot: Snapshot | None = None
    boundary = new_boundary()
    try:
        with kept_between_commits(session):
            while untried and sender.fatal is None:
                if (stop and stop.is_set()) or time.monotonic() > deadline:
                    break
                if snapshot is None or snapshot.stale:
                    snapshot = _take_snapshot(session, untried)
                with message_log_context(untried[0]):
                    email = _render_one(
                        session,
                        untried[0],
                        ledger,
                        now=now or utcnow(),
                        max_attempts=max_attempts,
                        boundary=boundary,
                    )
                if email is not None:
                    sender.hand_over(untried[0], email)
                else:
                    # Rendering failed and rolled back, which expired the snapshot's rows.
                    snapshot = None
                # Only now is it out of the untried: rendered and noted, or handed over.
                untried.pop(0)
                settle(sender.collect())
                ledger.write_if_due()
    except BaseException:
        # What was handed over is sent and recorded, and the rows not tried (the one being
        # rendered among them) are given back, if the database lets us.
        session.rollback()
        try:
            settle(sender.finish())
            ledger.write()
            release(session, [message.id for message in untried], worker_id=worker_id)
        except Exception:
            session.rollback()
            log.exception("outbox: outcomes of the failed batch not recorded")
        raise
    settle(sender.finish())
    ledger.write()
    release(session, [message.id for message in untried], worker_id=worker_id)
    if sender.fatal is not None:
        # The message it was sending stays claimed, neither recorded nor given back: the
        # server may have it.
        raise sender.fatal
    return ledger.counts


def send_due(
    session: DbSession,
    backend: MailBackend,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    worker_id: str | None = None,
    max_attempts: int | None = None,
    stop: threading.Event | None = None,
    settings: WorkerSettings | None = None,
) -> SendCounts:
    """Send every message due when the pass starts, once each; return what happened.

    ``now`` fixes the clock for the whole pass (tests use it to step through backoff);
    without it each message is stamped with the real time. Messages that fail are
    rescheduled, not retried within the pass. Stops early after ``limit`` messages or
    when ``stop`` is set. ``max_attempts`` defaults to the app's ``MAIL_MAX_ATTEMPTS``,
    ``settings`` (batch size, lease) to the app's configuration.
    """
    due_by = now or utcnow()
    worker_id = worker_id or default_worker_id()
    if max_attempts is None:
        max_attempts = int(current_app.config["MAIL_MAX_ATTEMPTS"])
    settings = settings or WorkerSettings.from_config(current_app.config)
    counts = SendCounts()
    while (limit is None or counts.total < limit) and not (stop and stop.is_set()):
        size = (
            settings.batch_size if limit is None else min(settings.batch_size, limit - counts.total)
        )
        # Real time per batch: a long pass must not stamp claims with a time so old that
        # another worker takes them for abandoned.
        batch = claim_batch(
            session,
            worker_id=worker_id,
            now=now or utcnow(),
            size=size,
            due_by=due_by,
            lease=settings.lease,
        )
        if not batch:
            break
        counts.add(
            send_batch(
                session,
                backend,
                batch,
                worker_id=worker_id,
                max_attempts=max_attempts,
                lease=settings.lease,
                now=now,
                stop=stop,
            )
        )
    return counts


# -- the loop ----------------------------------------------------------------------------


def run_worker(
    session: DbSession,
    backend: MailBackend,
    *,
    interval: float | None = None,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
    clock: Callable[[], datetime] | None = None,
    on_pass: Callable[[SendCounts], None] | None = None,
    settings: WorkerSettings | None = None,
) -> SendCounts:
    """Send what is due every ``interval`` seconds until ``stop`` is set or a signal arrives.

    Before each pass it runs the app's chores (``add_chore``): the signatures module
    purges unconfirmed signatures about once an hour, the notifications module queues
    the coordinators' daily digests. ``interval`` defaults to ``MAIL_WORKER_INTERVAL``;
    ``clock`` replaces the real time (for tests); ``on_pass`` is called after each pass
    that did something; ``settings`` default to the app's configuration. Returns the totals.
    """
    stop = stop or threading.Event()
    if interval is None:
        interval = float(current_app.config["MAIL_WORKER_INTERVAL"])
    worker_id = worker_id or default_worker_id()
    settings = settings or WorkerSettings.from_config(current_app.config)
    totals = SendCounts()
    chores = chores_of(current_app._get_current_object())  # type: ignore[attr-defined]
    with stop_on_signals(stop):
        while not stop.is_set():
            now = clock() if clock else None
            try:
                for chore in chores:
                    chore.run_if_due(session, now=now or utcnow())
                counts = send_due(
                    session, backend, now=now, worker_id=worker_id, stop=stop, settings=settings
                )
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
