"""A batch reads what its messages are about once: the statements a worker sends for a batch
do not grow with its messages nor with its letter's versions, no version's text is read for
an email that shows none, and what a batch read is read again once it is
``registry.SNAPSHOT_AGE`` old. Counted with an event listener on the real database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.mail import ledger, registry
from signatory.mail.claims import WorkerSettings
from signatory.mail.outbox import enqueue
from signatory.mail.worker import SendCounts, send_due
from signatory.models import Letter, LetterVersion, Signature
from tests.conftest import text_part
from tests.factories import make_letter, make_signature
from tests.mail.queued import Memory, addresses, confirm_request, rows


@pytest.fixture
def now() -> datetime:
    return utcnow()


@pytest.fixture
def untimed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outcome written and no snapshot read again because a second went by: on a busy
    machine a batch can take that long, and the count would then be of time, not size."""
    monkeypatch.setattr(ledger, "RECORD_EVERY", 3600.0)
    monkeypatch.setattr(registry, "SNAPSHOT_AGE", 3600.0)


@contextmanager
def recorded() -> Iterator[list[str]]:
    """The SQL statements the app sends inside the block, as the database gets them."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def letter_of(session: Session, versions: int) -> Letter:
    """An open letter with ``versions`` versions, each text a few kilobytes."""
    letter = make_letter(session)
    for number in range(2, versions + 1):
        body = f"Version {number}: we ask the Committee to act.\n\n" * 80
        session.add(
            LetterVersion(
                letter=letter, number=number, body_markdown=body, body_html=render_markdown(body)
            )
        )
    session.flush()
    return letter


def statements_of_a_batch(
    session: Session, now: datetime, *, messages: int, versions: int = 1
) -> list[str]:
    """Queue ``messages`` confirmation requests on one letter of ``versions`` versions, send
    them as one batch; the statements sent from the claim to the last outcome."""
    letter = letter_of(session, versions)
    for address in addresses(messages):
        confirm_request(session, letter, address, now=now)
    session.commit()
    backend = Memory()

    with recorded() as statements:
        counts = send_due(session, backend, now=now, settings=WorkerSettings(batch_size=messages))

    assert counts == SendCounts(sent=messages)
    assert sorted(str(email["To"]) for email in backend.sent) == sorted(addresses(messages))
    return statements


@pytest.mark.usefixtures("untimed")
def test_a_batch_of_forty_sends_no_more_statements_than_a_batch_of_two(
    session: Session, now: datetime
) -> None:
    two = statements_of_a_batch(session, now, messages=2)
    forty = statements_of_a_batch(session, now, messages=40)

    assert len(forty) == len(two), "\n".join(forty)


@pytest.mark.usefixtures("untimed")
def test_a_letter_of_twelve_versions_costs_a_batch_no_more_statements_and_no_text(
    session: Session, now: datetime
) -> None:
    one = statements_of_a_batch(session, now, messages=5, versions=1)
    twelve = statements_of_a_batch(session, now, messages=5, versions=12)

    assert len(twelve) == len(one), "\n".join(twelve)
    # A confirmation request shows no version's text: none is read.
    assert [s for s in twelve if "body_markdown" in s or "body_html" in s] == []


@pytest.mark.usefixtures("untimed")
def test_a_batch_mixing_confirmations_and_a_change_notice_reads_the_texts_it_compares(
    session: Session, now: datetime
) -> None:
    letter = make_letter(session, body="We ask the Committee.\n")
    (first,) = letter.versions
    second = LetterVersion(
        letter=letter,
        number=2,
        body_markdown="We urge the Committee.\n",
        body_html=render_markdown("We urge the Committee.\n"),
    )
    session.add(second)
    session.flush()
    for address in addresses(3):
        confirm_request(session, letter, address, now=now)
    signer = make_signature(session, letter, status="published", email="earlier@example.org")
    signer.version_id = first.id
    enqueue(
        session,
        template="version_changed",
        to=signer.email,
        context={"signature_id": signer.id, "version_id": second.id},
        letter_id=letter.id,
        signature_id=signer.id,
        now=now,
    )
    for address in addresses(6)[3:]:
        confirm_request(session, letter, address, now=now)
    session.commit()
    backend = Memory()

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=7)
    notice = next(email for email in backend.sent if email["To"] == "earlier@example.org")
    assert "[-ask-]{+urge+}" in text_part(notice)
    confirmations = [email for email in backend.sent if email["To"] != "earlier@example.org"]
    assert all("/confirm/" in text_part(email) for email in confirmations)


def test_what_a_batch_read_is_read_again_once_it_is_snapshot_age_old(
    session: Session, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "SNAPSHOT_AGE", 0.0)
    letter = make_letter(session)
    messages = [confirm_request(session, letter, address, now=now) for address in addresses(6)]
    ids = [message.id for message in messages]
    last_signature = messages[-1].signature_id
    session.commit()
    engine = db.engine
    confirmed = threading.Event()

    def confirmed_meanwhile(email: EmailMessage) -> None:
        # While the first message is sent, the last one's signer confirms. At most the two
        # messages waiting to be sent and the one being rendered were rendered before.
        if not confirmed.is_set():
            with Session(engine) as other:
                other.execute(
                    update(Signature)
                    .where(Signature.id == last_signature)
                    .values(status="pending_review")
                )
                other.commit()
            confirmed.set()

    counts = send_due(session, Memory(on_send=confirmed_meanwhile), now=now)

    assert counts == SendCounts(sent=5, failed=1)
    assert rows(session, ids)[-1] == ("failed", "obsolete", 1)
