"""A coordinator's own account page: name, notification choice, password."""

from __future__ import annotations

import re

import pytest

from signatory.core.extensions import db
from signatory.models import Coordinator
from tests.conftest import audit_trail, fetch_csrf, post_form, sign_in
from tests.factories import PASSWORD, make_coordinator

EMAIL = "robin@coalition.example.org"
NEW_PASSWORD = "robin's new and longer passphrase"


@pytest.fixture
def account(app) -> int:
    with app.app_context():
        coordinator = make_coordinator(db.session, email=EMAIL, name="Robin Example")
        db.session.commit()
        return coordinator.id


@pytest.fixture
def signed_in(client, account):
    return sign_in(client, EMAIL)


def coordinator(app, account) -> Coordinator:
    with app.app_context():
        row = db.session.get(Coordinator, account)
        db.session.expunge(row)
        return row


def save_profile(client, **form):
    return post_form(client, "/manage/account/profile", form_page="/manage/account", **form)


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, again=None):
    return post_form(
        client,
        "/manage/account/password",
        form_page="/manage/account",
        current_password=current,
        password=new,
        password_again=again or new,
    )


def can_sign_in(app, password: str) -> bool:
    other = app.test_client()
    token = fetch_csrf(other, "/manage/login")
    response = other.post(
        "/manage/login", data={"csrf_token": token, "email": EMAIL, "password": password}
    )
    return response.status_code == 303


def test_the_account_page_needs_a_signed_in_coordinator(client):
    response = client.get("/manage/account")
    assert response.status_code == 302
    assert "/manage/login" in response.headers["Location"]


def test_the_account_page_shows_the_name_and_the_notification_choice(signed_in):
    html = signed_in.get("/manage/account").get_data(as_text=True)
    assert 'value="Robin Example"' in html
    assert re.search(r'<input checked[^>]*value="digest"', html)
    assert "Current password" in html


def test_changing_the_name_and_notifications_is_saved_and_audited(app, signed_in, account):
    response = save_profile(signed_in, name="Robin E. Example", notify="each")
    assert response.status_code == 303
    row = coordinator(app, account)
    assert (row.name, row.notify) == ("Robin E. Example", "each")
    [event] = audit_trail(app, "coordinator.updated")
    assert event.actor_id == account
    assert event.detail == {
        "name": ["Robin Example", "Robin E. Example"],
        "notify": ["digest", "each"],
    }


def test_choosing_no_notifications_is_kept(app, signed_in, account):
    save_profile(signed_in, name="Robin Example", notify="none")
    assert coordinator(app, account).notify == "none"


def test_saving_unchanged_details_writes_no_audit_event(app, signed_in):
    response = save_profile(signed_in, name="Robin Example", notify="digest")
    assert response.status_code == 303
    assert audit_trail(app, "coordinator.updated") == []


def test_an_unknown_notification_choice_is_refused(app, signed_in, account):
    response = save_profile(signed_in, name="Robin Example", notify="hourly")
    assert response.status_code == 400
    assert coordinator(app, account).notify == "digest"


def test_an_empty_name_is_refused_next_to_the_field(app, signed_in, account):
    response = save_profile(signed_in, name="   ", notify="digest")
    assert response.status_code == 400
    assert "Enter your name." in response.get_data(as_text=True)
    assert coordinator(app, account).name == "Robin Example"


def test_changing_the_password_needs_the_current_one(app, signed_in):
    response = change_password(signed_in, current="this is not it at all")
    assert response.status_code == 400
    assert "not your current password" in response.get_data(as_text=True)
    assert can_sign_in(app, PASSWORD)
    assert audit_trail(app, "coordinator.password_changed") == []


def test_a_new_password_must_be_typed_twice_the_same(app, signed_in):
    response = change_password(signed_in, again="a different passphrase")
    assert response.status_code == 400
    assert "not the same" in response.get_data(as_text=True)
    assert can_sign_in(app, PASSWORD)


def test_a_too_short_new_password_is_refused(app, signed_in):
    response = change_password(signed_in, new="short")
    assert response.status_code == 400
    assert can_sign_in(app, PASSWORD)


def test_changing_the_password_is_audited_and_the_new_one_works(app, signed_in, account):
    response = change_password(signed_in)
    assert response.status_code == 303
    assert [e.actor_id for e in audit_trail(app, "coordinator.password_changed")] == [account]
    assert can_sign_in(app, NEW_PASSWORD)
    assert not can_sign_in(app, PASSWORD)


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, signed_in):
    elsewhere = app.test_client()
    sign_in(elsewhere, EMAIL)
    change_password(signed_in)
    assert signed_in.get("/manage/account").status_code == 200
    assert elsewhere.get("/manage/account").status_code == 302
