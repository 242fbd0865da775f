"""Retention: each purge changes exactly the rows past their period, and says how many."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.mail.worker import run_worker
from signatory.models import Delivery, Letter, OutboxMessage, Signature, SignInAttempt
from signatory.privacy import retention
from signatory.privacy.retention import Periods, PrivacySchedule, purge_all
from tests.factories import audit_events, make_letter, make_member, make_signature

DAY = timedelta(days=1)


@pytest.fixture
def now() -> datetime:
    return utcnow().replace(microsecond=0)


@pytest.fixture
def letter(session: Session) -> Letter:
    return make_letter(session, slug="civic")


def _aged(signature: Signature, status: str, age: timedelta, now: datetime) -> Signature:
    signature.status_changed_at = now - age
    signature.created_at = now - age - DAY
    return signature


def _private_fields(signature: Signature) -> dict[str, object]:
    return {
        "name": signature.name,
        "title": signature.title,
        "organization": signature.organization,
        "email": signature.email,
        "language": signature.language,
        "client_prefix": signature.client_prefix,
        "moderation_reason": signature.moderation_reason,
    }


def _purged_events(session: Session) -> list[dict[str, object]]:
    return [event.detail for event in audit_events(session, "privacy.purged")]


# --- Withdrawn and rejected signatures ------------------------------------------------------


def test_withdrawn_and_rejected_signatures_past_retention_lose_their_personal_data(
    session: Session, letter: Letter, now: datetime
) -> None:
    extra = {"language": "fr", "client_prefix": "203.0.113.0/24"}
    withdrawn = make_signature(
        session, letter, status="withdrawn", organization="Old Org", name="Ada Old", **extra
    )
    rejected = make_signature(
        session,
        letter,
        kind="individual",
        status="rejected",
        name="Ben Refused",
        organization="Uni B",
        moderation_reason="Not a real person",
        **extra,
    )
    recent = make_signature(session, letter, status="withdrawn", name="Cleo Recent", **extra)
    published = make_signature(session, letter, status="published", name="Dan Listed", **extra)
    _aged(withdrawn, "withdrawn", 31 * DAY, now)
    _aged(rejected, "rejected", 31 * DAY, now)
    _aged(recent, "withdrawn", 29 * DAY, now)
    _aged(published, "published", 400 * DAY, now)
    session.flush()
    recent_before, published_before = _private_fields(recent), _private_fields(published)

    count = retention.erase_ended(session, now=now, days=30)

    assert count == 2
    assert _private_fields(withdrawn) == {
        "name": "[erased]",
        "title": None,
        # An organization's own name is not personal data, and stays.
        "organization": "Old Org",
        "email": f"erased-{withdrawn.id}@erased.invalid",
        "language": None,
        "client_prefix": None,
        "moderation_reason": None,
    }
    assert _private_fields(rejected) == {
        "name": "[erased]",
        "title": None,
        # An individual's affiliation says who they are.
        "organization": None,
        "email": f"erased-{rejected.id}@erased.invalid",
        "language": None,
        "client_prefix": None,
        "moderation_reason": None,
    }
    assert withdrawn.email_key == f"erased-{withdrawn.id}@erased.invalid"
    assert (withdrawn.erased_at, rejected.erased_at, recent.erased_at) == (now, now, None)
    assert "ada" not in withdrawn.search_key and "ben" not in rejected.search_key
    assert _private_fields(recent) == recent_before
    assert _private_fields(published) == published_before
    assert _purged_events(session) == [
        {"kind": "withdrawn_rejected", "count": 2, "older_than_days": 30}
    ]


def test_erasing_retires_every_link_of_the_signature(
    session: Session, letter: Letter, now: datetime
) -> None:
    signature = _aged(
        make_signature(session, letter, status="withdrawn"), "withdrawn", 60 * DAY, now
    )
    session.flush()
    nonces = (signature.confirm_nonce, signature.withdraw_nonce, signature.manage_nonce)

    retention.erase_ended(session, now=now, days=30)

    after = (signature.confirm_nonce, signature.withdraw_nonce, signature.manage_nonce)
    assert all(old != new for old, new in zip(nonces, after, strict=True))


def test_an_erased_signature_is_not_erased_or_counted_again(
    session: Session, letter: Letter, now: datetime
) -> None:
    _aged(make_signature(session, letter, status="withdrawn"), "withdrawn", 60 * DAY, now)
    session.flush()

    first = retention.erase_ended(session, now=now, days=30)
    second = retention.erase_ended(session, now=now + DAY, days=30)

    assert (first, second) == (1, 0)
    assert len(_purged_events(session)) == 1


# --- The outbox -------------------------------------------------------------------------


def _message(
    session: Session, status: str, *, age: timedelta, now: datetime, error: str | None = None
) -> OutboxMessage:
    message = OutboxMessage(
        template="confirm_request",
        to_addr="ada@example.org",
        context={"signature_id": 1},
        subject="Confirm your signature",
        status=status,
        created_at=now - age,
        next_attempt_at=now - age,
        sent_at=now - age if status == "sent" else None,
        last_error=error,
    )
    session.add(message)
    session.flush()
    return message


def test_sent_and_failed_emails_past_retention_lose_recipient_and_context(
    session: Session, now: datetime
) -> None:
    sent_old = _message(session, "sent", age=31 * DAY, now=now)
    failed_old = _message(
        session,
        "failed",
        age=31 * DAY,
        now=now,
        error="550 5.1.1 <ada@example.org>: Recipient address rejected",
    )
    sent_recent = _message(session, "sent", age=29 * DAY, now=now)
    pending_old = _message(session, "pending", age=31 * DAY, now=now)

    count = retention.clear_outbox(session, now=now, days=30)
    session.expire_all()

    assert count == 2
    assert [(m.to_addr, m.context) for m in (sent_old, failed_old)] == [("", {}), ("", {})]
    assert failed_old.last_error == "550 5.1.1 <[erased]>: Recipient address rejected"
    # What coordinators account for stays.
    assert (sent_old.subject, sent_old.status, failed_old.status) == (
        "Confirm your signature",
        "sent",
        "failed",
    )
    assert sent_recent.to_addr == "ada@example.org"
    assert pending_old.to_addr == "ada@example.org"
    assert pending_old.context == {"signature_id": 1}
    assert _purged_events(session) == [{"kind": "outbox", "count": 2, "older_than_days": 30}]


# --- Sign-in attempts and client prefixes -----------------------------------------------


def test_sign_in_attempts_past_retention_are_deleted(session: Session, now: datetime) -> None:
    for age in (31, 40, 29):
        session.add(
            SignInAttempt(
                email_key="casey@example.org", address="203.0.113.9", created_at=now - age * DAY
            )
        )
    session.flush()

    count = retention.delete_sign_in_attempts(session, now=now, days=30)

    left = [now - attempt.created_at for attempt in session.scalars(select(SignInAttempt))]
    assert count == 2
    assert left == [29 * DAY]
    assert _purged_events(session) == [
        {"kind": "sign_in_attempts", "count": 2, "older_than_days": 30}
    ]


def test_client_prefixes_past_retention_are_cleared(
    session: Session, letter: Letter, now: datetime
) -> None:
    old = make_signature(session, letter, client_prefix="203.0.113.0/24")
    new = make_signature(session, letter, client_prefix="198.51.100.0/24")
    none = make_signature(session, letter)
    old.created_at = now - 31 * DAY
    none.created_at = now - 31 * DAY
    session.flush()

    count = retention.clear_client_prefixes(session, now=now, days=30)
    session.expire_all()

    assert count == 1
    assert (old.client_prefix, new.client_prefix, none.client_prefix) == (
        None,
        "198.51.100.0/24",
        None,
    )


# --- Delivered letters ------------------------------------------------------------------


def deliver(session: Session, letter: Letter, *, at: datetime) -> None:
    from signatory.delivery import service as delivery_service

    owner = make_member(session, letter, role="owner")
    delivery_service.deliver(
        session,
        letter,
        delivery_service.DeliveryData(
            delivered_to="Chair of the Committee", delivered_at=at, method="in person"
        ),
        actor=owner,
        now=at,
    )
    session.flush()


def test_signatures_of_a_letter_delivered_past_retention_keep_only_what_is_public(
    session: Session, letter: Letter, now: datetime
) -> None:
    extra = {"language": "es", "client_prefix": "203.0.113.0/24"}
    published = make_signature(
        session, letter, organization="Listed Org", name="Ada Listed", title="Chair", **extra
    )
    pending = make_signature(session, letter, status="pending_review", **extra)
    withdrawn = make_signature(session, letter, status="withdrawn", name="Wen Gone", **extra)
    unconfirmed = make_signature(session, letter, status="unconfirmed")
    other = make_signature(session, make_letter(session), name="Other Letter", **extra)
    deliver(session, letter, at=now - 91 * DAY)
    unconfirmed_id = unconfirmed.id
    listed = {
        field: getattr(published, field)
        for field in ("organization", "name", "title", "country", "website", "published_at")
    }

    erased = retention.erase_delivered(session, now=now, days=90)

    assert erased == {"civic": 4}
    assert {field: getattr(published, field) for field in listed} == listed
    assert (published.email, published.language, published.client_prefix) == (
        f"erased-{published.id}@erased.invalid",
        None,
        None,
    )
    assert published.status == "published" and published.erased_at == now
    assert pending.email == f"erased-{pending.id}@erased.invalid"
    assert (withdrawn.name, withdrawn.email) == (
        "[erased]",
        f"erased-{withdrawn.id}@erased.invalid",
    )
    assert session.get(Signature, unconfirmed_id) is None
    assert other.email.endswith("example.org") and other.language == "es"
    assert [(e.letter_id, e.detail) for e in audit_events(session, "privacy.purged")] == [
        (letter.id, {"kind": "delivered", "count": 4, "older_than_days": 90})
    ]


def test_a_big_delivered_letter_is_erased_a_batch_at_a_time_and_counted_once(
    session: Session, letter: Letter, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "ERASE_BATCH", 2)
    ids = [make_signature(session, letter).id for _ in range(5)]
    deliver(session, letter, at=now - 91 * DAY)

    assert retention.erase_delivered(session, now=now, days=90) == {"civic": 5}

    emails = session.scalars(select(Signature.email).where(Signature.id.in_(ids))).all()
    assert sorted(emails) == sorted(f"erased-{i}@erased.invalid" for i in ids)
    assert [e.detail["count"] for e in audit_events(session, "privacy.purged")] == [5]
    assert retention.erase_delivered(session, now=now, days=90) == {}


def test_a_delivery_recorded_recently_is_counted_from_when_it_was_recorded(
    session: Session, letter: Letter, now: datetime
) -> None:
    signature = make_signature(session, letter)
    deliver(session, letter, at=now - 10 * DAY)
    # Recorded ten days ago, for a hand-over a year earlier: not due for another 80 days.
    session.execute(update(Delivery).values(delivered_at=now - 365 * DAY))

    assert retention.erase_delivered(session, now=now, days=90) == {}
    assert retention.erase_delivered(session, now=now + 81 * DAY, days=90) == {"civic": 1}
    assert signature.erased_at == now + 81 * DAY


# --- All at once, and the worker's chore ---------------------------------------------------


def test_purge_all_reports_each_kind_and_a_second_run_finds_nothing(
    app: Flask, session: Session, letter: Letter, now: datetime
) -> None:
    _aged(make_signature(session, letter, status="withdrawn"), "withdrawn", 31 * DAY, now)
    stale = make_signature(session, letter, status="unconfirmed")
    stale.created_at = now - 15 * DAY
    _message(session, "sent", age=31 * DAY, now=now)
    session.flush()
    periods = Periods.from_config(app.config)

    first = purge_all(session, periods, now=now)
    second = purge_all(session, periods, now=now)

    assert first.counts == {
        "unconfirmed": 1,
        "withdrawn_rejected": 1,
        "outbox": 1,
        "sign_in_attempts": 0,
        "client_prefixes": 0,
        "delivered": 0,
    }
    assert second.total == 0


class _NoMail:
    def send(self, message: object) -> None:  # pragma: no cover - nothing is queued
        raise AssertionError("nothing should be sent")

    def describe(self) -> str:
        return "nowhere"


def test_the_mail_worker_runs_the_purges_as_a_chore(
    app: Flask, session: Session, letter: Letter, now: datetime
) -> None:
    signature = _aged(
        make_signature(session, letter, status="withdrawn"), "withdrawn", 31 * DAY, now
    )
    session.commit()
    signature_id = signature.id
    stop = threading.Event()

    def clock() -> datetime:
        # One pass is enough: the chores run before it.
        stop.set()
        return now

    run_worker(session, _NoMail(), interval=0, stop=stop, clock=clock)

    session.expire_all()
    assert session.get(Signature, signature_id).erased_at == now  # type: ignore[union-attr]
    assert [e.detail["kind"] for e in audit_events(session, "privacy.purged")] == [
        "withdrawn_rejected"
    ]


def test_the_chore_runs_again_only_after_an_hour(
    app: Flask, session: Session, letter: Letter, now: datetime
) -> None:
    schedule = PrivacySchedule.from_config(app.config)
    first = schedule.run_if_due(session, now=now)
    _aged(make_signature(session, letter, status="withdrawn"), "withdrawn", 31 * DAY, now)
    session.commit()

    within = schedule.run_if_due(session, now=now + timedelta(minutes=59))
    after = schedule.run_if_due(session, now=now + timedelta(minutes=61))

    assert first is not None and first.total == 0
    assert within is None
    assert after is not None and after.counts["withdrawn_rejected"] == 1
