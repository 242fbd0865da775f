"""Outbox rows as the mail worker leaves them after a failure, for the accounting tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from signatory.mail.outbox import enqueue
from signatory.models import Letter
from tests.factories import make_signature


def failed_mail(
    session: Session,
    letter: Letter | None,
    *,
    kind: str = "exhausted",
    failed_at: datetime,
    to: str | None = None,
    status: str = "failed",
) -> int:
    """A committed outbox row as the worker leaves it after a failure of ``kind``."""
    signature = None
    if letter is not None:
        signature = make_signature(session, letter, status="unconfirmed")
    message = enqueue(
        session,
        template="confirm_request" if signature else "password_reset",
        to=to if to is not None else (signature.email if signature else "casey@example.org"),
        context={"signature_id": signature.id} if signature else {"coordinator_id": 1},
        letter_id=letter.id if letter else None,
        signature_id=signature.id if signature else None,
        now=failed_at - timedelta(hours=1),
    )
    session.flush()
    message.status = status
    message.failure_kind = kind
    message.attempts = 20 if kind == "exhausted" else 1
    message.smtp_code = 550 if kind == "permanent" else None
    message.last_error = {
        "permanent": "550 5.1.1 User unknown (after RCPT TO)",
        "exhausted": "gave up after 20 attempts: ConnectionRefusedError: refused",
        "obsolete": "signature 3 is now published",
        "temporary": "451 try later (after RCPT TO)",
    }[kind]
    message.last_attempt_at = failed_at
    # A row still being retried waits for its next attempt, so a pass leaves it alone.
    message.next_attempt_at = failed_at + timedelta(days=1) if status == "pending" else failed_at
    session.commit()
    return message.id
