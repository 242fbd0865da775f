"""Several mail workers, each a real ``flask mail worker`` process, sharing one outbox and one
real SMTP server: every message is delivered exactly once while they live, and what a killed
worker held is sent by another once its lease has run out."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from signatory import create_app
from signatory.core.extensions import db
from tests.conftest import SECRET, SMTPServer, smtp_answering
from tests.factories import make_letter, make_signature
from tests.mail.processes import (
    KINDS,
    Worker,
    engine,
    outbox_rows,
    queue_confirmations,
    statuses,
    wait_for,
    worker_database,
    worker_env,
    workers,
)

pytestmark = pytest.mark.slow

SIGNER = "ada@example.org"


@pytest.fixture(params=KINDS)
def database_url(request: pytest.FixtureRequest, migrated_database: str, tmp_path: Path) -> Any:
    with worker_database(request.param, migrated_database, tmp_path) as url:
        yield url


def unconfirmed_signature(database_url: str, tmp: Path) -> int:
    """A letter with one unconfirmed signature, to which every queued message is addressed."""
    app: Flask = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
        }
    )
    with app.app_context():
        letter = make_letter(db.session)
        signature_id = make_signature(db.session, letter, status="unconfirmed", email=SIGNER).id
        db.session.commit()
        db.engine.dispose()
    return signature_id


def received_ids(messages: list[Any]) -> Counter[int]:
    """How many times each outbox row arrived, by the row id in its Message-ID."""
    # Message-IDs read <outbox.ID.CREATED@domain> (mail.worker._message_id).
    return Counter(int(str(message["Message-ID"]).split(".")[1]) for message in messages)


def test_three_workers_deliver_a_thousand_messages_each_exactly_once(
    database_url: str, tmp_path: Path, smtp_server: SMTPServer
) -> None:
    signature_id = unconfirmed_signature(database_url, tmp_path)
    database = engine(database_url)
    env = worker_env(database_url, tmp_path, smtp_port=smtp_server.port, MAIL_BATCH_SIZE="20")

    with workers(3, env, tmp_path) as running:
        # Queued once all three are polling, so that they race for the same rows.
        ids = queue_confirmations(database, signature_id, SIGNER, 1000)
        wait_for(
            lambda: statuses(database) == {"sent": 1000},
            timeout=120,
            explain=lambda: f"{statuses(database)}\n" + "\n".join(w.describe() for w in running),
        )
        senders = [w.name for w in running if "sent (attempt 1)" in w.log()]
    database.dispose()
    assert len(senders) >= 2, "one worker sent everything: the workers never raced"

    received = received_ids(smtp_server.wait_for(1000))
    assert set(received) == set(ids)
    assert {i: times for i, times in received.items() if times > 1} == {}


class Stalling:
    """An SMTP server that takes ``accept`` messages, then leaves every further DATA
    unanswered until ``release`` is set, and then refuses it for now (451)."""

    def __init__(self, accept: int) -> None:
        self.accept = accept
        self.received: list[Any] = []
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if len(self.received) >= self.accept and not self.release.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def stalling() -> Iterator[tuple[Stalling, int]]:
    handler = Stalling(accept=3)
    with smtp_answering(handler) as controller:
        try:
            yield handler, controller.port
        finally:
            handler.release.set()


LEASE = timedelta(seconds=3)


def test_a_worker_killed_mid_batch_leaves_its_rows_to_another_worker_after_the_lease(
    database_url: str, tmp_path: Path, stalling: tuple[Stalling, int]
) -> None:
    server, port = stalling
    signature_id = unconfirmed_signature(database_url, tmp_path)
    database = engine(database_url)
    env = worker_env(
        database_url,
        tmp_path,
        smtp_port=port,
        MAIL_BATCH_SIZE="10",
        MAIL_LEASE_SECONDS=str(LEASE.total_seconds()),
    )
    ids = queue_confirmations(database, signature_id, SIGNER, 20)

    # Killed while the server holds its fourth message: three delivered, the batch unfinished.
    doomed = Worker("doomed", env, tmp_path)
    try:
        wait_for(server.stalled.is_set, timeout=60, explain=doomed.describe)
        doomed.kill()
    finally:
        doomed.stop()
    accepted_from_the_dead = set(received_ids(server.received))
    held = {i: row for i, row in outbox_rows(database, ids).items() if row.status == "sending"}
    assert 7 <= len(held) <= 10, statuses(database)
    assert len({row.claimed_by for row in held.values()}) == 1
    assert statuses(database).get("pending") == 10
    server.release.set()

    with workers(1, env, tmp_path) as running:
        wait_for(
            lambda: statuses(database) == {"sent": 20},
            timeout=60,
            explain=lambda: f"{statuses(database)}\n{running[0].describe()}",
        )
    rows = outbox_rows(database, ids)
    database.dispose()

    for message_id, before in held.items():
        # Taken over only once the dead worker's lease had run out: a second attempt.
        assert rows[message_id].sent_at - before.claimed_at >= LEASE
        assert rows[message_id].attempts == before.attempts + 1
    received = received_ids(server.received)
    assert set(received) == set(ids)
    # A second copy only of what the server had accepted from the killed worker.
    assert {i for i, times in received.items() if times > 1} <= accepted_from_the_dead
