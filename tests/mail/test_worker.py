"""The outbox worker: rendering, claiming, sending, retrying with backoff, purging."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask
from jinja2 import TemplateNotFound
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signatory import create_app
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.backends import MailBackend, PermanentDeliveryError, backend_from_url
from signatory.mail.outbox import enqueue
from signatory.mail.worker import (
    LEASE,
    SendCounts,
    claim,
    claim_next,
    retry_delay,
    run_worker,
    send_due,
)
from signatory.models import Letter, OutboxMessage, Signature
from signatory.signatures.service import purge_unconfirmed
from tests.conftest import SMTPServer, free_port, html_part, text_part
from tests.factories import make_letter, make_signature

# The signature status each template is sent for.
STATUS_FOR = {
    "confirm_request": "unconfirmed",
    "signature_confirmed": "published",
    "withdraw_link": "published",
    "withdrawal_receipt": "withdrawn",
}


@pytest.fixture
def app_config(smtp_server: SMTPServer) -> dict[str, Any]:
    return {"MAIL_URL": smtp_server.url, "MAIL_FROM": "Open letters <letters@signatory.test>"}


@pytest.fixture
def backend(app: Flask) -> MailBackend:
    return backend_from_url(app.config["MAIL_URL"])


@pytest.fixture
def down_backend() -> MailBackend:
    """SMTP at a port where nothing listens: every send fails at once."""
    return backend_from_url(f"smtp://127.0.0.1:{free_port()}")


@pytest.fixture
def now() -> datetime:
    return utcnow()


class Recording:
    """A backend that keeps messages in memory; optionally slow, or failing with ``error``."""

    def __init__(self, error: Exception | None = None, latency: float = 0.0) -> None:
        self.sent: list[EmailMessage] = []
        self.error = error
        self.latency = latency
        self.lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        if self.error is not None:
            raise self.error
        time.sleep(self.latency)
        with self.lock:
            self.sent.append(message)

    def describe(self) -> str:
        return "memory"


def queue(
    session: Session,
    *,
    now: datetime,
    template: str = "confirm_request",
    status: str | None = None,
    letter_title: str = "Protect civic space in the treaty",
    moderation: str = "none",
    **signature: Any,
) -> OutboxMessage:
    """A committed outbox row for a fresh signature on a fresh letter."""
    letter = make_letter(session, title=letter_title, moderation=moderation)
    signer = make_signature(session, letter, status=status or STATUS_FOR[template], **signature)
    message = enqueue(
        session,
        template=template,
        to=signer.email,
        context={"signature_id": signer.id},
        letter_id=letter.id,
        signature_id=signer.id,
        now=now,
    )
    session.commit()
    return message


def delivered(smtp_server: SMTPServer, count: int = 1) -> list[EmailMessage]:
    messages = smtp_server.wait_for(count, timeout=5)
    assert len(messages) == count, f"expected {count} email(s), the server got {len(messages)}"
    return messages


# -- rendering ---------------------------------------------------------------------------


def test_email_has_a_text_part_and_an_html_part(
    session: Session, backend: MailBackend, smtp_server: SMTPServer, now: datetime
) -> None:
    queue(session, now=now)

    send_due(session, backend, now=now)

    [email] = delivered(smtp_server)
    assert "To confirm your signature, open this link" in text_part(email)
    assert "Confirm my signature" in html_part(email)


def test_email_headers_name_sender_recipient_and_letter(
    session: Session, backend: MailBackend, smtp_server: SMTPServer, now: datetime
) -> None:
    message = queue(session, now=now, letter_title="Stop the bulldozers")

    send_due(session, backend, now=now)

    [email] = delivered(smtp_server)
    assert email["From"] == "Open letters <letters@signatory.test>"
    assert email["To"] == message.to_addr
    assert email["Subject"] == "Confirm your signature on “Stop the bulldozers”"
    assert email["Message-ID"].endswith("@signatory.test>")
    assert abs(parsedate_to_datetime(email["Date"]) - now) < timedelta(seconds=1)


def test_confirm_link_is_absolute_and_its_token_validates(
    app: Flask, session: Session, backend: MailBackend, smtp_server: SMTPServer, now: datetime
) -> None:
    message = queue(session, now=now)
    signature = session.get(Signature, message.signature_id)

    send_due(session, backend, now=now)

    [email] = delivered(smtp_server)
    prefix = "http://signatory.test/confirm/"
    [link] = [line for line in text_part(email).splitlines() if line.startswith(prefix)]
    assert link in html_part(email)
    payload = app.extensions["signatory.tokens"].read("confirm", link.removeprefix(prefix))
    assert (payload.row_id, payload.nonce) == (signature.id, signature.confirm_nonce)


@pytest.mark.parametrize("template", ["signature_confirmed", "withdraw_link"])
def test_withdraw_link_is_absolute_and_its_token_validates(
    app: Flask,
    session: Session,
    backend: MailBackend,
    smtp_server: SMTPServer,
    now: datetime,
    template: str,
) -> None:
    message = queue(session, now=now, template=template)
    signature = session.get(Signature, message.signature_id)

    send_due(session, backend, now=now)

    [email] = delivered(smtp_server)
    prefix = "http://signatory.test/withdraw/"
    [link] = [line for line in text_part(email).splitlines() if line.startswith(prefix)]
    payload = app.extensions["signatory.tokens"].read("withdraw", link.removeprefix(prefix))
    assert (payload.row_id, payload.nonce) == (signature.id, signature.withdraw_nonce)


# Every template the outbox accepts, so a new one without an email fails here.
@pytest.mark.parametrize("template", sorted(STATUS_FOR))
def test_every_email_names_the_letter_signer_and_links_the_letter(
    session: Session, now: datetime, template: str
) -> None:
    backend = Recording()
    message = queue(
        session, now=now, template=template, organization="Friends of the Earth", name="Kim Lee"
    )

    send_due(session, backend, now=now)

    [email] = backend.sent
    slug = session.get(Letter, message.letter_id).slug
    for part in (text_part(email), html_part(email)):
        assert "Protect civic space in the treaty" in part
        assert "Friends of the Earth" in part
        assert "Kim Lee" in part
        assert f"http://signatory.test/letters/{slug}" in part


def test_confirm_request_says_a_button_follows_and_nothing_is_published_otherwise(
    session: Session, now: datetime
) -> None:
    backend = Recording()
    queue(session, now=now)

    send_due(session, backend, now=now)

    body = text_part(backend.sent[0])
    assert "page with a button" in body
    assert "If you did not sign, ignore this email. Nothing is published" in body


@pytest.mark.parametrize(
    ("status", "subject_end", "wording"),
    [
        ("published", "is published", "It is now on the public list"),
        ("pending_review", "is confirmed and awaiting review", "once they approve it"),
    ],
)
def test_confirmation_receipt_says_where_the_signature_stands(
    session: Session, now: datetime, status: str, subject_end: str, wording: str
) -> None:
    backend = Recording()
    queue(session, now=now, template="signature_confirmed", status=status)

    send_due(session, backend, now=now)

    [email] = backend.sent
    assert email["Subject"].endswith(subject_end)
    assert wording in text_part(email)
    assert wording in html_part(email)


def test_html_part_escapes_what_signers_and_coordinators_typed(
    session: Session, now: datetime
) -> None:
    backend = Recording()
    queue(session, now=now, letter_title="<script>alert(1)</script>", organization="A & <b>B</b>")

    send_due(session, backend, now=now)

    html = html_part(backend.sent[0])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>B</b>" not in html and "A &amp; &lt;b&gt;B&lt;/b&gt;" in html


def test_sent_message_is_recorded_with_its_subject(session: Session, now: datetime) -> None:
    message = queue(session, now=now)

    counts = send_due(session, Recording(), now=now)

    assert counts == SendCounts(sent=1)
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.sent_at, row.attempts) == ("sent", now, 1)
    assert row.subject == "Confirm your signature on “Protect civic space in the treaty”"
    assert (row.claimed_by, row.last_error) == (None, None)


def test_message_for_a_purged_signature_fails_cleanly(session: Session, now: datetime) -> None:
    message = queue(session, now=now)
    signature = session.get(Signature, message.signature_id)
    signature.created_at = now - timedelta(days=30)
    purge_unconfirmed(session, now=now, older_than_days=14)
    session.commit()
    backend = Recording()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(failed=1)
    assert backend.sent == []
    row = session.get(OutboxMessage, message.id)
    assert row.status == "failed"
    assert "no longer exists (purged)" in row.last_error


def test_confirm_request_for_an_already_confirmed_signature_is_not_sent(
    session: Session, now: datetime
) -> None:
    message = queue(session, now=now, template="confirm_request", status="published")
    backend = Recording()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(failed=1)
    assert backend.sent == []
    assert "is now published" in session.get(OutboxMessage, message.id).last_error


def test_rendering_error_is_retried_later(
    session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = queue(session, now=now)

    def broken(name: str, **context: Any) -> str:
        raise TemplateNotFound(name)

    monkeypatch.setattr("signatory.mail.worker.render_template", broken)
    backend = Recording()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(retried=1)
    assert backend.sent == []
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("TemplateNotFound: mail/confirm_request")


# -- retrying ----------------------------------------------------------------------------


def test_retry_delay_starts_at_15_seconds_doubles_and_caps_at_10_minutes() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [15, 30, 60, 120, 240, 480, 600, 600, 600]
    assert retry_delay(1000) == timedelta(seconds=600)


def test_failed_send_stays_pending_and_is_retried_within_30_seconds(
    session: Session, down_backend: MailBackend, now: datetime
) -> None:
    message = queue(session, now=now)

    counts = send_due(session, down_backend, now=now)

    assert counts == SendCounts(retried=1)
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert now < row.next_attempt_at <= now + timedelta(seconds=30)


def test_last_error_is_one_short_line_without_a_traceback(session: Session, now: datetime) -> None:
    message = queue(session, now=now)
    noisy = RuntimeError("line one\n  line two\n" + "x" * 5000)

    send_due(session, Recording(error=noisy), now=now)

    error = session.get(OutboxMessage, message.id).last_error
    assert "\n" not in error and "Traceback" not in error
    assert error.startswith("RuntimeError: line one line two")
    assert len(error) <= 500


def test_retry_is_not_sent_before_it_is_due(
    session: Session, down_backend: MailBackend, now: datetime
) -> None:
    queue(session, now=now)
    send_due(session, down_backend, now=now)
    backend = Recording()

    counts = send_due(session, backend, now=now + timedelta(seconds=10))

    assert counts == SendCounts()
    assert backend.sent == []


def test_failed_send_is_retried_with_doubling_backoff_capped_at_10_minutes(
    session: Session, down_backend: MailBackend, now: datetime
) -> None:
    message = queue(session, now=now)
    delays = []
    moment = now
    for _ in range(9):
        send_due(session, down_backend, now=moment)
        row = session.get(OutboxMessage, message.id)
        delays.append((row.next_attempt_at - moment).total_seconds())
        moment = row.next_attempt_at

    assert delays == [15, 30, 60, 120, 240, 480, 600, 600, 600]
    assert session.get(OutboxMessage, message.id).attempts == 9


def test_sending_gives_up_after_mail_max_attempts(
    app: Flask, session: Session, down_backend: MailBackend, now: datetime
) -> None:
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    message = queue(session, now=now)
    outcomes = []
    moment = now
    for _ in range(4):
        outcomes.append(send_due(session, down_backend, now=moment))
        moment += timedelta(hours=1)

    retried, failed, nothing = SendCounts(retried=1), SendCounts(failed=1), SendCounts()
    assert outcomes == [retried, retried, failed, nothing]
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error.startswith("gave up after 3 attempts: ConnectionRefusedError")


def test_permanent_refusal_fails_at_once(session: Session, now: datetime) -> None:
    message = queue(session, now=now)
    refusing = Recording(error=PermanentDeliveryError("recipient refused: 550 No such user"))

    counts = send_due(session, refusing, now=now)

    assert counts == SendCounts(failed=1)
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550 No such user" in row.last_error


def test_message_is_delivered_once_the_smtp_server_comes_back(
    app: Flask, session: Session, now: datetime
) -> None:
    port = free_port()
    backend = backend_from_url(f"smtp://127.0.0.1:{port}")
    message = queue(session, now=now)
    send_due(session, backend, now=now)
    assert session.get(OutboxMessage, message.id).status == "pending"

    server = SMTPServer(port=port).start()
    try:
        counts = send_due(session, backend, now=now + timedelta(seconds=15))
        [email] = delivered(server)
    finally:
        server.stop()

    assert counts == SendCounts(sent=1)
    assert email["To"] == message.to_addr
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


# -- claiming ----------------------------------------------------------------------------


def claim_candidate(session: Session, now: datetime) -> int | None:
    """The row a worker would try to claim next, looked at without claiming it."""
    candidate = session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
    )
    session.commit()
    return candidate


def test_message_not_yet_due_is_left_alone(session: Session, now: datetime) -> None:
    message = queue(session, now=now + timedelta(minutes=1))

    assert claim_next(session, worker_id="w1", now=now) is None
    assert session.get(OutboxMessage, message.id).status == "pending"


def test_claim_is_won_by_exactly_one_of_two_workers(
    app: Flask, session: Session, now: datetime
) -> None:
    message_id = queue(session, now=now).id
    # Reading the id began a transaction, and on SQLite every transaction outside a web
    # request takes the write lock: end it so the other connections can work.
    session.commit()
    # Two sessions with their own connections, as two worker processes would have.
    with Session(db.engine) as first, Session(db.engine) as second:
        # Both look and see the same candidate before either claims it.
        seen_by_first = claim_candidate(first, now)
        seen_by_second = claim_candidate(second, now)
        assert seen_by_first == seen_by_second == message_id

        won_by_second = claim(second, message_id, worker_id="second", now=now)
        won_by_first = claim(first, message_id, worker_id="first", now=now)

    assert (won_by_first, won_by_second) == (False, True)
    row = session.get(OutboxMessage, message_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sending", "second", 1)


def test_two_workers_never_send_the_same_message(
    app: Flask, session: Session, now: datetime
) -> None:
    ids = [queue(session, now=now).id for _ in range(30)]
    session.commit()  # release SQLite's write lock taken by reading the ids
    # A second app on the same database file: its own engine and connections, like a
    # second worker process.
    other = create_app({**app.config, "INSTANCE_PATH": app.instance_path})
    # A little latency, as SMTP has, so the two workers interleave.
    backend = Recording(latency=0.003)
    start = threading.Barrier(2)
    counts: dict[str, SendCounts] = {}

    def work(worker_app: Flask, name: str) -> None:
        with worker_app.app_context():
            start.wait()
            counts[name] = send_due(db.session, backend, now=now, worker_id=name)
            db.session.remove()

    threads = [
        threading.Thread(target=work, args=(app, "one")),
        threading.Thread(target=work, args=(other, "two")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with other.app_context():
        db.engine.dispose()

    message_ids = [email["Message-ID"] for email in backend.sent]
    assert len(message_ids) == len(set(message_ids)) == 30
    assert counts["one"].sent + counts["two"].sent == 30
    session.expire_all()
    statuses = session.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids)))
    assert set(statuses) == {"sent"}


def test_stuck_sending_message_is_reclaimed_after_the_lease(
    session: Session, now: datetime
) -> None:
    message = queue(session, now=now)
    claimed_at = now - LEASE - timedelta(seconds=1)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status="sending", claimed_by="crashed", claimed_at=claimed_at, attempts=1)
    )
    session.commit()
    backend = Recording()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=1)
    assert len(backend.sent) == 1
    row = session.get(OutboxMessage, message.id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_message_being_sent_by_a_live_worker_is_left_alone(session: Session, now: datetime) -> None:
    message = queue(session, now=now)
    assert claim(session, message.id, worker_id="busy", now=now)

    later = now + LEASE - timedelta(seconds=1)

    assert claim_next(session, worker_id="other", now=later) is None
    assert session.get(OutboxMessage, message.id).claimed_by == "busy"


def test_send_due_stops_at_the_limit(session: Session, now: datetime) -> None:
    for _ in range(3):
        queue(session, now=now)
    backend = Recording()

    counts = send_due(session, backend, now=now, limit=2)

    assert counts == SendCounts(sent=2)
    assert len(backend.sent) == 2


# -- the loop ----------------------------------------------------------------------------


def test_worker_loop_sends_what_is_due_and_stops_when_asked(
    session: Session, now: datetime
) -> None:
    queue(session, now=now)
    backend = Recording()
    stop = threading.Event()

    totals = run_worker(
        session, backend, interval=0.01, stop=stop, on_pass=lambda counts: stop.set()
    )

    assert totals == SendCounts(sent=1)
    assert len(backend.sent) == 1


def test_worker_loop_purges_stale_unconfirmed_signatures(
    app: Flask, session: Session, now: datetime
) -> None:
    letter = make_letter(session)
    stale = make_signature(session, letter, status="unconfirmed")
    stale.created_at = now - timedelta(days=app.config["UNCONFIRMED_PURGE_DAYS"] + 1)
    fresh = make_signature(session, letter, status="unconfirmed")
    session.commit()
    stale_id, fresh_id = stale.id, fresh.id
    # Something to send, so the first pass reports and the test can stop the loop there.
    queue(session, now=now)
    stop = threading.Event()

    run_worker(
        session, Recording(), interval=0, stop=stop, clock=lambda: now, on_pass=lambda _: stop.set()
    )

    assert session.get(Signature, stale_id) is None
    assert session.get(Signature, fresh_id) is not None
