"""Redirect targets taken from the request go only to paths on this site.

A ``next`` that a browser could read as another host (extra slashes, backslashes, hidden
tabs and newlines, a scheme) falls back to the workspace home after signing in, and to the
home page after switching language.
"""

from __future__ import annotations

import pytest

from signatory.core.extensions import db
from tests.conftest import fetch_csrf, sign_in
from tests.factories import PASSWORD, make_letter, make_member

HOSTILE = [
    "//evil.example",
    "////evil.example",
    "///evil.example/manage/",
    "/\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "https://evil.example/manage/",
    "http:evil.example",
    "http:/evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "",
]
HOME = "/manage/"


@pytest.fixture
def coordinator(app) -> str:
    with app.app_context():
        letter = make_letter(db.session, slug="mine")
        email = make_member(db.session, letter, role="owner").email
        db.session.commit()
    return email


def post_login(client, email: str, next_value: str, *, encoded: str | None = None):
    token = fetch_csrf(client, "/manage/login")
    query = f"?next={encoded}" if encoded is not None else ""
    return client.post(
        f"/manage/login{query}",
        query_string=None if encoded is not None else {"next": next_value},
        data={"csrf_token": token, "email": email, "password": PASSWORD},
    )


@pytest.mark.parametrize("target", HOSTILE)
def test_signing_in_with_a_foreign_next_lands_on_the_workspace_home(client, coordinator, target):
    response = post_login(client, coordinator, target)

    assert response.status_code == 303
    assert response.headers["Location"] == HOME
    assert client.get(HOME).status_code == 200  # and the sign-in worked


@pytest.mark.parametrize(
    "encoded", ["%2F%2Fevil.example", "%2F%5Cevil.example", "%5C%2Fevil", "/%09/evil.example"]
)
def test_a_percent_encoded_foreign_next_lands_on_the_workspace_home(client, coordinator, encoded):
    response = post_login(client, coordinator, "", encoded=encoded)

    assert response.status_code == 303
    assert response.headers["Location"] == HOME


@pytest.mark.parametrize("target", HOSTILE)
def test_a_signed_in_visit_to_sign_in_with_a_foreign_next_goes_home(client, coordinator, target):
    sign_in(client, coordinator)

    response = client.get("/manage/login", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == HOME


def test_a_next_on_this_site_is_followed_after_signing_in(client, coordinator):
    response = post_login(client, coordinator, "/manage/letters/mine/settings?tab=1")

    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/letters/mine/settings?tab=1"


def test_a_next_on_this_site_is_followed_when_already_signed_in(client, coordinator):
    sign_in(client, coordinator)

    response = client.get("/manage/login", query_string={"next": "/manage/letters/mine/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/letters/mine/"


def test_a_signed_out_visit_comes_back_to_its_page_after_signing_in(client, coordinator):
    refused = client.get("/manage/letters/mine/team")
    assert refused.status_code == 302
    login_url = refused.headers["Location"]
    assert login_url.startswith("/manage/login?next=")
    token = fetch_csrf(client, login_url)

    response = client.post(
        login_url, data={"csrf_token": token, "email": coordinator, "password": PASSWORD}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/letters/mine/team"
    assert client.get("/manage/letters/mine/team").status_code == 200


def test_a_failed_sign_in_with_a_foreign_next_redirects_nowhere(client, coordinator):
    token = fetch_csrf(client, "/manage/login")

    response = client.post(
        "/manage/login",
        query_string={"next": "////evil.example"},
        data={"csrf_token": token, "email": coordinator, "password": "wrong password"},
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "That email and password do not match an account." in response.get_data(as_text=True)


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_with_a_foreign_next_goes_to_the_home_page(client, target):
    response = client.get("/language/fr", query_string={"next": target})

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
