"""Claiming the outbox a batch at a time, under a lease, and giving back what was not tried."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask, render_template
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.claims import LEASE, claim_batch
from signatory.mail.worker import SendCounts, send_batch, send_due
from signatory.models import OutboxMessage
from tests import databases
from tests.mail.queued import Memory, addresses, queue_to, rows


@pytest.fixture
def now() -> datetime:
    return utcnow()


def set_rows(session: Session, ids: list[int], **values: Any) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values))
    session.commit()


def test_a_claim_takes_a_batch_of_due_rows_oldest_due_first(
    session: Session, now: datetime
) -> None:
    ids = queue_to(session, addresses(5), now=now)
    # The last queued has waited longest (a retry, say): it goes first.
    for waited, message_id in enumerate(ids):
        set_rows(session, [message_id], next_attempt_at=now - timedelta(minutes=waited))

    claimed = claim_batch(session, worker_id="w1", now=now, size=3)

    assert [message.id for message in claimed] == [ids[4], ids[3], ids[2]]
    assert [message.attempts for message in claimed] == [1, 1, 1]
    assert rows(session, ids) == [("pending", None, 0)] * 2 + [("sending", None, 1)] * 3
    assert holders(session, ids) == [None, None, "w1", "w1", "w1"]


def holders(session: Session, ids: list[int]) -> list[str | None]:
    session.expire_all()
    found = dict(
        session.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_by).where(OutboxMessage.id.in_(ids))
        ).all()
    )
    session.rollback()
    return [found[i] for i in ids]


def test_a_claim_passes_over_rows_not_due_and_rows_a_live_worker_holds(
    session: Session, now: datetime
) -> None:
    later, held, abandoned, due = queue_to(session, addresses(4), now=now)
    set_rows(session, [later], next_attempt_at=now + timedelta(seconds=1))
    set_rows(session, [held], status="sending", claimed_by="alive", claimed_at=now - LEASE / 2)
    set_rows(
        session,
        [abandoned],
        status="sending",
        claimed_by="dead",
        claimed_at=now - LEASE - timedelta(seconds=1),
        attempts=1,
    )

    claimed = claim_batch(session, worker_id="w1", now=now, size=10)

    assert sorted(message.id for message in claimed) == sorted([abandoned, due])
    assert holders(session, [later, held, abandoned, due]) == [None, "alive", "w1", "w1"]
    assert rows(session, [abandoned])[0][2] == 2


def test_the_lease_is_mail_lease_seconds(app: Flask, session: Session, now: datetime) -> None:
    app.config["MAIL_LEASE_SECONDS"] = 60
    stuck, still_held = queue_to(session, addresses(2), now=now)
    set_rows(
        session,
        [stuck],
        status="sending",
        claimed_by="dead",
        claimed_at=now - timedelta(seconds=61),
    )
    set_rows(
        session,
        [still_held],
        status="sending",
        claimed_by="slow",
        claimed_at=now - timedelta(seconds=59),
    )
    backend = Memory()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=1)
    assert [email["To"] for email in backend.sent] == [addresses(2)[0]]
    assert holders(session, [still_held]) == ["slow"]


@pytest.mark.skipif(not databases.POSTGRESQL, reason="about PostgreSQL's row locks")
def test_on_postgresql_a_claim_passes_over_rows_another_claim_is_locking(
    app: Flask, session: Session, now: datetime
) -> None:
    ids = queue_to(session, addresses(6), now=now)
    with Session(db.engine) as other:
        # Another worker's claim, between its SELECT ... FOR UPDATE and its commit.
        other.scalars(
            select(OutboxMessage.id).where(OutboxMessage.id.in_(ids[:3])).with_for_update()
        ).all()
        # Waiting for the locks would fail here rather than hang the test.
        session.execute(text("SET lock_timeout = '2s'"))

        claimed = claim_batch(session, worker_id="w1", now=now, size=6)

        other.rollback()
    assert [message.id for message in claimed] == ids[3:]


def test_a_stop_during_a_batch_gives_back_the_rows_not_yet_tried(
    session: Session, now: datetime
) -> None:
    ids = queue_to(session, addresses(10), now=now)
    stop = threading.Event()
    backend = Memory(on_send=lambda message: stop.set())

    counts = send_due(session, backend, now=now, stop=stop)

    states = rows(session, ids)
    given_back = [state for state in states if state[0] == "pending"]
    assert counts == SendCounts(sent=len(backend.sent))
    assert states == [("sent", None, 1)] * counts.sent + [("pending", None, 0)] * len(given_back)
    assert given_back, "the stop came too late to leave anything untried"
    assert holders(session, ids)[counts.sent :] == [None] * len(given_back)


def test_a_batch_that_outlasts_half_its_lease_gives_back_the_rest(
    session: Session, now: datetime
) -> None:
    ids = queue_to(session, addresses(10), now=now)
    lease = timedelta(seconds=0.2)
    batch = claim_batch(session, worker_id="w1", now=now, size=10, lease=lease)
    backend = Memory(latency=0.15)

    counts = send_batch(session, backend, batch, worker_id="w1", max_attempts=5, lease=lease)

    states = rows(session, ids)
    assert 1 <= counts.sent < 10
    assert states == [("sent", None, 1)] * counts.sent + [("pending", None, 0)] * (10 - counts.sent)


def test_an_outcome_is_not_recorded_for_a_row_another_worker_has_taken_over(
    app: Flask, session: Session, now: datetime
) -> None:
    first, second = queue_to(session, addresses(2), now=now)
    batch = claim_batch(session, worker_id="w1", now=now, size=2)
    engine = db.engine

    def taken_over(message: EmailMessage) -> None:
        # As if w1 had outlived its lease and w2 had claimed the second row meanwhile.
        with Session(engine) as other:
            set_rows(other, [second], claimed_by="w2")

    send_batch(session, Memory(on_send=taken_over), batch, worker_id="w1", max_attempts=5)

    assert rows(session, [first, second]) == [("sent", None, 1), ("sending", None, 1)]
    assert holders(session, [second]) == ["w2"]


def test_a_batch_interrupted_while_rendering_records_what_was_sent_and_gives_back_the_rest(
    session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = queue_to(session, addresses(5), now=now)
    rendered: list[str] = []
    real = render_template

    def interrupted_at_the_third(name: str, **context: Any) -> str:
        if name.endswith(".subject.txt"):
            rendered.append(name)
            if len(rendered) == 3:
                raise KeyboardInterrupt("stopped by hand")
        return real(name, **context)

    monkeypatch.setattr("signatory.mail.worker.render_template", interrupted_at_the_third)
    backend = Memory()

    with pytest.raises(KeyboardInterrupt):
        send_due(session, backend, now=now)

    session.rollback()
    assert len(backend.sent) == 2
    assert rows(session, ids) == [("sent", None, 1)] * 2 + [("pending", None, 0)] * 3
