"""One SMTP connection per batch: reused from message to message, reopened when the server
drops it, left after a refusal ready for the next message, closed with QUIT at the end."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.mail.backends import MailBackend, backend_from_url
from signatory.mail.worker import SendCounts, send_due
from tests.conftest import smtp_answering
from tests.mail.queued import addresses, queue_to, rows

REFUSED = "nobody@refusing.example"


class Tracking:
    """An aiosmtpd handler that notes which connection carried each message.

    ``drop_after``: the server hangs up on a connection that has carried that many
    messages when the next one begins (an idle timeout, a restart). ``limit``: it answers
    421 to MAIL FROM on such a connection instead (a limit of messages per connection).
    """

    def __init__(self, *, drop_after: int | None = None, limit: int | None = None) -> None:
        self.drop_after = drop_after
        self.limit = limit
        self.delivered: list[tuple[Any, str]] = []  # (connection, recipient)
        self.quits = 0
        self.lock = threading.Lock()

    def carried(self, session: Any) -> int:
        return sum(1 for peer, _ in self.delivered if peer == session.peer)

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.drop_after is not None and self.carried(session) >= self.drop_after:
            server.transport.close()
            return "250 never heard"
        if self.limit is not None and self.carried(session) >= self.limit:
            return "421 4.7.0 Too many messages on this connection, come back"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.delivered.extend((session.peer, to) for to in envelope.rcpt_tos)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"

    def connections(self) -> int:
        return len({peer for peer, _ in self.delivered})


@contextmanager
def serving(handler: Tracking) -> Iterator[tuple[Tracking, MailBackend]]:
    with smtp_answering(handler) as controller:
        yield handler, backend_from_url(f"smtp://127.0.0.1:{controller.port}")


@pytest.fixture
def now() -> datetime:
    return utcnow()


def test_a_batch_is_sent_through_one_connection_closed_with_quit(
    session: Session, now: datetime
) -> None:
    with serving(Tracking()) as (server, backend):
        queue_to(session, addresses(5), now=now)

        counts = send_due(session, backend, now=now)

        assert counts == SendCounts(sent=5)
        assert [to for _, to in server.delivered] == addresses(5)
        assert (server.connections(), server.quits) == (1, 1)


def test_a_connection_the_server_dropped_between_messages_is_reopened_and_the_batch_goes_on(
    session: Session, now: datetime
) -> None:
    with serving(Tracking(drop_after=2)) as (server, backend):
        ids = queue_to(session, addresses(5), now=now)

        counts = send_due(session, backend, now=now)

        assert counts == SendCounts(sent=5)
        assert Counter(to for _, to in server.delivered) == Counter(addresses(5))
        assert server.connections() == 3
        assert rows(session, ids) == [("sent", None, 1)] * 5


def test_a_421_for_too_many_messages_on_one_connection_sends_the_rest_on_a_new_one(
    session: Session, now: datetime
) -> None:
    with serving(Tracking(limit=2)) as (server, backend):
        ids = queue_to(session, addresses(5), now=now)

        counts = send_due(session, backend, now=now)

        assert counts == SendCounts(sent=5)
        assert [to for _, to in server.delivered] == addresses(5)
        assert server.connections() == 3
        assert rows(session, ids) == [("sent", None, 1)] * 5


def test_after_a_refused_recipient_the_same_connection_carries_the_next_message(
    session: Session, now: datetime
) -> None:
    with serving(Tracking()) as (server, backend):
        ids = queue_to(session, [REFUSED, "ada@example.org"], now=now)

        counts = send_due(session, backend, now=now)

        assert counts == SendCounts(sent=1, failed=1)
        assert rows(session, ids) == [("failed", "permanent", 1), ("sent", None, 1)]
        assert [to for _, to in server.delivered] == ["ada@example.org"]
        assert server.quits == 1


class Unwelcoming:
    """A server that takes each connection and turns it away at once (554 greeting)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with client:
                client.sendall(b"554 5.3.2 No service here\r\n")

    def close(self) -> None:
        self.listener.close()


def test_a_server_that_cannot_be_reached_costs_a_batch_one_connection_attempt(
    session: Session, now: datetime
) -> None:
    server = Unwelcoming()
    try:
        ids = queue_to(session, addresses(3), now=now)

        counts = send_due(session, backend_from_url(f"smtp://127.0.0.1:{server.port}"), now=now)
    finally:
        server.close()

    assert counts == SendCounts(retried=3)
    assert rows(session, ids) == [("pending", "temporary", 1)] * 3
    assert server.connections == 1
