"""The worker's log lines: one per message sent or failed, naming its outbox row and the
request that queued it, so a web node's log line and the worker's can be matched."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.mail.backends import PermanentDeliveryError
from signatory.mail.worker import send_due
from signatory.models import OutboxMessage
from tests.mail.queued import addresses, queue_to


class RefusingSome:
    """A backend that refuses one address for good and takes every other."""

    def __init__(self, refused: str) -> None:
        self.refused = refused

    def send(self, message: EmailMessage) -> None:
        if message["To"] == self.refused:
            raise PermanentDeliveryError("No such user", code=550, stage="RCPT TO")

    def describe(self) -> str:
        return "memory"


def worker_lines(caplog: pytest.LogCaptureFixture) -> dict[str, str | None]:
    return {
        record.getMessage(): getattr(record, "request_id", None)
        for record in caplog.records
        if record.name == "signatory.mail.worker"
    }


def queued_by_requests(session: Session, count: int, now: datetime) -> list[int]:
    ids = queue_to(session, addresses(count), now=now)
    for n, message_id in enumerate(ids):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(request_id=f"req-{n}")
        )
    session.commit()
    return ids


def test_each_message_sent_is_logged_with_its_row_and_the_request_that_queued_it(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signatory.mail.worker")
    first, second = queued_by_requests(session, 2, utcnow())

    send_due(session, RefusingSome(refused="nobody@example.org"))

    lines = worker_lines(caplog)
    assert lines[f"outbox {first} sent (attempt 1)"] == "req-0"
    assert lines[f"outbox {second} sent (attempt 1)"] == "req-1"


def test_a_message_refused_for_good_is_logged_with_its_row_and_request(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signatory.mail.worker")
    _, refused = queued_by_requests(session, 2, utcnow())

    send_due(session, RefusingSome(refused=addresses(2)[1]))

    lines = worker_lines(caplog)
    line = f"outbox {refused} refused for good: 550 No such user (after RCPT TO)"
    assert lines[line] == "req-1"
