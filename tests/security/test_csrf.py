"""Every POST needs the CSRF token of this browser's own session.

A POST without one, or with a token taken from another session (an attacker's page can
fetch its own), gets the 400 page and changes nothing: no row, no status change, no email,
no audit event, no signed-in session.
"""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.models import Letter, Signature
from tests.conftest import audit_trail, fetch_csrf, queued_mail, sign_in
from tests.factories import PASSWORD, make_letter, make_member, make_signature

REFUSAL = (
    "This form has expired or was not sent from our page. "
    "Reload the page and submit it again; nothing was saved."
)
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
def world(app) -> dict[str, object]:
    """An open letter with one unconfirmed and one published signature, and its owner."""
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        waiting = make_signature(db.session, letter, status="unconfirmed")
        published = make_signature(db.session, letter, status="published")
        tokens = app.extensions["signatory.tokens"]
        world = {
            "owner": make_member(db.session, letter, role="owner").email,
            "confirm": tokens.make("confirm", waiting.id, waiting.confirm_nonce),
            "withdraw": tokens.make("withdraw", published.id, published.withdraw_nonce),
        }
        db.session.commit()
    return world


def token_of_another_session(app) -> str:
    """A valid token, but minted for a different browser's session."""
    return fetch_csrf(app.test_client(), "/letters/civic")


def refused(response) -> bool:
    page = response.get_data(as_text=True)
    match = re.search(r'<h1 id="error-title">.*?</h1>\s*<p>(.*?)</p>', page, re.S)
    return (
        response.status_code == 400
        and match is not None
        and html.unescape(match.group(1)) == REFUSAL
    )


def statuses(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Signature.status).order_by(Signature.id)))


def signed_in(client: FlaskClient) -> bool:
    return client.get("/manage/").status_code == 200


# --- The sign form ---------------------------------------------------------------------


def test_signing_without_a_token_is_refused_and_saves_nothing(app, client, world):
    client.get("/letters/civic")

    response = client.post("/letters/civic/sign", data=ORG_FORM)

    assert refused(response)
    assert statuses(app) == ["unconfirmed", "published"]
    assert queued_mail(app) == []


def test_signing_with_another_sessions_token_is_refused_and_saves_nothing(app, client, world):
    client.get("/letters/civic")

    response = client.post(
        "/letters/civic/sign", data={**ORG_FORM, "csrf_token": token_of_another_session(app)}
    )

    assert refused(response)
    assert statuses(app) == ["unconfirmed", "published"]
    assert queued_mail(app) == []


def test_signing_with_a_token_but_no_session_at_all_is_refused(app, client, world):
    response = client.post(
        "/letters/civic/sign", data={**ORG_FORM, "csrf_token": token_of_another_session(app)}
    )

    assert refused(response)
    assert queued_mail(app) == []


# --- The signer's links -------------------------------------------------------------------


def test_confirming_without_a_token_is_refused_and_confirms_nothing(app, client, world):
    url = f"/confirm/{world['confirm']}"
    client.get(url)

    response = client.post(url)

    assert refused(response)
    assert statuses(app) == ["unconfirmed", "published"]
    assert audit_trail(app) == []


def test_confirming_with_another_sessions_token_is_refused(app, client, world):
    url = f"/confirm/{world['confirm']}"
    client.get(url)

    response = client.post(url, data={"csrf_token": token_of_another_session(app)})

    assert refused(response)
    assert statuses(app) == ["unconfirmed", "published"]


def test_withdrawing_with_another_sessions_token_is_refused_and_keeps_the_signature(
    app, client, world
):
    url = f"/withdraw/{world['withdraw']}"
    client.get(url)

    response = client.post(url, data={"csrf_token": token_of_another_session(app)})

    assert refused(response)
    assert statuses(app) == ["unconfirmed", "published"]
    assert queued_mail(app) == []


# --- The workspace -------------------------------------------------------------------------


def test_signing_in_without_a_token_is_refused_and_starts_no_session(app, client, world):
    client.get("/manage/login")

    response = client.post("/manage/login", data={"email": world["owner"], "password": PASSWORD})

    assert refused(response)
    assert not signed_in(client)
    assert audit_trail(app, "coordinator.signed_in") == []


def test_signing_in_with_another_sessions_token_is_refused(app, client, world):
    other = app.test_client()
    token = fetch_csrf(other, "/manage/login")
    client.get("/manage/login")

    response = client.post(
        "/manage/login", data={"csrf_token": token, "email": world["owner"], "password": PASSWORD}
    )

    assert refused(response)
    assert not signed_in(client)


def test_a_workspace_post_with_another_sessions_token_changes_nothing(app, client, world):
    sign_in(client, world["owner"])
    before = len(audit_trail(app))

    response = client.post(
        "/manage/letters/civic/close", data={"csrf_token": token_of_another_session(app)}
    )

    assert refused(response)
    with app.app_context():
        assert db.session.scalar(select(Letter.status).where(Letter.slug == "civic")) == "open"
    assert len(audit_trail(app)) == before


def test_a_token_from_before_sign_in_no_longer_works_after_it(app, client, world):
    old_token = fetch_csrf(client, "/manage/login")
    sign_in(client, world["owner"])

    response = client.post("/manage/letters/civic/close", data={"csrf_token": old_token})

    assert refused(response)
    with app.app_context():
        assert db.session.scalar(select(Letter.status).where(Letter.slug == "civic")) == "open"


def test_signing_out_without_a_token_keeps_the_session(app, client, world):
    sign_in(client, world["owner"])

    response = client.post("/manage/logout")

    assert refused(response)
    assert signed_in(client)
    assert audit_trail(app, "coordinator.signed_out") == []
