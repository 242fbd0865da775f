"""Fixtures of the invitations' tests: an open letter with an editor, and helpers that
drive the invitations page, the invitation link and the sign form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from signatory.core.extensions import db
from signatory.models import Letter, Signature, SigningInvitation
from tests.conftest import (
    csrf_token_from,
    fetch_csrf,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import find_letter, make_letter, make_member

SLUG = "coalition"
PAGE = f"/manage/letters/{SLUG}/invitations"
EDITOR = "eda@coalition.example.org"

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


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        found = make_letter(db.session, slug=SLUG, title="Protect civic space")
        make_member(db.session, found, role="editor", email=EDITOR, name="Eda Editor")
        db.session.commit()
    return SLUG


@pytest.fixture
def editor(client: FlaskClient, letter: str) -> FlaskClient:
    return sign_in(client, EDITOR)


def set_policy(
    client: FlaskClient, policy: str, domains: str = "", slug: str = SLUG
) -> TestResponse:
    page = f"/manage/letters/{slug}/invitations"
    token = fetch_csrf(client, page)
    return client.post(
        f"{page}/policy",
        data={"csrf_token": token, "signing_policy": policy, "allowed_domains": domains},
    )


def policy_of(app: Flask, slug: str = SLUG) -> tuple[str, str | None]:
    with app.app_context():
        found = find_letter(db.session, slug)
        assert found is not None
        return found.signing_policy, found.allowed_domains


def set_policy_directly(app: Flask, policy: str, domains: str | None = None) -> None:
    with app.app_context():
        found = find_letter(db.session, SLUG)
        assert found is not None
        found.signing_policy, found.allowed_domains = policy, domains
        db.session.commit()


def invite_one(client: FlaskClient, **fields: str) -> TestResponse:
    data = {"organization": "Digital Rights Example", "email": "contact@digitalrights.example.org"}
    data.update(fields)
    token = fetch_csrf(client, PAGE)
    return client.post(f"{PAGE}/new", data={"csrf_token": token, **data})


def invite_many(client: FlaskClient, lines: str) -> TestResponse:
    token = fetch_csrf(client, PAGE)
    return client.post(f"{PAGE}/batch", data={"csrf_token": token, "lines": lines})


def press(client: FlaskClient, invitation_id: int, action: str) -> TestResponse:
    token = fetch_csrf(client, PAGE)
    return client.post(f"{PAGE}/{invitation_id}/{action}", data={"csrf_token": token})


def invitations(app: Flask) -> list[SigningInvitation]:
    with app.app_context():
        rows = list(db.session.scalars(select(SigningInvitation).order_by(SigningInvitation.id)))
        db.session.expunge_all()
        return rows


def signatures(app: Flask) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def invitation_link(app: Flask, message_id: int | None = None) -> str:
    """The path of the link in the (latest) invitation email, rendered as the worker would."""
    message_id = message_id or queued_mail(app, "signing_invitation")[-1].id
    match = re.search(
        r"http://signatory\.test(/invitation/\S+)", text_part(render_queued(app, message_id))
    )
    assert match, "no invitation link in the email"
    return match.group(1)


def follow_invitation(browser: FlaskClient, path: str) -> tuple[TestResponse, str]:
    """Open the link; the letter page it leads to (its response and its address)."""
    opened = browser.get(path)
    assert opened.status_code == 303, opened.status_code
    target = opened.headers["Location"]
    return browser.get(target), target


def sign(browser: FlaskClient, page: str = f"/letters/{SLUG}", **fields: Any) -> TestResponse:
    """Send the sign form drawn on ``page`` with ``fields`` over the organization defaults."""
    html = browser.get(page).get_data(as_text=True)
    hidden = re.search(r'id="invitation" name="invitation" type="hidden" value="([^"]*)"', html)
    # An invite-only letter's page draws no form without an invitation: a direct POST
    # takes its session's token from another page, as a script would.
    token = csrf_token_from(html) if 'name="csrf_token"' in html else None
    data = {**ORG_FORM, "csrf_token": token or fetch_csrf(browser, "/manage/login")}
    if hidden:
        data["invitation"] = hidden.group(1)
    data.update(fields)
    return browser.post(f"/letters/{SLUG}/sign", data=data)


def letter_row(app: Flask) -> Letter:
    with app.app_context():
        found = find_letter(db.session, SLUG)
        assert found is not None
        db.session.expunge(found)
        return found
