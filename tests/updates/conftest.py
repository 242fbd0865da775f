"""Fixtures of the updates' tests: a letter with an editor, and helpers that drive the
workspace's update pages and the mail worker's chore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.backends import backend_from_url
from signatory.mail.worker import send_due
from signatory.models import LetterUpdate, Signature, UpdateRecipient
from signatory.updates.sending import UpdateSending
from tests.conftest import fetch_csrf, sign_in
from tests.factories import find_letter, make_letter, make_member, make_signature

SLUG = "civic"


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug=SLUG, title="Keep civic space open")
        db.session.commit()
    return SLUG


@pytest.fixture
def editor(app: Flask, letter: str) -> str:
    """The email of an editor of the letter."""
    with app.app_context():
        found = find_letter(db.session, letter)
        assert found is not None
        email = make_member(db.session, found, role="editor", name="Eda Editor").email
        db.session.commit()
    return email


@pytest.fixture
def signed_in(client: FlaskClient, editor: str) -> FlaskClient:
    return sign_in(client, editor)


def post_update(
    client: FlaskClient,
    title: str = "The Committee adopted the text",
    body: str = "On **8 August**.",
) -> TestResponse:
    """Post an update through the workspace's form."""
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/updates/new")
    return client.post(
        f"/manage/letters/{SLUG}/updates/new",
        data={"csrf_token": token, "title": title, "body": body},
    )


def press(client: FlaskClient, update_id: int, action: str) -> TestResponse:
    """Press the preview page's "send" or "test" button."""
    page = f"/manage/letters/{SLUG}/updates/{update_id}"
    token = fetch_csrf(client, page)
    return client.post(f"{page}/{action}", data={"csrf_token": token})


def updates(app: Flask) -> list[LetterUpdate]:
    with app.app_context():
        rows = list(db.session.scalars(select(LetterUpdate).order_by(LetterUpdate.id)))
        db.session.expunge_all()
        return rows


def recipients(app: Flask) -> list[UpdateRecipient]:
    with app.app_context():
        rows = list(db.session.scalars(select(UpdateRecipient).order_by(UpdateRecipient.id)))
        db.session.expunge_all()
        return rows


def consenting_signature(app: Flask, **values: Any) -> int:
    """A signature on the letter whose signer asked for updates; its id."""
    with app.app_context():
        found = find_letter(db.session, SLUG)
        assert found is not None
        values.setdefault("updates_consent_at", utcnow())
        signature_id = make_signature(db.session, found, **values).id
        db.session.commit()
        return signature_id


def signature(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        found = db.session.get(Signature, signature_id)
        assert found is not None
        db.session.expunge(found)
        return found


def run_chore(app: Flask, *, batch_size: int = 500, now: datetime | None = None) -> int:
    """One run of the mail worker's chore that queues updates; how many it queued."""
    with app.app_context():
        return UpdateSending(batch_size=batch_size).run_if_due(db.session, now=now or utcnow())


def deliver(app: Flask, smtp_url: str) -> None:
    """Send what the outbox holds to the SMTP server at ``smtp_url``, as ``flask mail send``."""
    app.config["MAIL_URL"] = smtp_url
    with app.app_context():
        send_due(db.session, backend_from_url(smtp_url))
