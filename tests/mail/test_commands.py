"""``flask mail send`` and ``flask mail worker``."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.mail.commands import mail_cli
from signatory.mail.outbox import enqueue
from signatory.models import OutboxMessage
from tests.conftest import SMTPServer, free_port
from tests.factories import make_letter, make_signature


@pytest.fixture
def app_config(smtp_server: SMTPServer) -> dict[str, Any]:
    return {"MAIL_URL": smtp_server.url}


def queue_confirmation(session: Session) -> int:
    """A due confirmation request, committed; returns the outbox row's id."""
    letter = make_letter(session)
    signature = make_signature(session, letter, status="unconfirmed")
    message = enqueue(
        session,
        template="confirm_request",
        to=signature.email,
        context={"signature_id": signature.id},
        now=utcnow(),
    )
    session.flush()
    message_id = message.id
    # Commit so the command's own transactions do not wait on this one's SQLite lock.
    session.commit()
    return message_id


def test_send_command_delivers_due_mail_and_reports_it(
    runner: Any, session: Session, smtp_server: SMTPServer
) -> None:
    message_id = queue_confirmation(session)

    result = runner.invoke(mail_cli, ["send"])

    assert result.exit_code == 0, result.output
    assert "1 sent, 0 to retry later, 0 failed" in result.output
    assert f"SMTP server 127.0.0.1:{smtp_server.port}" in result.output
    assert len(smtp_server.wait_for(1, timeout=5)) == 1
    assert session.get(OutboxMessage, message_id).status == "sent"


def test_send_command_with_nothing_due_says_so(runner: Any) -> None:
    result = runner.invoke(mail_cli, ["send"])

    assert result.exit_code == 0, result.output
    assert "0 sent, 0 to retry later, 0 failed" in result.output


def test_send_command_reports_retries_when_the_server_is_down(
    app: Flask, runner: Any, session: Session
) -> None:
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    message_id = queue_confirmation(session)

    result = runner.invoke(mail_cli, ["send"])

    assert result.exit_code == 0, result.output
    assert "0 sent, 1 to retry later, 0 failed" in result.output
    assert session.get(OutboxMessage, message_id).status == "pending"


@pytest.mark.parametrize("command", ["send", "worker"])
def test_mail_commands_refuse_an_unusable_mail_url(app: Flask, runner: Any, command: str) -> None:
    app.config["MAIL_URL"] = "smtp://mail.example.org:25?tls=1"

    result = runner.invoke(mail_cli, [command])

    assert result.exit_code != 0
    assert "unknown option" in result.output
    assert "SIGNATORY_MAIL_URL" in result.output


def test_worker_command_says_where_mail_goes_and_stops_on_sigterm(
    runner: Any, session: Session, smtp_server: SMTPServer
) -> None:
    queue_confirmation(session)
    original = signal.getsignal(signal.SIGTERM)

    def stop_the_worker() -> None:
        smtp_server.wait_for(1, timeout=5)
        # Signal only once the worker has installed its handler: before that, SIGTERM
        # would end the test run itself.
        deadline = time.monotonic() + 5
        while signal.getsignal(signal.SIGTERM) is original and time.monotonic() < deadline:
            time.sleep(0.01)
        if signal.getsignal(signal.SIGTERM) is not original:
            os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_the_worker)
    stopper.start()
    result = runner.invoke(mail_cli, ["worker", "--interval", "0.1"])
    stopper.join()

    assert result.exit_code == 0, result.output
    assert f"Mail worker sending to SMTP server 127.0.0.1:{smtp_server.port}" in result.output
    assert "1 sent, 0 to retry later, 0 failed" in result.output
    assert "Mail worker stopped" in result.output
    assert signal.getsignal(signal.SIGTERM) is original, "the worker left its handler behind"
