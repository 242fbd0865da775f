"""Requests no form of ours sends, and a database that cannot take a write: each gets the
generic error page with a clear message and the right status, never a stack trace, and
nothing is saved."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from signatory.core.extensions import db
from signatory.models import Letter, OutboxMessage, Signature
from tests import databases
from tests.conftest import fetch_csrf, queued_mail, sign_in
from tests.factories import make_letter, make_member

ORG_FORM = {
    "kind": "organization",
    "organization": "Digital Rights Example",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
    "authorised": "y",
}
TRACEBACK = "Traceback"


@pytest.fixture
def letter(app):
    with app.app_context():
        make_letter(db.session, slug="civic")
        db.session.commit()
    return "civic"


def signatures(app) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature)))
        db.session.expunge_all()
        return rows


def message_of(response) -> str:
    """The error page's message: the paragraph under its heading."""
    page = response.get_data(as_text=True)
    assert TRACEBACK not in page
    match = re.search(r'<h1 id="error-title">.*?</h1>\s*<p>(.*?)</p>', page, re.S)
    assert match, f"not the error page: {page[:300]}"
    return html.unescape(match.group(1))


# --- Bodies and addresses no form sends -------------------------------------------------


def test_a_body_over_the_size_limit_is_refused_with_413_and_saves_nothing(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    data = {**ORG_FORM, "csrf_token": token, "title": "x" * (70 * 1024)}

    response = client.post("/letters/civic/sign", data=data)

    assert response.status_code == 413
    assert message_of(response) == "What you sent is too large. Shorten the text and try again."
    assert signatures(app) == []
    assert queued_mail(app) == []


def test_a_form_of_too_many_parts_is_refused_with_413(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    data = {**ORG_FORM, "csrf_token": token, **{f"extra{i}": "x" for i in range(150)}}

    response = client.post("/letters/civic/sign", data=data, content_type="multipart/form-data")

    assert response.status_code == 413
    assert message_of(response) == "What you sent is too large. Shorten the text and try again."
    assert signatures(app) == []


def test_a_json_body_to_the_sign_form_is_refused_with_415_and_saves_nothing(app, client, letter):
    response = client.post("/letters/civic/sign", json=ORG_FORM)

    assert response.status_code == 415
    assert message_of(response) == (
        "This address takes a form sent from its page. Open the page and send the form there."
    )
    assert signatures(app) == []
    assert queued_mail(app) == []


def test_a_form_body_that_is_not_utf8_is_refused_as_an_unreadable_form(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    body = f"csrf_token={token}&name=\xff\xfe".encode("latin-1")

    response = client.post(
        "/letters/civic/sign", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert "Reload the page and submit it again; nothing was saved." in message_of(response)
    assert signatures(app) == []


@pytest.mark.parametrize(
    "path", ["/letters/%ZZ", "/letters/%FF%FE", "/letters/\xff", "/letters/" + "a" * 5000]
)
def test_a_malformed_path_gets_the_404_page(client, letter, path):
    response = client.get(path)

    assert response.status_code == 404
    assert message_of(response) == "There is no letter at this address. It may not be public yet."
    assert response.headers["Cache-Control"] == "no-store"


def test_non_utf8_bytes_in_the_query_do_not_break_the_list(client, letter):
    response = client.get("/letters/civic/signatories?q=%FF%FE&country=%ZZ")

    assert response.status_code in (200, 400)
    assert TRACEBACK not in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "BREW"])
def test_a_wrong_method_gets_405_with_allow_and_the_generic_page(client, letter, method):
    response = client.open("/letters/civic/sign", method=method)

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert message_of(response) == "This address does not accept that kind of request."


def test_a_wrong_method_on_the_api_answers_json(client, letter):
    response = client.post("/api/v1/letters/civic")

    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_the_error_page_speaks_the_readers_language(client, letter):
    response = client.get("/letters/civic/sign", headers={"Accept-Language": "fr"})

    assert response.status_code == 405
    assert message_of(response) != "This address does not accept that kind of request."
    assert '<html lang="fr" dir="ltr">' in response.get_data(as_text=True)


def test_an_unexpected_error_gets_a_500_page_that_claims_only_what_is_true(app):
    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/broken-for-this-test", "broken", broken)

    response = app.test_client().get("/broken-for-this-test")

    assert response.status_code == 500
    message = message_of(response)
    assert "nothing you sent was lost" not in message.lower()
    assert message == (
        "Something went wrong on our side and this request did not finish. If you were "
        "sending a form, check whether it was saved before you send it again."
    )
    assert "a bug" not in response.get_data(as_text=True)


# --- The database locked past the busy timeout -----------------------------------------


@contextmanager
def write_locked(app) -> Iterator[None]:
    """Another connection holds the database's write lock until the block ends.

    On SQLite that is the file's lock; on PostgreSQL, a lock on every table that lets
    others read them but not write (``EXCLUSIVE``).
    """
    url = app.config["DATABASE_URL"]
    if url.startswith("postgresql"):
        engine = create_engine(url, poolclass=NullPool)
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        try:
            with engine.connect() as other:
                other.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
                yield
                other.rollback()
        finally:
            engine.dispose()
        return
    other = sqlite3.connect(databases.sqlite_path(url), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def resend_form(response) -> dict[str, str]:
    """The fields the 503 page keeps, as its "Send it again" button would post them."""
    page = response.get_data(as_text=True)
    form = re.search(
        r'<form method="post" action="([^"]+)" class="resend">(.*?)</form>', page, re.S
    )
    assert form, "the page offers no way to send the form again"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    return {name: html.unescape(value) for name, value in fields}


BUSY = {"DATABASE_BUSY_TIMEOUT": 0.2}


@pytest.mark.parametrize("app_config", [BUSY])
def test_a_sign_post_to_a_locked_database_gets_503_and_saves_nothing(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")

    with write_locked(app):
        response = client.post("/letters/civic/sign", data={**ORG_FORM, "csrf_token": token})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert message_of(response) == (
        "The site is too busy to save anything right now, so nothing you sent was saved. "
        "Wait a few seconds, then send it again."
    )
    kept = resend_form(response)
    assert kept["name"] == "Lizzie Signer"
    assert kept["organization"] == "Digital Rights Example"
    assert kept["email"] == "lizzie@digitalrights.example.org"
    with app.app_context():
        assert db.session.scalars(select(Signature)).all() == []
        assert db.session.scalars(select(OutboxMessage)).all() == []


@pytest.mark.parametrize("app_config", [BUSY])
def test_the_kept_form_signs_once_the_lock_is_released(app, client, letter):
    token = fetch_csrf(client, "/letters/civic")
    with write_locked(app):
        refused = client.post("/letters/civic/sign", data={**ORG_FORM, "csrf_token": token})
    assert refused.status_code == 503

    response = client.post("/letters/civic/sign", data=resend_form(refused))

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/letters/civic/signed")
    [signature] = signatures(app)
    assert (signature.name, signature.organization) == ("Lizzie Signer", "Digital Rights Example")
    assert [m.to_addr for m in queued_mail(app)] == ["lizzie@digitalrights.example.org"]


@pytest.mark.parametrize("app_config", [BUSY])
def test_a_held_write_lock_does_not_stop_anyone_reading(app, client, letter):
    with write_locked(app):
        response = client.get("/letters/civic")

    assert response.status_code == 200


@pytest.mark.parametrize("app_config", [BUSY])
def test_a_coordinators_post_to_a_locked_database_gets_503_and_changes_nothing(app, client):
    with app.app_context():
        letter = make_letter(db.session, slug="mine")
        email = make_member(db.session, letter, role="owner").email
        db.session.commit()
    sign_in(client, email)
    token = fetch_csrf(client, "/manage/letters/mine/")

    with write_locked(app):
        response = client.post("/manage/letters/mine/close", data={"csrf_token": token})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing you sent was saved" in message_of(response)
    with app.app_context():
        assert db.session.scalar(select(Letter.status).where(Letter.slug == "mine")) == "open"


@pytest.mark.parametrize("app_config", [BUSY])
def test_a_sign_in_to_a_locked_database_keeps_the_email_but_never_the_password(app, client):
    token = fetch_csrf(client, "/manage/login")

    with write_locked(app):
        response = client.post(
            "/manage/login",
            data={
                "csrf_token": token,
                "email": "casey@coalition.example.org",
                "password": "s3cret!",
            },
        )

    assert response.status_code == 503
    kept = resend_form(response)
    assert kept["email"] == "casey@coalition.example.org"
    assert "password" not in kept
    assert "s3cret!" not in response.get_data(as_text=True)


POOL_OF_ONE = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}
}


@pytest.mark.parametrize("app_config", [POOL_OF_ONE])
def test_no_free_database_connection_answers_503_with_retry_after(app, letter):
    client = app.test_client()
    token = fetch_csrf(client, "/letters/civic")
    with app.app_context():
        held = db.engine.connect()  # the pool's only connection, taken by someone else
        try:
            response = client.post("/letters/civic/sign", data={**ORG_FORM, "csrf_token": token})
        finally:
            held.close()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing you sent was saved" in message_of(response)
    assert resend_form(response)["name"] == "Lizzie Signer"
    assert signatures(app) == []


def test_a_database_error_that_is_a_bug_stays_a_500(app):
    def reads_a_missing_table() -> str:
        db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.add_url_rule("/bug-for-this-test", "bug", reads_a_missing_table)

    response = app.test_client().get("/bug-for-this-test")

    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert "no_such_table" not in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [BUSY])
def test_a_lock_after_a_commit_says_it_cannot_know_what_was_saved(app, letter):
    def commits_then_meets_a_lock() -> str:
        db.session.execute(text("UPDATE letter SET title = title || ' (saved)'"))
        db.session.commit()
        with write_locked(app):
            db.session.execute(text("UPDATE letter SET title = title || ' (not saved)'"))
        return "unreachable"

    app.add_url_rule("/half-for-this-test", "half", commits_then_meets_a_lock)

    response = app.test_client().get("/half-for-this-test")

    assert response.status_code == 503
    assert message_of(response) == (
        "The site lost its database while saving, so what you sent may or may not have been "
        "saved. Wait a few seconds and check before you send it again."
    )
    with app.app_context():
        assert db.session.scalar(select(Letter.title)).endswith(" (saved)")


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999"])
def test_a_number_in_a_url_beyond_any_row_is_no_such_page(client, letter, number):
    """On PostgreSQL such a number reached the query as out of range (a 500) before."""
    response = client.get(f"/letters/civic/versions/{number}")

    assert response.status_code == 404
