"""Coordinators signing in and out: throttling, session renewal and timeouts, forgot password."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import Tokens
from signatory.models import Coordinator, SignInAttempt
from signatory.team import accounts
from signatory.team.access import SEEN_AT, SIGNED_IN_AT
from tests.conftest import (
    SECRET,
    audit_trail,
    fetch_csrf,
    html_part,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import PASSWORD, make_coordinator

EMAIL = "casey@coalition.example.org"
NEW_PASSWORD = "a brand new passphrase for casey"


@pytest.fixture
def account(app) -> int:
    with app.app_context():
        coordinator = make_coordinator(db.session, email=EMAIL)
        db.session.commit()
        return coordinator.id


def post_login(client, email=EMAIL, password=PASSWORD, address="198.51.100.7", next_=None):
    token = fetch_csrf(client, "/manage/login")
    url = "/manage/login" + (f"?next={next_}" if next_ else "")
    return client.post(
        url,
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def seed_failures(app, *, count: int, email=None, address=None, minutes_ago: int = 1) -> None:
    """Failed attempts in the database, as many sign-ins would leave them (without the hashing)."""
    when = utcnow() - timedelta(minutes=minutes_ago)
    with app.app_context():
        for n in range(count):
            db.session.add(
                SignInAttempt(
                    email_key=email or f"guess{n}@example.org",
                    address=address or f"203.0.113.{n % 250}",
                    succeeded=False,
                    created_at=when,
                )
            )
        db.session.commit()


def reset_link(app) -> str:
    """Ask for a reset through the form's service and return the emailed link's path."""
    [message] = queued_mail(app, "password_reset")
    text = text_part(render_queued(app, message.id))
    match = re.search(r"http://signatory\.test(/manage/reset/\S+)", text)
    assert match, "no reset link in the email"
    return match.group(1)


def ask_for_reset(client, email=EMAIL):
    token = fetch_csrf(client, "/manage/forgot")
    return client.post("/manage/forgot", data={"csrf_token": token, "email": email})


def choose_password(client, path, password=NEW_PASSWORD, again=None):
    token = fetch_csrf(client, path)
    return client.post(
        path,
        data={"csrf_token": token, "password": password, "password_again": again or password},
    )


def is_signed_in(client) -> bool:
    return client.get("/manage/").status_code == 200


# -- signing in --------------------------------------------------------------------------


def test_the_right_password_opens_the_workspace(client, account):
    response = post_login(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/"
    assert is_signed_in(client)


def test_a_wrong_password_is_refused_and_recorded_as_a_failed_attempt(app, client, account):
    response = post_login(client, password="not the password at all")
    assert response.status_code == 400
    assert "do not match an account" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    with app.app_context():
        [attempt] = db.session.scalars(select(SignInAttempt)).all()
        assert (attempt.email_key, attempt.succeeded) == (EMAIL, False)


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(client, account):
    unknown = post_login(client, email="nobody@example.org", password="whatever it is")
    wrong = post_login(client, password="whatever it is")
    assert unknown.status_code == wrong.status_code == 400
    message = "That email and password do not match an account."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


def test_an_over_long_password_is_refused_before_any_hashing(client, account, monkeypatch):
    def no_hashing(*args, **kwargs):
        raise AssertionError("an over-long password reached the hash")

    monkeypatch.setattr(accounts, "check_password_hash", no_hashing)
    response = post_login(client, password="x" * 1025)
    assert response.status_code == 400
    assert "longer than any password" in response.get_data(as_text=True)


def test_an_account_failing_from_many_addresses_is_throttled(app, client, account):
    seed_failures(app, count=accounts.MAX_FAILURES_PER_ACCOUNT, email=EMAIL)
    response = post_login(client, address="192.0.2.200")  # the right password, a fresh address
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_an_address_failing_across_many_accounts_is_throttled(app, client, account):
    seed_failures(app, count=accounts.MAX_FAILURES_PER_ADDRESS, address="192.0.2.66")
    response = post_login(client, address="192.0.2.66")  # an account it never tried
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_a_throttled_account_does_not_lock_out_other_accounts_or_addresses(app, client, account):
    with app.app_context():
        other = make_coordinator(db.session, email="other@coalition.example.org").email
        db.session.commit()
    seed_failures(app, count=accounts.MAX_FAILURES_PER_ACCOUNT, email=EMAIL)
    seed_failures(app, count=accounts.MAX_FAILURES_PER_ADDRESS, address="192.0.2.66")
    # Another account, from an address that has not failed: nothing global stops it.
    assert post_login(client, email=other, address="192.0.2.1").status_code == 303


def test_a_throttled_address_does_not_lock_the_account_elsewhere(app, client, account):
    seed_failures(app, count=accounts.MAX_FAILURES_PER_ADDRESS, address="192.0.2.66")
    assert post_login(client, address="192.0.2.67").status_code == 303


def test_failures_older_than_the_throttle_window_no_longer_count(app, client, account):
    window = int(accounts.THROTTLE_WINDOW.total_seconds() // 60)
    seed_failures(app, count=50, email=EMAIL, address="192.0.2.66", minutes_ago=window + 1)
    assert post_login(client, address="192.0.2.66").status_code == 303


def test_sign_in_starts_a_new_session(client, account):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert post_login(client).status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert SIGNED_IN_AT in session and SEEN_AT in session


def test_sign_in_is_audited(app, client, account):
    post_login(client)
    assert "coordinator.signed_in" in [event.action for event in audit_trail(app)]


def test_sign_in_only_follows_next_within_this_site(app, client, account):
    response = post_login(client, next_="https://evil.example/phish")
    assert response.headers["Location"] == "/manage/"
    response = post_login(app.test_client(), next_="/manage/account")
    assert response.headers["Location"] == "/manage/account"


# -- signing out and timeouts ------------------------------------------------------------


def test_signing_out_ends_the_session_and_is_audited(app, client, account):
    sign_in(client, EMAIL)
    token = fetch_csrf(client, "/manage/")
    response = client.post("/manage/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/login"
    assert not is_signed_in(client)
    assert audit_trail(app)[-1].action == "coordinator.signed_out"


def test_signing_out_needs_the_csrf_token(client, account):
    sign_in(client, EMAIL)
    assert client.post("/manage/logout").status_code == 400
    assert is_signed_in(client)


def test_a_session_idle_too_long_is_signed_out(app, client, account):
    sign_in(client, EMAIL)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session[SEEN_AT] = time.time() - idle - 5
    response = client.get("/manage/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/manage/login?next=/manage/account")
    assert not is_signed_in(client)


def test_a_session_used_within_the_idle_limit_stays_signed_in(app, client, account):
    sign_in(client, EMAIL)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session[SEEN_AT] = time.time() - idle + 60
    assert is_signed_in(client)
    with client.session_transaction() as session:
        assert session[SEEN_AT] > time.time() - 60  # activity moves the idle clock on


def test_a_session_older_than_the_absolute_limit_is_signed_out_however_active(app, client, account):
    sign_in(client, EMAIL)
    limit = app.config["SESSION_MAX_HOURS"] * 3600
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = time.time() - limit - 5
        session[SEEN_AT] = time.time()
    response = client.get("/manage/")
    assert response.status_code == 302
    assert "/manage/login" in response.headers["Location"]
    assert not is_signed_in(client)


# -- forgot password ---------------------------------------------------------------------


def test_the_sign_in_page_links_to_forgot_password(client):
    assert 'href="/manage/forgot"' in client.get("/manage/login").get_data(as_text=True)


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(app, client, account):
    known = ask_for_reset(client, EMAIL)
    unknown = ask_for_reset(client, "nobody@coalition.example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(EMAIL, "X") == unknown.get_data(
        as_text=True
    ).replace("nobody@coalition.example.org", "X")
    assert len(queued_mail(app, "password_reset")) == 1


def test_forgot_password_with_a_malformed_address_sends_nothing_and_says_the_same(app, client):
    response = ask_for_reset(client, "not an address")
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    assert queued_mail(app, "password_reset") == []


def test_reset_emails_are_capped_per_account(app, client, account):
    for _ in range(accounts.MAX_RESET_MAILS + 2):
        assert ask_for_reset(client).status_code == 200
    assert len(queued_mail(app, "password_reset")) == accounts.MAX_RESET_MAILS


def test_the_reset_email_has_an_absolute_single_use_link_in_text_and_html(app, client, account):
    ask_for_reset(client)
    [message] = queued_mail(app, "password_reset")
    email = render_queued(app, message.id)
    assert email["To"] == EMAIL
    assert "new password" in email["Subject"]
    link = re.search(r"http://signatory\.test/manage/reset/\S+", text_part(email)).group(0)
    assert link in html_part(email)
    assert "works once, for 1 hour" in text_part(email)


def test_a_reset_link_sets_the_new_password_and_signs_in(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert EMAIL in page.get_data(as_text=True)

    response = choose_password(client, path)

    assert response.status_code == 303
    assert is_signed_in(client)
    assert "coordinator.password_reset" in [event.action for event in audit_trail(app)]
    other = app.test_client()
    assert post_login(other, password=PASSWORD).status_code == 400
    assert post_login(other, password=NEW_PASSWORD).status_code == 303


def test_opening_a_reset_link_changes_nothing(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    client.get(path)
    client.get(path)
    assert post_login(app.test_client()).status_code == 303  # the old password still works
    assert choose_password(client, path).status_code == 303  # and the link still works


def test_a_reset_link_works_once(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    assert choose_password(client, path).status_code == 303
    again = app.test_client().get(path)
    assert again.status_code == 409
    assert "already been used" in again.get_data(as_text=True)


def test_resetting_the_password_signs_out_every_other_session(app, client, account):
    elsewhere = app.test_client()
    sign_in(elsewhere, EMAIL)
    ask_for_reset(client)
    choose_password(client, reset_link(app))
    assert not is_signed_in(elsewhere)
    assert is_signed_in(client)


def test_the_reset_form_refuses_passwords_that_differ_or_are_too_short(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    differ = choose_password(client, path, again="something else entirely")
    assert differ.status_code == 400
    assert "not the same" in differ.get_data(as_text=True)
    short = choose_password(client, path, password="short")
    assert short.status_code == 400
    assert "12 to 1024 characters" in short.get_data(as_text=True)
    assert post_login(app.test_client()).status_code == 303  # nothing changed


def test_an_expired_reset_link_offers_to_send_a_new_one(app, client, account):
    with app.app_context():
        coordinator = db.session.get(Coordinator, account)
        age = app.config["RESET_TOKEN_MAX_AGE"] + 5
        past = Tokens(SECRET, {}, clock=lambda: time.time() - age)
        token = past.make("sign-in", coordinator.id, coordinator.reset_nonce)
    response = client.get(f"/manage/reset/{token}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This link has expired" in html
    assert 'href="/manage/forgot"' in html


def test_a_tampered_reset_link_is_not_valid(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    response = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_a_link_made_for_another_purpose_is_not_a_reset_link(app, client, account):
    with app.app_context():
        coordinator = db.session.get(Coordinator, account)
        token = app.extensions["signatory.tokens"].make(
            "invite", coordinator.id, coordinator.reset_nonce
        )
    response = client.get(f"/manage/reset/{token}")
    assert response.status_code == 400
    assert "for something else" in response.get_data(as_text=True)


def test_posting_to_a_used_reset_link_changes_nothing(app, client, account):
    ask_for_reset(client)
    path = reset_link(app)
    choose_password(client, path)
    other = app.test_client()
    response = other.post(
        path,
        data={
            "csrf_token": fetch_csrf(other, "/manage/forgot"),
            "password": "yet another passphrase here",
            "password_again": "yet another passphrase here",
        },
    )
    assert response.status_code == 409
    assert post_login(app.test_client(), password=NEW_PASSWORD).status_code == 303


def test_a_failed_sign_in_is_recorded_not_audited(app, client, account):
    post_login(client, password="not the password at all")
    assert audit_trail(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SignInAttempt)) == 1
