"""Outbox rows queued for the mail tests, and their states as the worker leaves them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.mail.outbox import enqueue
from signatory.models import Letter, OutboxMessage
from tests.factories import make_letter, make_signature


class Memory:
    """A mail backend that keeps what it is given, in order.

    ``on_send`` runs first, on the sending thread; ``latency`` seconds pass before each
    message is kept, as a server's answer takes.
    """

    def __init__(
        self, on_send: Callable[[EmailMessage], None] | None = None, latency: float = 0.0
    ) -> None:
        self.sent: list[EmailMessage] = []
        self.on_send = on_send
        self.latency = latency
        self.lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        if self.on_send is not None:
            self.on_send(message)
        time.sleep(self.latency)
        with self.lock:
            self.sent.append(message)

    def describe(self) -> str:
        return "memory"


def confirm_request(
    session: Session, letter: Letter, address: str, *, now: datetime, **signature: Any
) -> OutboxMessage:
    """A new unconfirmed signature of ``address`` on ``letter`` and its confirmation request,
    queued (flushed, not committed); ``signature`` are more of its fields."""
    made = make_signature(session, letter, status="unconfirmed", email=address, **signature)
    message = enqueue(
        session,
        template="confirm_request",
        to=address,
        context={"signature_id": made.id},
        letter_id=letter.id,
        signature_id=made.id,
        now=now,
    )
    session.flush()
    return message


def queue_to(session: Session, addresses: list[str], *, now: datetime) -> list[int]:
    """A committed confirmation request to each address, in order; their ids."""
    letter = make_letter(session)
    ids = [confirm_request(session, letter, address, now=now).id for address in addresses]
    session.commit()
    return ids


def addresses(count: int) -> list[str]:
    """``count`` distinct recipients."""
    return [f"signer{n}@example.org" for n in range(count)]


def rows(session: Session, ids: list[int]) -> list[tuple[Any, ...]]:
    """(status, failure kind, attempts) of each row, as committed, in the order of ``ids``."""
    session.expire_all()
    found = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    by_id = {message.id: message for message in found}
    states = [(by_id[i].status, by_id[i].failure_kind, by_id[i].attempts) for i in ids]
    session.rollback()
    return states
