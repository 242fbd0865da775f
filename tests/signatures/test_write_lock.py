"""The sign POST holds the database's write lock for its writes only.

On SQLite one writer at a time holds the lock, so whatever a sign request does while it
holds it, every other signer waits for. The checks (the form, the letter, the duplicate
and lookalike look-ups, the mail caps) only read: they run in a deferred transaction that
ends before the writes (``core.database.reads_first`` / ``end_reads``), and what could
change in between is guarded by the database or read again under the lock.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from signatory.core.database import commit_sent, end_reads, reads_first
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LetterStatus, OutboxMessage, Signature
from signatory.models.outbox import EmailCaps
from signatory.signatures import service, signing
from tests import databases
from tests.conftest import csrf_token_from, fetch_csrf
from tests.factories import make_letter
from tests.security.test_malformed_requests import ORG_FORM, write_locked

BUSY = {"DATABASE_BUSY_TIMEOUT": 2.0}


@pytest.fixture
def letter(app):
    with app.app_context():
        make_letter(db.session, slug="civic")
        db.session.commit()
    return "civic"


def _recorded(app, send):
    """What SQLite runs (BEGINs and COMMITs among them) while ``send()`` runs, by connection.

    SQLite's own trace, not SQLAlchemy's events: the sign POST's reads go straight to the
    driver (``core.database.QuickStatement``), which the events do not see.
    """
    statements: list[tuple[int, str]] = []

    def trace(dbapi_connection, *_):
        def record(sql):
            entry = (id(dbapi_connection), " ".join(sql.split()))
            # A statement whose triggers run is traced again for each of them.
            if not statements or statements[-1] != entry:
                statements.append(entry)

        dbapi_connection.set_trace_callback(record)

    def untrace(dbapi_connection, *_):
        dbapi_connection.set_trace_callback(None)

    with app.app_context():
        event.listen(db.engine, "checkout", trace)
        event.listen(db.engine, "checkin", untrace)
        try:
            response = send()
        finally:
            event.remove(db.engine, "checkout", trace)
            event.remove(db.engine, "checkin", untrace)
    return response, statements


@databases.sqlite_only
def test_only_the_writes_run_under_the_write_lock(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")

    response, traced = _recorded(
        app, lambda: client.post("/letters/civic/sign", data={**ORG_FORM, "csrf_token": token})
    )

    assert response.status_code == 303
    statements = [sql for _, sql in traced]
    assert statements.count("BEGIN IMMEDIATE") == 1
    locked = statements.index("BEGIN IMMEDIATE")
    # The checks read before it, each statement on its own (no transaction, no lock).
    reads = statements[:locked]
    assert [sql.split()[0] for sql in reads] == ["SELECT", "SELECT"]
    # The signature's insert reads whether the letter is still open, with the write.
    writes = statements[locked + 1 :]
    assert "FROM letter WHERE" in writes[0] and "ON CONFLICT DO NOTHING" in writes[0]
    assert [sql.split(" (")[0] for sql in writes] == [
        "INSERT INTO signature",
        "INSERT INTO audit_event",
        "INSERT INTO outbox_message",
        "COMMIT",
    ]
    # The letter's versions are not read with their texts: only the current one's id.
    assert not any("body_markdown" in sql for sql in statements)


@databases.sqlite_only
@pytest.mark.parametrize("app_config", [BUSY])
def test_a_refused_signature_does_not_wait_for_another_writer(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    form = {**ORG_FORM, "csrf_token": token, "name": ""}

    with write_locked(app):
        started = time.monotonic()
        response = client.post("/letters/civic/sign", data=form)
        waited = time.monotonic() - started

    # Told what to fix at once, not after the busy timeout with a 503.
    assert response.status_code == 400
    assert waited < BUSY["DATABASE_BUSY_TIMEOUT"] / 2
    assert "Enter your name" in response.get_data(as_text=True)


@databases.sqlite_only
@pytest.mark.parametrize("app_config", [BUSY])
def test_a_signature_waits_for_another_writer_then_lands(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    form = {**ORG_FORM, "csrf_token": token}
    # The lock is held for a moment only: the sign POST waits for it (busy timeout 2 s).
    other = sqlite3.connect(databases.sqlite_path(app.config["DATABASE_URL"]), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    released = []

    def release_soon(conn, cursor, statement, *rest):
        if statement == "BEGIN IMMEDIATE" and not released:
            other.execute("ROLLBACK")
            released.append(True)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", release_soon)
    try:
        response = client.post("/letters/civic/sign", data=form)
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", release_soon)
        other.close()

    assert released, "the sign POST never asked for the write lock"
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Signature.email)) == ORG_FORM["email"]
        assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


def _data(**changes):
    fields = {
        "kind": "organization",
        "name": "Lizzie Signer",
        "email": "lizzie@digitalrights.example.org",
        "email_domain": "digitalrights.example.org",
        "country": "AU",
        "organization": "Digital Rights Example",
        "organization_type": "ngo",
        "website": "https://digitalrights.example.org",
    }
    return service.SignatureData(**(fields | changes))


def test_a_letter_closed_between_the_checks_and_the_writes_takes_nothing(app, letter):
    now = utcnow()
    with app.app_context():
        found = signing.signing_letter(db.session, letter)
        check = signing.check_signing(db.session, found, _data(), now=now, caps=EmailCaps())
        db.session.commit()
        # A coordinator closes the letter meanwhile, in a transaction of their own.
        with db.engine.begin() as other:
            other.execute(
                Letter.__table__.update()
                .where(Letter.__table__.c.slug == letter)
                .values(status=LetterStatus.CLOSED)
            )
        with pytest.raises(service.LetterNotOpen):
            signing.record_signature(db.session, found, _data(), check, now=now, caps=EmailCaps())
        db.session.rollback()
        assert db.session.scalars(select(Signature)).all() == []


def test_a_deadline_passed_between_the_checks_and_the_writes_takes_nothing(app, letter):
    now = utcnow()
    with app.app_context():
        found = signing.signing_letter(db.session, letter)
        check = signing.check_signing(db.session, found, _data(), now=now, caps=EmailCaps())
        row = db.session.scalar(select(Letter).where(Letter.slug == letter))
        row.deadline = now - timedelta(seconds=1)
        with pytest.raises(service.LetterNotOpen):
            signing.record_signature(db.session, found, _data(), check, now=now, caps=EmailCaps())


def test_a_signature_made_by_another_request_meanwhile_gets_its_links_again(app, letter):
    """Two requests for one address both pass the checks; the unique index decides."""
    now = utcnow()
    with app.app_context():
        found = signing.signing_letter(db.session, letter)
        first = signing.check_signing(db.session, found, _data(), now=now, caps=EmailCaps())
        second = signing.check_signing(db.session, found, _data(), now=now, caps=EmailCaps())
        won = signing.record_signature(db.session, found, _data(), first, now=now, caps=EmailCaps())
        lost = signing.record_signature(
            db.session, found, _data(), second, now=now, caps=EmailCaps()
        )
        db.session.commit()
        assert won.created and not lost.created
        assert lost.signature_id == won.signature_id
        assert len(db.session.scalars(select(Signature)).all()) == 1
        # Each request sent the signer their link once.
        assert len(db.session.scalars(select(OutboxMessage)).all()) == 2


def test_end_reads_keeps_what_was_read_and_refuses_a_session_holding_changes(app, letter):
    with app.test_request_context("/letters/civic/sign", method="POST"):
        reads_first()
        found = db.session.scalar(select(Letter).where(Letter.slug == letter))
        end_reads(db.session)
        # Not expired: reading it again costs no statement, and nothing was saved.
        assert "title" in found.__dict__
        assert not commit_sent()
        found.title = "Changed"
        with pytest.raises(RuntimeError, match="holds changes"):
            end_reads(db.session)
        db.session.rollback()


def test_a_signature_withdrawn_since_the_check_leaves_the_address_free_to_sign_anew(app, letter):
    """The check found the address's live signature; by the writes it was withdrawn."""
    now = utcnow()
    with app.app_context():
        found = signing.signing_letter(db.session, letter)
        first = signing.sign(db.session, found, _data(), now=now).signature.id
        db.session.commit()
        check = signing.check_signing(db.session, found, _data(), now=now, caps=EmailCaps())
        assert check.existing_id == first
        db.session.commit()
        with db.engine.begin() as other:
            other.execute(
                Signature.__table__.update()
                .where(Signature.__table__.c.id == first)
                .values(status="withdrawn")
            )
        again = signing.record_signature(
            db.session, found, _data(), check, now=now, caps=EmailCaps()
        )
        db.session.commit()
        assert again.created and again.signature_id != first
        statuses = db.session.scalars(select(Signature.status).order_by(Signature.id)).all()
        assert statuses == ["withdrawn", "unconfirmed"]


def test_a_refused_form_comes_back_with_its_errors_and_a_token_that_signs(app, client, letter):
    """The sign POST's form checks no token of its own (CSRFProtect did); the page that
    sends it back draws one, and the form sent again with it is taken."""
    token = fetch_csrf(client, "/letters/civic")
    refused = client.post("/letters/civic/sign", data={**ORG_FORM, "name": "", "csrf_token": token})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Enter your name" in page and ORG_FORM["email"] in page
    again = csrf_token_from(page)

    taken = client.post("/letters/civic/sign", data={**ORG_FORM, "csrf_token": again})

    assert taken.status_code == 303


def test_the_sign_post_still_refuses_a_missing_token(app, client, letter):
    client.get("/letters/civic")
    response = client.post("/letters/civic/sign", data=ORG_FORM)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Signature)).all() == []
