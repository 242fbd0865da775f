"""The privacy notice: its figures come from the configuration; every page and email links it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory import create_app
from signatory.core.config import ConfigError
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.outbox import enqueue
from signatory.models import Signature
from signatory.team import accounts
from tests.conftest import add_signature, html_part, queued_mail, render_queued, text_part
from tests.factories import make_coordinator, make_letter


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "UNCONFIRMED_PURGE_DAYS": 11,
        "WITHDRAWN_RETENTION_DAYS": 21,
        "DELIVERED_RETENTION_DAYS": 181,
        "CLIENT_PREFIX_RETENTION_DAYS": 7,
        "OUTBOX_RETENTION_DAYS": 1,
        "SIGN_IN_ATTEMPT_RETENTION_DAYS": 45,
        "MANAGE_TOKEN_MAX_AGE": 3 * 86400,
    }


def test_the_notice_states_the_configured_periods(client: FlaskClient) -> None:
    response = client.get("/privacy")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for sentence in (
        "A signature that is never confirmed is deleted after 11 days.",
        "loses your name, title and email address 21 days after it leaves the list.",
        "private details are erased 181 days after the delivery.",
        "The shortened network a signature came from is erased after 7 days.",
        "loses your address and its content 1 day after it is sent.",
        "are deleted after 45 days.",
        "The link works for 3 days",
    ):
        assert sentence in html, sentence
    assert 'href="/my-signature"' in html


def test_every_page_links_the_notice_and_the_signers_page(client: FlaskClient) -> None:
    for path in ("/", "/manage/login", "/privacy"):
        html = client.get(path).get_data(as_text=True)
        footer = html.split('class="site-footer"', 1)[1]
        assert 'href="/privacy"' in footer and 'href="/my-signature"' in footer, path


def test_signer_and_coordinator_emails_link_the_notice(app: Flask) -> None:
    with app.app_context():
        make_letter(db.session, slug="civic")
        coordinator = make_coordinator(db.session)
        db.session.commit()
        accounts.request_password_reset(db.session, email=coordinator.email, now=utcnow())
        db.session.commit()
    add_signature(app, "civic", status="unconfirmed")
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        enqueue(
            db.session,
            template="confirm_request",
            to=signature.email,
            context={"signature_id": signature.id},
            now=utcnow(),
        )
        db.session.commit()

    messages = queued_mail(app)

    assert sorted(m.template for m in messages) == ["confirm_request", "password_reset"]
    for message in messages:
        email = render_queued(app, message.id)
        assert "http://signatory.test/privacy" in text_part(email), message.template
        assert 'href="http://signatory.test/privacy"' in html_part(email), message.template


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("WITHDRAWN_RETENTION_DAYS", 0),
        ("OUTBOX_RETENTION_DAYS", -3),
        ("DELIVERED_RETENTION_DAYS", True),
        ("CLIENT_PREFIX_RETENTION_DAYS", "30"),
        ("SIGN_IN_ATTEMPT_RETENTION_DAYS", 1.5),
        ("MANAGE_TOKEN_MAX_AGE", 0),
    ],
)
def test_a_retention_period_that_cannot_work_is_refused_at_start(
    tmp_path: Any, key: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=f"SIGNATORY_{key}"):
        create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path),
                "SECRET_KEY": "k" * 40,
                key: value,
            }
        )
