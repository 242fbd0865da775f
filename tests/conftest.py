"""Fixtures: an app on a real SQLite file built by the migrations, a client, a real SMTP server;
and the helpers of tests that drive the app through requests, each in its own app context."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.test import TestResponse

from signatory import create_app
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.worker import render_message
from signatory.models import AuditEvent, OutboxMessage
from tests import databases
from tests.factories import PASSWORD, audit_events, find_letter, make_signature, outbox_messages

SECRET = "test-secret-key-that-is-long-enough-for-production-checks"


def _config(tmp: Path, database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "MAIL_URL": (tmp / "mail").as_uri(),
        "BASE_URL": "http://signatory.test",
        # Tests post the sign form at once; the fill-time check has tests of its own.
        "SIGN_MIN_SECONDS": 0,
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Compile the message catalogues when a .mo is missing or older than its .po.

    scripts/test compiles them too; this lets a plain ``pytest`` run in French and Spanish.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    translations = Path(__file__).resolve().parent.parent / "signatory" / "translations"
    for po_path in translations.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)


@pytest.fixture(scope="session", autouse=True)
def _databases_dropped_at_the_end() -> Iterator[None]:
    yield
    databases.drop_leftovers()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database built by the migrations (its URL); each test gets a copy of it."""
    tmp = tmp_path_factory.mktemp("template")
    url = databases.empty(tmp, "template")
    app = create_app(_config(tmp, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    databases.drop(url)


@contextmanager
def database_copy(migrated_database: str, tmp: Path) -> Iterator[str]:
    """A copy of the migrated database for one test (or module), removed after it."""
    url = databases.copy(migrated_database, tmp)
    try:
        yield url
    finally:
        databases.drop(url)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """Override keys here (by requesting and mutating this fixture) before ``app`` is built."""
    return {}


def unmigrated_app(tmp_path: Path) -> Flask:
    """An app on an empty database, for a test that runs the migrations.

    The database is left for the session's end on PostgreSQL (a test's folder holds it on
    SQLite); ``upgrade()`` and ``downgrade()`` in the test build and empty it.
    """
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": databases.empty(tmp_path, "old"),
            "SECRET_KEY": "k" * 40,
        }
    )


@pytest.fixture
def app(tmp_path: Path, migrated_database: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    with database_copy(migrated_database, tmp_path) as url:
        app = create_app(_config(tmp_path, url, **app_config))
        yield app
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """The app's session inside an app context, for service tests without a request."""
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def fetch_csrf(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    return csrf_token_from(response.get_data(as_text=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return list(self.messages)


@contextmanager
def smtp_answering(handler: Any) -> Iterator[Controller]:
    """A real SMTP server on loopback that answers as ``handler`` (an aiosmtpd handler)
    does, for the tests of refusals, drops and stalls; stopped when the block ends."""
    # aiosmtpd connects to its own port to check it is up, so it needs a real number.
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


class SMTPServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.collector = _Collector()
        # aiosmtpd connects to its own port to check it is up, so it needs a real number.
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=port or free_port())

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        return self.collector.wait_for(count, timeout)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "email has no text/plain part"
    return part.get_content()


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "email has no text/html part"
    return part.get_content()


def sign_in(client: FlaskClient, email: str, password: str | None = None) -> FlaskClient:
    """Sign in through the real form; fails the test if it does not work. The client, signed in."""
    token = fetch_csrf(client, "/manage/login")
    response = client.post(
        "/manage/login",
        data={"csrf_token": token, "email": email, "password": password or PASSWORD},
    )
    assert response.status_code == 303, f"sign-in failed: {response.status_code}"
    return client


def post_form(
    client: FlaskClient, path: str, *, form_page: str = "/manage/", **data: Any
) -> TestResponse:
    """POST ``data`` to ``path`` with the CSRF token of ``form_page``, as its form would."""
    token = fetch_csrf(client, form_page)
    return client.post(path, data={"csrf_token": token, **data})


# --- Rows, read and written outside any request ----------------------------------------
#
# Tests that go through HTTP set up and check in app contexts of their own: a request inside
# the ``session`` fixture's context would share its ``g`` (its CSRF token, its signed-in
# user) with every other request. What these read is detached, to outlive the context.


def add_signature(app: Flask, slug: str, **values: Any) -> int:
    """A signature made with ``values`` on the letter ``slug`` and committed; its id."""
    with app.app_context():
        letter = find_letter(db.session, slug)
        assert letter is not None, f"no letter {slug!r}"
        signature_id = make_signature(db.session, letter, **values).id
        db.session.commit()
        return signature_id


def audit_trail(app: Flask, action: str | None = None) -> list[AuditEvent]:
    """The audit events as committed, oldest first: all, or only those of ``action``."""
    with app.app_context():
        events = audit_events(db.session, action)
        db.session.expunge_all()
        return events


def queued_mail(app: Flask, template: str | None = None) -> list[OutboxMessage]:
    """The queued emails as committed, oldest first: all, or only those made from ``template``."""
    with app.app_context():
        messages = outbox_messages(db.session, template)
        db.session.expunge_all()
        return messages


def render_queued(app: Flask, message_id: int) -> EmailMessage:
    """The queued email ``message_id`` rendered as the mail worker would, leaving it queued."""
    with app.app_context():
        email = render_message(db.session, db.session.get(OutboxMessage, message_id), now=utcnow())
        db.session.rollback()
        return email
