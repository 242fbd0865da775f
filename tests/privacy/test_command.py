"""``flask privacy purge``: what it prints, and that ``--dry-run`` changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import AuditEvent, OutboxMessage, Signature, SignInAttempt
from tests.factories import make_letter, make_signature

DAY = timedelta(days=1)


def _seed(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        for status in ("withdrawn", "rejected"):
            signature = make_signature(db.session, letter, status=status)
            signature.status_changed_at = now - 31 * DAY
        stale = make_signature(db.session, letter, status="unconfirmed")
        stale.created_at = now - 15 * DAY
        old = make_signature(db.session, letter, client_prefix="203.0.113.0/24")
        old.created_at = now - 31 * DAY
        db.session.add(
            SignInAttempt(email_key="a@example.org", address="192.0.2.1", created_at=now - 31 * DAY)
        )
        db.session.add(
            OutboxMessage(
                template="confirm_request",
                to_addr="a@example.org",
                context={"signature_id": 1},
                status="sent",
                created_at=now - 31 * DAY,
                sent_at=now - 31 * DAY,
            )
        )
        db.session.commit()


def _snapshot(app: Flask) -> list[Any]:
    with app.app_context():
        rows: list[Any] = []
        for model in (Signature, OutboxMessage, SignInAttempt, AuditEvent):
            table = model.__table__
            rows.append(list(db.session.execute(select(table).order_by(table.c.id))))
        return rows


def test_the_command_purges_every_kind_and_prints_what_it_did(app: Flask, runner: Any) -> None:
    _seed(app)

    result = runner.invoke(args=["privacy", "purge"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Unconfirmed signatures deleted (older than 14 days): 1",
        "Withdrawn and rejected signatures erased (30 days after leaving the list): 2",
        "Sent and failed emails cleared of recipient and content (older than 30 days): 1",
        "Coordinator sign-in attempts deleted (older than 30 days): 1",
        "Client-address prefixes cleared (signatures older than 30 days): 1",
        "Signatures of delivered letters erased (90 days after delivery): 0",
    ]
    with app.app_context():
        assert db.session.scalar(select(SignInAttempt)) is None
        assert db.session.scalars(select(OutboxMessage.to_addr)).all() == [""]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "privacy.purged")
        ).all()
        assert sorted((e.detail["kind"], e.detail["count"], e.actor_label) for e in events) == [
            ("client_prefixes", 1, "cli"),
            ("outbox", 1, "cli"),
            ("sign_in_attempts", 1, "cli"),
            ("withdrawn_rejected", 2, "cli"),
        ]


def test_a_dry_run_prints_the_same_counts_and_changes_nothing(app: Flask, runner: Any) -> None:
    _seed(app)
    before = _snapshot(app)

    result = runner.invoke(args=["privacy", "purge", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Unconfirmed signatures to delete (older than 14 days): 1",
        "Withdrawn and rejected signatures to erase (30 days after leaving the list): 2",
        "Sent and failed emails to clear of recipient and content (older than 30 days): 1",
        "Coordinator sign-in attempts to delete (older than 30 days): 1",
        "Client-address prefixes to clear (signatures older than 30 days): 1",
        "Signatures of delivered letters to erase (90 days after delivery): 0",
        "Dry run: nothing was changed.",
    ]
    assert _snapshot(app) == before


def test_the_periods_come_from_the_configuration(app: Flask, runner: Any) -> None:
    _seed(app)
    app.config["WITHDRAWN_RETENTION_DAYS"] = 45

    result = runner.invoke(args=["privacy", "purge", "--dry-run"])

    assert (
        "Withdrawn and rejected signatures to erase (45 days after leaving the list): 0"
        in result.output.splitlines()
    )
