"""SMTP temporary versus permanent failures, against a real SMTP server that misbehaves.

The server (aiosmtpd) answers each recipient the way real ones do: 550 to an address that
does not exist, 451 to one it greylists, 554 to the content of a message whose recipient it
accepted, and it drops the connection for a fourth. What each outbox row holds afterwards
is checked exactly, and so is who may see it: the letter's coordinators, and nobody else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.backends import MailBackend, backend_from_url
from signatory.mail.worker import LEASE, SendCounts, send_due
from signatory.models import Letter, OutboxMessage
from tests.conftest import sign_in, smtp_answering
from tests.factories import find_letter, make_letter, make_member
from tests.mail.queued import confirm_request

REFUSED = "nobody@refusing.example"  # 550 at RCPT TO
DEFERRED = "later@greylisting.example"  # 451 at RCPT TO
CONTENT_REFUSED = "filtered@strict.example"  # RCPT accepted, 554 after DATA
DROPPED = "dropped@flaky.example"  # connection closed at RCPT TO
ACCEPTED = "ada@accepting.example"  # delivered

REPLY_550 = "550 5.1.1 <{address}>: Recipient address rejected: User unknown"
REPLY_451 = "451 4.7.1 Greylisted, please try again in 5 minutes"
REPLY_554 = "554 5.7.1 Message rejected: looks like spam"


class Picky:
    """An aiosmtpd handler that answers by recipient; ``replies`` may be changed by a test."""

    def __init__(self) -> None:
        self.delivered: list[EmailMessage] = []
        self.sender_reply: str | None = None
        self.quit_reply: str | None = None
        self.replies: dict[str, str] = {
            REFUSED: REPLY_550.format(address=REFUSED),
            DEFERRED: REPLY_451,
        }

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.sender_reply:
            return self.sender_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == DROPPED:
            # The server goes away mid-conversation: no reply at all.
            server.transport.close()
            return "250 never heard"
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> Any:  # noqa: N802
        return self.quit_reply or "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if CONTENT_REFUSED in envelope.rcpt_tos:
            return REPLY_554
        self.delivered.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK: queued"


@pytest.fixture
def picky() -> Iterator[tuple[Picky, MailBackend]]:
    handler = Picky()
    with smtp_answering(handler) as controller:
        yield handler, backend_from_url(f"smtp://127.0.0.1:{controller.port}")


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


def queue_for(session: Session, address: str, *, now: datetime, slug: str = "treaty") -> int:
    """A confirmation request to ``address`` for a new signature on the letter ``slug``."""
    letter = find_letter(session, slug) or make_letter(session, slug=slug)
    message = confirm_request(session, letter, address, now=now, organization=f"Org {address}")
    session.commit()
    return message.id


def row(session: Session, message_id: int) -> OutboxMessage:
    session.expire_all()
    found = session.get(OutboxMessage, message_id)
    assert found is not None
    return found


def state(message: OutboxMessage) -> tuple[Any, ...]:
    return (message.status, message.failure_kind, message.smtp_code, message.attempts)


# -- what the worker records -------------------------------------------------------------


def test_a_recipient_refused_with_550_fails_at_once_with_the_servers_reply(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    message_id = queue_for(session, REFUSED, now=now)

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=0, retried=0, failed=1)
    message = row(session, message_id)
    assert state(message) == ("failed", "permanent", 550, 1)
    assert message.last_error == (
        "550 5.1.1 <[recipient]>: Recipient address rejected: User unknown (after RCPT TO)"
    )
    assert message.last_attempt_at == now
    assert (message.claimed_by, message.sent_at) == (None, None)
    assert handler.delivered == []


def test_a_greylisting_451_is_retried_with_backoff(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    _, backend = picky
    message_id = queue_for(session, DEFERRED, now=now)

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=0, retried=1, failed=0)
    message = row(session, message_id)
    assert state(message) == ("pending", "temporary", 451, 1)
    assert message.last_error == (
        "451 4.7.1 Greylisted, please try again in 5 minutes (after RCPT TO)"
    )
    assert message.next_attempt_at == now + timedelta(seconds=15)


def test_content_refused_with_554_after_the_recipient_was_accepted_fails_at_once(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    message_id = queue_for(session, CONTENT_REFUSED, now=now)

    send_due(session, backend, now=now)

    message = row(session, message_id)
    assert state(message) == ("failed", "permanent", 554, 1)
    assert message.last_error == "554 5.7.1 Message rejected: looks like spam (after DATA)"
    assert handler.delivered == []


def test_a_dropped_connection_is_retried_with_backoff(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    _, backend = picky
    message_id = queue_for(session, DROPPED, now=now)

    send_due(session, backend, now=now)

    message = row(session, message_id)
    assert state(message) == ("pending", "temporary", None, 1)
    assert message.last_error is not None
    assert message.last_error.startswith("SMTPServerDisconnected: ")
    assert message.next_attempt_at == now + timedelta(seconds=15)


def test_one_refused_message_does_not_stop_the_others_in_the_same_pass(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    ids = {
        address: queue_for(session, address, now=now)
        for address in (REFUSED, DEFERRED, CONTENT_REFUSED, DROPPED, ACCEPTED)
    }

    counts = send_due(session, backend, now=now)

    assert counts == SendCounts(sent=1, retried=2, failed=2)
    assert {address: state(row(session, i)) for address, i in ids.items()} == {
        REFUSED: ("failed", "permanent", 550, 1),
        DEFERRED: ("pending", "temporary", 451, 1),
        CONTENT_REFUSED: ("failed", "permanent", 554, 1),
        DROPPED: ("pending", "temporary", None, 1),
        ACCEPTED: ("sent", None, None, 1),
    }
    assert [email["To"] for email in handler.delivered] == [ACCEPTED]
    assert row(session, ids[ACCEPTED]).last_error is None


def test_a_permanent_failure_is_never_tried_again_while_temporary_ones_are(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    refused = queue_for(session, REFUSED, now=now)
    deferred = queue_for(session, DEFERRED, now=now)
    send_due(session, backend, now=now)
    handler.replies.pop(DEFERRED)  # the greylist lets it through now

    later = now + timedelta(hours=1)
    counts = send_due(session, backend, now=later)

    assert counts == SendCounts(sent=1, retried=0, failed=0)
    assert state(row(session, refused)) == ("failed", "permanent", 550, 1)
    assert state(row(session, deferred)) == ("sent", None, None, 2)
    assert row(session, deferred).sent_at == later
    assert [email["To"] for email in handler.delivered] == [DEFERRED]


def test_a_deferral_that_never_ends_is_given_up_when_attempts_run_out(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    _, backend = picky
    message_id = queue_for(session, DEFERRED, now=now)

    moment = now
    for _ in range(3):
        send_due(session, backend, now=moment, max_attempts=3)
        moment += timedelta(hours=1)

    message = row(session, message_id)
    assert state(message) == ("failed", "exhausted", 451, 3)
    assert message.last_error == (
        "gave up after 3 attempts: 451 4.7.1 Greylisted, please try again in 5 minutes "
        "(after RCPT TO)"
    )
    assert send_due(session, backend, now=moment + timedelta(days=1)) == SendCounts()


def test_a_sender_refused_with_553_fails_at_once(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    handler.sender_reply = "553 5.7.1 Sender address rejected: not owned by you"
    message_id = queue_for(session, ACCEPTED, now=now)

    send_due(session, backend, now=now)

    message = row(session, message_id)
    assert state(message) == ("failed", "permanent", 553, 1)
    assert message.last_error == (
        "553 5.7.1 Sender address rejected: not owned by you (after MAIL FROM)"
    )


def test_a_421_shutting_down_at_rcpt_is_temporary(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    handler.replies[REFUSED] = "421 4.3.2 Service shutting down"
    message_id = queue_for(session, REFUSED, now=now)

    send_due(session, backend, now=now)

    assert state(row(session, message_id)) == ("pending", "temporary", 421, 1)


def test_a_hostile_reply_is_kept_as_one_trimmed_printable_line(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    handler.replies[REFUSED] = "550 <script>alert(1)</script>\x1b[31m " + "x" * 2000
    message_id = queue_for(session, REFUSED, now=now)

    send_due(session, backend, now=now)

    error = row(session, message_id).last_error
    assert error is not None
    assert error.startswith("550 <script>alert(1)</script> [31m xxx")
    assert error.endswith("… (after RCPT TO)")
    assert len(error) <= 320
    assert all(c.isprintable() for c in error)


def test_a_refused_quit_after_the_server_accepted_the_message_still_counts_as_sent(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    handler.quit_reply = "554 5.3.0 Something went wrong saying goodbye"
    message_id = queue_for(session, ACCEPTED, now=now)

    assert send_due(session, backend, now=now) == SendCounts(sent=1)

    assert state(row(session, message_id)) == ("sent", None, None, 1)
    assert len(handler.delivered) == 1
    assert send_due(session, backend, now=now + timedelta(hours=1)) == SendCounts()


# -- at least once, at most one duplicate per crash ---------------------------------------


class DiesAfterTheServerAccepts:
    """Hands the message to the real server, then the worker process "dies" (a
    BaseException, like the SIGKILL it stands for, is caught by nothing in the worker)."""

    def __init__(self, backend: MailBackend) -> None:
        self.backend = backend

    def send(self, message: EmailMessage) -> None:
        self.backend.send(message)
        raise KeyboardInterrupt("killed between the server's 250 and the commit")

    def describe(self) -> str:
        return "a worker about to die"


def test_a_worker_dying_after_the_servers_acceptance_causes_one_recognisable_duplicate(
    session: Session, picky: tuple[Picky, MailBackend], now: datetime
) -> None:
    handler, backend = picky
    message_id = queue_for(session, ACCEPTED, now=now)

    with pytest.raises(KeyboardInterrupt):
        send_due(session, DiesAfterTheServerAccepts(backend), now=now, worker_id="dead")
    session.rollback()
    stuck = row(session, message_id)
    assert (stuck.status, stuck.claimed_by, stuck.attempts) == ("sending", "dead", 1)
    # A live worker leaves it alone while the dead one's lease runs...
    assert send_due(session, backend, now=now + LEASE - timedelta(seconds=1)) == SendCounts()
    # ...and takes it over once the lease has run out.
    later = now + LEASE + timedelta(seconds=1)
    assert send_due(session, backend, now=later) == SendCounts(sent=1)

    assert state(row(session, message_id)) == ("sent", None, None, 2)
    assert len(handler.delivered) == 2
    first, second = handler.delivered
    assert first["Message-ID"] == second["Message-ID"]
    # Nothing left to send: the duplicate is the only one.
    assert send_due(session, backend, now=later + timedelta(days=1)) == SendCounts()


# -- who sees it -------------------------------------------------------------------------


@pytest.fixture
def refused_on_letter(
    app: Flask, picky: tuple[Picky, MailBackend], now: datetime
) -> dict[str, Any]:
    """A letter whose confirmation request to REFUSED was refused; its team and a stranger."""
    _, backend = picky
    with app.app_context():
        session = db.session
        message_id = queue_for(session, REFUSED, now=now, slug="treaty")
        letter_id = row(session, message_id).letter_id
        signature_id = row(session, message_id).signature_id
        letter = session.get(Letter, letter_id)
        moderator = make_member(session, letter, role="moderator").email
        other = make_letter(session, slug="other-letter")
        stranger = make_member(session, other, role="owner").email
        session.commit()
        send_due(session, backend, now=now)
    return {"moderator": moderator, "stranger": stranger, "signature_id": signature_id}


def test_the_letters_moderator_sees_the_refusal_on_the_undelivered_mail_page(
    client: FlaskClient, refused_on_letter: dict[str, Any]
) -> None:
    sign_in(client, refused_on_letter["moderator"])

    response = client.get("/manage/letters/treaty/mail")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Confirmation request" in page
    assert REFUSED in page
    assert "Refused by the mail server" in page
    assert "550 5.1.1 &lt;[recipient]&gt;: Recipient address rejected" in page
    signature_link = f'href="/manage/letters/treaty/signatures/{refused_on_letter["signature_id"]}"'
    assert signature_link in page
    assert 'href="/manage/letters/treaty/mail" aria-current="page">Undelivered mail (1)' in page
    overview = client.get("/manage/letters/treaty/").get_data(as_text=True)
    assert '<span class="count">1</span> email about this letter is undelivered' in overview


def test_a_coordinator_of_another_letter_gets_404_and_never_the_address(
    client: FlaskClient, refused_on_letter: dict[str, Any]
) -> None:
    sign_in(client, refused_on_letter["stranger"])

    response = client.get("/manage/letters/treaty/mail")

    assert response.status_code == 404
    assert REFUSED not in response.get_data(as_text=True)
    own = client.get("/manage/letters/other-letter/mail").get_data(as_text=True)
    assert REFUSED not in own
    assert "Every email about this letter has been sent" in own


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(
    client: FlaskClient, refused_on_letter: dict[str, Any]
) -> None:
    response = client.get("/manage/letters/treaty/mail")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/manage/login")
    assert REFUSED not in response.get_data(as_text=True)


def test_no_public_page_names_the_refused_address_or_the_failure(
    client: FlaskClient, refused_on_letter: dict[str, Any]
) -> None:
    for path in (
        "/letters/treaty",
        "/letters/treaty/signatories",
        "/letters/treaty/signatories.csv",
        "/api/v1/letters/treaty",
        "/api/v1/letters/treaty/signatures",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        assert REFUSED not in body, path
        assert "Recipient address rejected" not in body, path
