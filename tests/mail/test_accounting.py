"""Accounting for mail that did not go out: a letter's undelivered mail, and re-queuing it."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.accounting import (
    RetryCount,
    RetrySelection,
    count_retryable,
    count_undelivered,
    requeue,
    undelivered_mail,
)
from signatory.mail.backends import PermanentDeliveryError, SMTPBackend
from signatory.models import OutboxMessage
from tests.conftest import unmigrated_app
from tests.factories import audit_events, make_letter
from tests.mail.failures import failed_mail


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


def test_a_letters_undelivered_mail_is_its_failures_then_its_retries_newest_first(
    session: Session, now: datetime
) -> None:
    letter = make_letter(session, slug="treaty")
    other = make_letter(session, slug="other")
    old = failed_mail(session, letter, failed_at=now - timedelta(days=2))
    refused = failed_mail(session, letter, kind="permanent", failed_at=now - timedelta(hours=1))
    retrying = failed_mail(session, letter, kind="temporary", failed_at=now, status="pending")
    failed_mail(session, letter, kind="obsolete", failed_at=now)
    failed_mail(session, other, kind="permanent", failed_at=now)

    rows = undelivered_mail(session, letter.id)

    assert [m.id for m in rows] == [refused, old, retrying]
    assert count_undelivered(session, letter.id) == 3
    assert count_undelivered(session, other.id) == 1


def test_sent_and_first_try_mail_is_not_undelivered(session: Session, now: datetime) -> None:
    letter = make_letter(session)
    failed_mail(session, letter, kind="temporary", failed_at=now, status="pending")
    message = session.get(OutboxMessage, failed_mail(session, letter, failed_at=now))
    assert message is not None
    message.status, message.failure_kind = "sent", None
    session.commit()

    assert count_undelivered(session, letter.id) == 1


def test_count_retryable_says_what_requeue_then_does(session: Session, now: datetime) -> None:
    letter = make_letter(session)
    failed_mail(session, letter, failed_at=now)
    failed_mail(session, letter, kind="permanent", failed_at=now)
    selection = RetrySelection(letter_id=letter.id)

    assert count_retryable(session, selection) == RetryCount(1, 0, permanent_left_out=1)
    assert requeue(session, selection, now=now) == RetryCount(1, 0)
    session.commit()
    assert count_retryable(session, selection) == RetryCount(0, 0, permanent_left_out=1)


def test_two_requeues_at_once_requeue_each_message_once(session: Session, now: datetime) -> None:
    letter = make_letter(session)
    failed_mail(session, letter, failed_at=now)
    selection = RetrySelection(letter_id=letter.id)

    first = requeue(session, selection, now=now)
    second = requeue(session, selection, now=now)
    session.commit()

    assert (first.total, second.total) == (1, 0)
    assert [e.detail["count"] for e in audit_events(session, "mail.requeued")] == [1]


def test_smtp_backend_refuses_a_message_for_several_recipients() -> None:
    email = EmailMessage()
    email["From"] = "signatory@example.org"
    email["To"] = "ada@example.org, grace@example.org"
    email.set_content("one outbox row is one recipient")

    # Refused before any connection is made: nothing listens on this port.
    with pytest.raises(PermanentDeliveryError, match="exactly one address; this one names 2"):
        SMTPBackend("127.0.0.1", 9).send(email)


def test_upgrading_gives_mail_that_failed_before_its_kind(tmp_path: Path) -> None:
    """0007 reads the kind of older failures from the worker's old wording."""
    app = unmigrated_app(tmp_path)
    old_rows = {
        "gave up after 20 attempts: ConnectionRefusedError: refused": "failed",
        "PermanentDeliveryError: recipient refused: a@b: 550 no such user": "failed",
        "signature 3 no longer exists (purged)": "failed",
        "ConnectionRefusedError: refused": "pending",
    }
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            for error, status in old_rows.items():
                connection.execute(
                    text(
                        "INSERT INTO outbox_message (template, to_addr, context, status, "
                        "attempts, next_attempt_at, created_at, last_error) VALUES "
                        "('confirm_request', 'a@b.example', '{}', :status, 3, "
                        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', :error)"
                    ),
                    {"status": status, "error": error},
                )
        upgrade(revision="0007")
        with db.engine.connect() as connection:
            kinds = connection.execute(
                text("SELECT status, failure_kind FROM outbox_message ORDER BY id")
            ).all()
        db.engine.dispose()
    assert [tuple(row) for row in kinds] == [
        ("failed", "exhausted"),
        ("failed", "permanent"),
        ("failed", "obsolete"),
        ("pending", "temporary"),
    ]
