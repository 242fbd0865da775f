"""Coordinator notifications: an email per signature awaiting review, or a daily digest."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete
from sqlalchemy.orm import Session

from signatory import create_app
from signatory.core.config import ConfigError
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.mail.commands import mail_cli
from signatory.mail.registry import Undeliverable
from signatory.mail.worker import render_message, run_worker
from signatory.models import Coordinator, Letter, Membership, OutboxMessage, Signature, transition
from signatory.notifications.service import (
    NOT_DUE,
    NOTHING_NEW,
    SENT,
    DigestSchedule,
    claim_digest,
    digest_for,
    digest_slot,
    run_digests,
)
from signatory.signatures import service, signing
from tests.conftest import html_part, text_part
from tests.factories import (
    make_coordinator,
    make_letter,
    make_member,
    make_signature,
    outbox_messages,
)

# A Tuesday morning, after the default digest hour (07:00 UTC).
NOW = datetime(2025, 6, 10, 8, 30, tzinfo=UTC)
HOUR = 7


def signed_and_confirmed(session: Session, letter: Letter, n: int) -> Signature:
    data = service.SignatureData(
        kind="organization",
        organization=f"Free Speech Collective {n}",
        organization_type="ngo",
        website=f"https://fsc{n}.example.org",
        country="GB",
        name="Jim Signer",
        title="Director",
        email=f"jim{n}@gmail.com",
        email_domain="gmail.com",
    )
    signature = signing.sign(session, letter, data, now=utcnow()).signature
    return service.confirm(
        session, TokenPayload(signature.id, signature.confirm_nonce), now=utcnow()
    )


def pending(session: Session, letter: Letter, *, at: datetime) -> Signature:
    signature = make_signature(session, letter, status="pending_review")
    signature.confirmed_at = signature.status_changed_at = at
    session.flush()
    return signature


def published(session: Session, letter: Letter, *, at: datetime) -> Signature:
    return make_signature(session, letter, published_at=at)


def rendered(session: Session, message: OutboxMessage) -> EmailMessage:
    return render_message(session, message, now=NOW)


# --- One email per signature awaiting review ---------------------------------------------


def test_members_who_chose_each_get_one_email_per_signature_entering_review(
    session: Session,
) -> None:
    letter = make_letter(session, moderation="all")
    owner = make_member(session, letter, notify="each")
    moderator = make_member(session, letter, notify="each", role="moderator")
    make_member(session, letter, notify="digest", role="editor")
    make_member(session, letter, notify="none", role="moderator")
    make_member(session, make_letter(session), notify="each")  # of another letter

    first = signed_and_confirmed(session, letter, 1)
    second = signed_and_confirmed(session, letter, 2)

    sent = [(m.to_addr, m.signature_id) for m in outbox_messages(session, "review_needed")]
    assert sorted(sent) == sorted(
        (who.email, signature.id) for who in (owner, moderator) for signature in (first, second)
    )


def test_a_confirmation_rolled_back_leaves_no_review_email(session: Session) -> None:
    letter = make_letter(session, moderation="all")
    make_member(session, letter, notify="each")
    session.commit()

    signed_and_confirmed(session, letter, 1)
    session.rollback()

    assert outbox_messages(session, "review_needed") == []


def test_no_review_email_when_a_signature_is_published_at_once(session: Session) -> None:
    letter = make_letter(session, moderation="none")
    make_member(session, letter, notify="each")

    signed_and_confirmed(session, letter, 1)

    assert outbox_messages(session, "review_needed") == []


def test_an_inactive_coordinator_gets_no_review_email(session: Session) -> None:
    letter = make_letter(session, moderation="all")
    make_member(session, letter, notify="each", active=False)

    signed_and_confirmed(session, letter, 1)

    assert outbox_messages(session, "review_needed") == []


def test_the_review_email_names_the_signature_and_links_to_the_queue(session: Session) -> None:
    letter = make_letter(session, slug="civic", moderation="all", title="Keep it open")
    make_member(session, letter, notify="each", name="Casey Moderator")
    signed_and_confirmed(session, letter, 7)

    email = rendered(session, outbox_messages(session, "review_needed")[0])

    assert email["Subject"] == "Review needed on “Keep it open”: Free Speech Collective 7"
    text = text_part(email)
    assert text.startswith("Hello Casey Moderator,")
    assert "Email domain: gmail.com (a free-mail provider), which does NOT match" in text
    assert "http://signatory.test/manage/letters/civic/moderation" in text
    assert "http://signatory.test/manage/account" in text
    assert 'href="http://signatory.test/manage/letters/civic/moderation"' in html_part(email)


def test_the_review_email_is_dropped_once_the_signature_was_decided(session: Session) -> None:
    letter = make_letter(session, moderation="all")
    make_member(session, letter, notify="each")
    signature = signed_and_confirmed(session, letter, 1)
    transition(signature, "approve", now=utcnow())

    with pytest.raises(Undeliverable, match="nothing left to review"):
        rendered(session, outbox_messages(session, "review_needed")[0])


def test_the_review_email_is_dropped_for_someone_removed_from_the_team(session: Session) -> None:
    letter = make_letter(session, moderation="all")
    coordinator = make_member(session, letter, notify="each")
    signed_and_confirmed(session, letter, 1)
    session.execute(delete(Membership).where(Membership.coordinator_id == coordinator.id))

    with pytest.raises(Undeliverable, match="no longer on this letter's team"):
        rendered(session, outbox_messages(session, "review_needed")[0])


# --- The daily digest --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (datetime(2025, 6, 10, 8, 30, tzinfo=UTC), datetime(2025, 6, 10, 7, tzinfo=UTC)),
        (datetime(2025, 6, 10, 7, 0, tzinfo=UTC), datetime(2025, 6, 10, 7, tzinfo=UTC)),
        (datetime(2025, 6, 10, 6, 59, tzinfo=UTC), datetime(2025, 6, 9, 7, tzinfo=UTC)),
    ],
)
def test_the_digest_slot_is_the_latest_digest_hour_passed(now: datetime, slot: datetime) -> None:
    assert digest_slot(now, HOUR) == slot


@pytest.fixture
def digest_reader(session: Session) -> Coordinator:
    """A coordinator on the digest whose last digest went out yesterday morning."""
    return make_coordinator(
        session, notify="digest", name="Dana Digest", last_digest_at=NOW - timedelta(days=1)
    )


def test_the_digest_counts_what_is_new_and_what_waits_per_letter(
    session: Session, digest_reader: Coordinator
) -> None:
    busy = make_letter(session, slug="busy", title="Busy letter", moderation="all")
    quiet = make_letter(session, slug="quiet", title="Quiet letter")
    for letter in (busy, quiet):
        make_member(session, letter, role="moderator", coordinator=digest_reader)
    since = digest_reader.last_digest_at
    published(session, busy, at=since + timedelta(hours=2))
    published(session, busy, at=since + timedelta(hours=5))
    published(session, busy, at=since - timedelta(hours=1))  # in yesterday's digest
    pending(session, busy, at=since + timedelta(hours=1))
    pending(session, busy, at=since + timedelta(hours=3))
    pending(session, busy, at=since - timedelta(days=2))  # still waiting, not new
    published(session, quiet, at=since - timedelta(days=3))

    run = run_digests(session, now=NOW, hour=HOUR)

    assert run.sent == [(digest_reader.email, 1)]
    [message] = outbox_messages(session, "digest")
    email = rendered(session, message)
    text = text_part(email)
    assert "Newly published: 2" in text
    assert "New awaiting review: 2" in text
    assert "Awaiting review now: 3" in text
    assert "http://signatory.test/manage/letters/busy/moderation" in text
    assert "Quiet letter" not in text
    assert email["Subject"] == "Your daily digest: 2 newly published, 3 awaiting review"
    assert email["To"] == digest_reader.email


def test_the_digest_is_sent_once_however_often_it_runs(
    session: Session, digest_reader: Coordinator
) -> None:
    letter = make_letter(session)
    make_member(session, letter, coordinator=digest_reader)
    published(session, letter, at=NOW - timedelta(hours=1))

    first = run_digests(session, now=NOW, hour=HOUR)
    second = run_digests(session, now=NOW + timedelta(hours=3), hour=HOUR)

    assert len(first.sent) == 1
    assert second.checked == 0
    assert len(outbox_messages(session, "digest")) == 1
    assert session.get(Coordinator, digest_reader.id).last_digest_at == NOW


def test_of_two_workers_claiming_the_same_digest_only_one_succeeds(
    session: Session, digest_reader: Coordinator
) -> None:
    seen = digest_reader.last_digest_at

    assert claim_digest(session, digest_reader.id, seen=seen, now=NOW) is True
    assert claim_digest(session, digest_reader.id, seen=seen, now=NOW) is False


def test_a_worker_that_read_before_another_claimed_sends_nothing(
    session: Session, digest_reader: Coordinator
) -> None:
    letter = make_letter(session)
    make_member(session, letter, coordinator=digest_reader)
    published(session, letter, at=NOW - timedelta(hours=1))
    # Another worker claims the digest after this one read the coordinator's row.
    claim_digest(session, digest_reader.id, seen=digest_reader.last_digest_at, now=NOW)

    outcome = digest_for(session, digest_reader, now=NOW, hour=HOUR)

    assert outcome.result == "taken"
    assert outbox_messages(session, "digest") == []


def test_no_digest_when_nothing_is_new(session: Session, digest_reader: Coordinator) -> None:
    letter = make_letter(session, moderation="all")
    make_member(session, letter, coordinator=digest_reader)
    pending(session, letter, at=NOW - timedelta(days=3))  # waiting, but told already

    run = run_digests(session, now=NOW, hour=HOUR)

    assert run.nothing_new == [digest_reader.email]
    assert outbox_messages(session, "digest") == []


def test_a_nothing_new_check_still_claims_the_slot(
    session: Session, digest_reader: Coordinator
) -> None:
    outcome = digest_for(session, digest_reader, now=NOW, hour=HOUR)

    assert outcome.result == NOTHING_NEW
    session.expire_all()
    assert session.get(Coordinator, digest_reader.id).last_digest_at == NOW


def test_no_digest_before_the_hour_when_yesterdays_went_out(session: Session) -> None:
    reader = make_coordinator(
        session, notify="digest", last_digest_at=datetime(2025, 6, 9, 7, 5, tzinfo=UTC)
    )
    letter = make_letter(session)
    make_member(session, letter, coordinator=reader)
    published(session, letter, at=datetime(2025, 6, 10, 1, 0, tzinfo=UTC))

    early = digest_for(session, reader, now=datetime(2025, 6, 10, 6, 30, tzinfo=UTC), hour=HOUR)
    on_time = digest_for(session, reader, now=datetime(2025, 6, 10, 7, 1, tzinfo=UTC), hour=HOUR)

    assert (early.result, on_time.result) == (NOT_DUE, SENT)


@pytest.mark.parametrize("notify", ["each", "none"])
def test_coordinators_not_on_the_digest_get_none(session: Session, notify: str) -> None:
    letter = make_letter(session)
    make_member(session, letter, notify=notify)
    published(session, letter, at=NOW - timedelta(hours=1))

    run = run_digests(session, now=NOW, hour=HOUR, force=True)

    assert run.checked == 0
    assert outbox_messages(session, "digest") == []


def test_a_first_digest_looks_back_one_day(session: Session) -> None:
    newcomer = make_coordinator(session, notify="digest")
    letter = make_letter(session)
    make_member(session, letter, coordinator=newcomer)
    published(session, letter, at=NOW - timedelta(days=2))
    published(session, letter, at=NOW - timedelta(hours=3))

    run_digests(session, now=NOW, hour=HOUR)

    assert "Newly published: 1" in text_part(
        rendered(session, outbox_messages(session, "digest")[0])
    )


def test_a_digest_waiting_in_the_outbox_is_dropped_if_its_reader_opted_out(
    session: Session, digest_reader: Coordinator
) -> None:
    letter = make_letter(session)
    make_member(session, letter, coordinator=digest_reader)
    published(session, letter, at=NOW - timedelta(hours=1))
    run_digests(session, now=NOW, hour=HOUR)
    digest_reader.notify = "none"

    with pytest.raises(Undeliverable):
        rendered(session, outbox_messages(session, "digest")[0])


def test_the_schedule_runs_the_digests_once_per_daily_slot(
    session: Session, digest_reader: Coordinator
) -> None:
    letter = make_letter(session)
    make_member(session, letter, coordinator=digest_reader)
    published(session, letter, at=NOW - timedelta(hours=1))
    schedule = DigestSchedule(hour=HOUR)

    first = schedule.run_if_due(session, now=NOW)
    again = schedule.run_if_due(session, now=NOW + timedelta(minutes=5))
    published(session, letter, at=NOW + timedelta(hours=2))
    tomorrow = schedule.run_if_due(session, now=NOW + timedelta(days=1))

    assert first is not None and len(first.sent) == 1
    assert again is None
    assert tomorrow is not None and len(tomorrow.sent) == 1
    assert len(outbox_messages(session, "digest")) == 2


class Recording:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)

    def describe(self) -> str:
        return "memory"


def test_the_mail_worker_sends_the_digest_when_it_is_due(
    session: Session, digest_reader: Coordinator
) -> None:
    letter = make_letter(session)
    make_member(session, letter, coordinator=digest_reader)
    published(session, letter, at=NOW - timedelta(hours=1))
    session.commit()
    backend = Recording()
    stop = threading.Event()

    run_worker(
        session,
        backend,
        interval=0.01,
        stop=stop,
        clock=lambda: NOW,
        on_pass=lambda counts: stop.set(),
    )

    assert [m["To"] for m in backend.sent] == [digest_reader.email]
    assert backend.sent[0]["Subject"].startswith("Your daily digest")


# --- flask mail digest -------------------------------------------------------------------


def test_the_digest_command_runs_them_now_and_says_what_it_did(
    runner: Any, session: Session
) -> None:
    reader = make_coordinator(
        session,
        email="dana@coalition.example.org",
        notify="digest",
        last_digest_at=utcnow() - timedelta(hours=1),
    )
    letter = make_letter(session)
    make_member(session, letter, coordinator=reader)
    published(session, letter, at=utcnow() - timedelta(minutes=5))
    session.commit()

    result = runner.invoke(mail_cli, ["digest", "--now"])

    assert result.exit_code == 0, result.output
    assert "Digest queued for dana@coalition.example.org (1 letter)." in result.output
    assert "Digests: 1 queued, 0 with nothing new" in result.output
    assert len(outbox_messages(session, "digest")) == 1


def test_the_digest_command_run_again_finds_nothing_new(runner: Any, session: Session) -> None:
    reader = make_coordinator(session, email="dana@coalition.example.org", notify="digest")
    letter = make_letter(session)
    make_member(session, letter, coordinator=reader)
    published(session, letter, at=utcnow() - timedelta(minutes=5))
    session.commit()
    runner.invoke(mail_cli, ["digest", "--now"])

    result = runner.invoke(mail_cli, ["digest", "--now"])

    assert result.exit_code == 0, result.output
    assert "Nothing new for dana@coalition.example.org; no digest." in result.output
    assert len(outbox_messages(session, "digest")) == 1


def test_the_digest_command_waits_for_the_hour_without_now(runner: Any, session: Session) -> None:
    make_coordinator(session, notify="digest", last_digest_at=utcnow())
    session.commit()

    result = runner.invoke(mail_cli, ["digest"])

    assert result.exit_code == 0, result.output
    assert "No digest is due (they are due daily after 07:00 UTC)." in result.output


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("hour", [24, -1, "seven", True])
def test_an_impossible_digest_hour_is_refused(tmp_path: Path, hour: object) -> None:
    with pytest.raises(ConfigError, match="SIGNATORY_DIGEST_HOUR_UTC"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DIGEST_HOUR_UTC": hour})


def test_the_digest_hour_defaults_to_seven(app: Flask) -> None:
    assert app.config["DIGEST_HOUR_UTC"] == 7


# --- In the coordinator's language ------------------------------------------------------


def test_the_review_email_speaks_the_coordinators_chosen_language(session: Session) -> None:
    letter = make_letter(session, slug="civic", moderation="all", title="Keep it open")
    make_member(session, letter, notify="each", name="Camille Modératrice", language="fr")
    signed_and_confirmed(session, letter, 7)

    email = rendered(session, outbox_messages(session, "review_needed")[0])

    assert email["Subject"] == (
        "Vérification requise sur « Keep it open » : Free Speech Collective 7"
    )
    text = text_part(email)
    assert text.startswith("Bonjour Camille Modératrice,")
    assert "gmail.com" in text and "Keep it open" in text
    assert '<html lang="fr" dir="ltr">' in html_part(email)


def test_the_digest_speaks_the_coordinators_chosen_language(session: Session) -> None:
    reader = make_coordinator(
        session, notify="digest", language="es", last_digest_at=NOW - timedelta(days=1)
    )
    letter = make_letter(session, slug="busy", title="Busy letter", moderation="all")
    make_member(session, letter, role="moderator", coordinator=reader)
    published(session, letter, at=NOW - timedelta(hours=5))
    pending(session, letter, at=NOW - timedelta(hours=4))

    run_digests(session, now=NOW, hour=HOUR)
    email = rendered(session, outbox_messages(session, "digest")[0])

    assert email["Subject"] == "Su resumen diario: 1 recién publicada, 1 pendiente de revisión"
    text = text_part(email)
    assert "Publicadas recientemente: 1" in text
    assert "(abierta)" in text
