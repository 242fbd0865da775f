"""Hostile tests: the emailed links, tried as an attacker (or a clumsy mail client) would.

One behaviour per test. Each says what the person sees (status and words) and that the
database, the outbox and the audit trail hold exactly what they should afterwards.
Ordinary use of the links is tested in tests/signatures/test_pages.py, tests/team/ and
tests/privacy/; the Tokens class alone in tests/core/test_tokens.py.

The design under test (signatory/core/tokens.py, DESIGN.md "Tokens"): a link carries a row
id and a nonce stored on the row, signed with the secret key and a salt per purpose; using
it rotates the nonce, so it works once. Asking again (signing again, or "email me a new
link") sends the *same* nonce in a freshly timed link, so every copy in the inbox works
until one of them is used (see the "superseded" section for why).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from sqlalchemy import select
from werkzeug.security import check_password_hash

from signatory import create_app
from signatory.core import tokens as token_module
from signatory.core.config import ConfigError
from signatory.core.extensions import db
from signatory.models import AuditEvent, Coordinator, Invitation, OutboxMessage, Signature
from tests.conftest import SECRET, add_signature, fetch_csrf, queued_mail, sign_in
from tests.core.test_tokens import Clock
from tests.factories import PASSWORD, find_letter, make_coordinator, make_letter, make_member
from tests.signatures.test_pages import sign

SLUG = "civic-space"
NEW_SECRET = "the-new-secret-key-after-rotation-long-enough-for-production"
# Each purpose's page, and the words the person sees there.
PAGES = {
    "confirm": "/confirm/{}",
    "withdraw": "/withdraw/{}",
    "sign-in": "/manage/reset/{}",
    "invite": "/manage/invite/{}",
    "manage": "/my-signature/{}",
}
NOT_VALID = "This link is not valid"
NOT_VALID_ON = {purpose: NOT_VALID for purpose in PAGES} | {
    "invite": "This invitation link is not valid"
}
EXPIRED = "This link has expired"
USED = "This link has already been used"
LIFETIMES = [("confirm", "CONFIRM_TOKEN_MAX_AGE"), ("withdraw", "WITHDRAW_TOKEN_MAX_AGE")]
ELSEWHERE = "This link is for something else"


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug=SLUG)
        db.session.commit()
    return SLUG


@pytest.fixture
def clock(app: Flask) -> Clock:
    """The app's token maker on a clock the test moves (links are made and read by it)."""
    clock = Clock()
    token_module.init_app(app, clock=clock)
    return clock


# --- Helpers --------------------------------------------------------------------------------


def unconfirmed(app: Flask, **values: Any) -> int:
    return add_signature(app, SLUG, status="unconfirmed", **values)


def published(app: Flask, **values: Any) -> int:
    return add_signature(app, SLUG, status="published", **values)


def token(app: Flask, purpose: str, signature_id: int) -> str:
    """A genuine link token for the signature, made as the mail worker makes it."""
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        nonce = {
            "confirm": signature.confirm_nonce,
            "withdraw": signature.withdraw_nonce,
            "manage": signature.manage_nonce,
        }.get(purpose, signature.confirm_nonce)
        return str(app.extensions[token_module.EXTENSION].make(purpose, signature_id, nonce))


def link(app: Flask, purpose: str, signature_id: int) -> str:
    return PAGES[purpose].format(token(app, purpose, signature_id))


def press(client: FlaskClient, url: str) -> Any:
    """POST ``url`` as its button would, with this session's CSRF token."""
    return client.post(url, data={"csrf_token": fetch_csrf(client, f"/letters/{SLUG}")})


def row(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        db.session.expunge(signature)
        return signature


def state(app: Flask) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[str]]:
    """Every signature (status and nonces), every queued email, every audit action."""
    with app.app_context():
        signatures = [
            (s.id, s.status, s.confirm_nonce, s.withdraw_nonce, s.manage_nonce, s.published_at)
            for s in db.session.scalars(select(Signature).order_by(Signature.id))
        ]
        outbox = [
            (m.template, m.to_addr)
            for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        return signatures, outbox, actions


def restarted(app: Flask, **config: Any) -> Iterator[Flask]:
    """The same site (same database and instance folder) started again with ``config``."""
    other = create_app({**app.config, "INSTANCE_PATH": app.instance_path, **config})
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def rotated(app: Flask) -> Iterator[Flask]:
    """The site restarted after a rotation: a new key, the old one kept as a fallback."""
    yield from restarted(app, SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[SECRET])


@pytest.fixture
def retired(app: Flask) -> Iterator[Flask]:
    """The site restarted once the old key is taken out of the fallbacks."""
    yield from restarted(app, SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[])


def _swap_part(token_text: str, index: int, value: bytes) -> str:
    parts = token_text.split(".")
    parts[index] = base64_encode(value).decode()
    return ".".join(parts)


# --- Malformed links ------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
@pytest.mark.parametrize("cut", ["last character", "signature", "half"])
def test_a_truncated_link_is_not_valid_and_changes_nothing(app, client, letter, purpose, cut):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    whole = token(app, purpose, signature_id)
    short = {
        "last character": whole[:-1],
        "signature": whole.rsplit(".", 1)[0],
        "half": whole[: len(whole) // 2],
    }[cut]
    before = state(app)

    page = client.get(PAGES[purpose].format(short))
    pressed = press(client, PAGES[purpose].format(short))

    assert (page.status_code, pressed.status_code) == (400, 400)
    assert NOT_VALID in page.get_data(as_text=True)
    assert NOT_VALID in pressed.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
@pytest.mark.parametrize("suffix", [".", ">", ")", "%20", "%0A"])
def test_a_link_with_a_character_added_by_a_mail_client_is_not_valid(
    app, client, letter, purpose, suffix
):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    before = state(app)

    response = press(client, PAGES[purpose].format(token(app, purpose, signature_id) + suffix))

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
@pytest.mark.parametrize("garbage", [".", "..", "a.b.c.d", "e30.AAAAAA.AAAA", "null", "-_-_"])
def test_pressing_a_garbage_link_is_not_valid_and_changes_nothing(
    app, client, letter, purpose, garbage
):
    published(app)
    before = state(app)

    response = press(client, PAGES[purpose].format(garbage))

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("purpose", list(PAGES))
@pytest.mark.parametrize(
    "encoded",
    ["%FF%FE%FD", "%C0%AE%C0%AE", "%ED%A0%80", "%00", "%E2%80%AE", "%EF%BB%BF", "%F0%9F%99%82"],
)
def test_non_utf8_and_percent_encoded_bytes_in_a_link_get_the_not_valid_page(
    app, client, letter, purpose, encoded
):
    before = state(app)

    response = client.get(PAGES[purpose].format(f"eyJpZCI6MX0.{encoded}.x"))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert NOT_VALID_ON[purpose] in page
    assert "Traceback" not in page
    assert state(app) == before


def test_an_encoded_slash_in_a_link_is_an_unknown_page(app, client, letter):
    response = client.get("/confirm/abc%2F..%2F..%2Fmanage")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)


@pytest.mark.parametrize("purpose", list(PAGES))
def test_a_very_long_link_gets_the_not_valid_page(app, client, letter, purpose):
    signature_id = published(app)
    long = token(app, "withdraw", signature_id) + "A" * 20_000
    before = state(app)

    response = client.get(PAGES[purpose].format(long))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert NOT_VALID_ON[purpose] in page
    assert state(app) == before


# --- Expiry, at the second -------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "lifetime"), LIFETIMES)
def test_a_link_still_works_one_second_before_its_lifetime_ends(
    app, client, letter, clock, purpose, lifetime
):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)
    clock.now += app.config[lifetime] - 1

    assert client.get(url).status_code == 200
    response = press(client, url)

    assert response.status_code == 200
    expected = "published" if purpose == "confirm" else "withdrawn"
    assert row(app, signature_id).status == expected


@pytest.mark.parametrize(("purpose", "lifetime"), LIFETIMES)
@pytest.mark.parametrize("late", [0, 1, 3600])
def test_a_link_is_expired_from_the_second_its_lifetime_ends_and_offers_a_new_one(
    app, client, letter, clock, purpose, lifetime, late
):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)
    clock.now += app.config[lifetime] + late
    before = state(app)

    page = client.get(url)
    pressed = press(client, url)

    assert (page.status_code, pressed.status_code) == (410, 410)
    for response in (page, pressed):
        html = response.get_data(as_text=True)
        assert EXPIRED in html
        assert "Email me a new link" in html
        assert f'action="{url}/resend"' in html
    assert state(app) == before


def test_an_expired_withdraw_link_sends_a_fresh_one_to_the_address_on_record(
    app, client, letter, clock
):
    signature_id = published(app, email="leaving@org.example.org")
    url = link(app, "withdraw", signature_id)
    clock.now += app.config["WITHDRAW_TOKEN_MAX_AGE"]

    response = press(client, f"{url}/resend")

    assert response.status_code == 200
    assert "new link" in response.get_data(as_text=True)
    assert [(m.template, m.to_addr) for m in queued_mail(app)] == [
        ("withdraw_link", "leaving@org.example.org")
    ]
    assert row(app, signature_id).status == "published"
    # The fresh link, made now, works; the expired one stays expired.
    fresh = link(app, "withdraw", signature_id)
    assert client.get(fresh).status_code == 200
    assert client.get(url).status_code == 410


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_asking_to_resend_a_link_that_still_works_sends_nothing(app, client, letter, purpose):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)
    before = state(app)

    response = press(client, f"{url}/resend")

    assert response.status_code == 303
    assert response.headers["Location"] == url
    assert state(app) == before


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_asking_to_resend_a_garbage_link_sends_nothing(app, client, letter, purpose):
    published(app)
    before = state(app)

    response = press(client, PAGES[purpose].format("eyJpZCI6MX0.garbage.x") + "/resend")

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


def test_resending_is_a_post_only(app, client, letter, clock):
    signature_id = unconfirmed(app)
    url = link(app, "confirm", signature_id)
    clock.now += app.config["CONFIRM_TOKEN_MAX_AGE"]
    before = state(app)

    response = client.get(f"{url}/resend")

    assert response.status_code == 405
    assert state(app) == before


# --- Tampering ------------------------------------------------------------------------------


def test_a_payload_changed_to_name_another_signature_is_not_valid(app, client, letter):
    mine, theirs = unconfirmed(app), unconfirmed(app)
    original = token(app, "confirm", mine)
    their_nonce = row(app, theirs).confirm_nonce
    forged = _swap_part(
        original, 0, json.dumps({"id": theirs, "n": their_nonce}, separators=(",", ":")).encode()
    )
    before = state(app)

    page = client.get(f"/confirm/{forged}")
    pressed = press(client, f"/confirm/{forged}")

    assert (page.status_code, pressed.status_code) == (400, 400)
    assert NOT_VALID in pressed.get_data(as_text=True)
    assert state(app) == before


def test_a_timestamp_moved_forward_does_not_revive_an_expired_link(app, client, letter, clock):
    signature_id = unconfirmed(app)
    original = token(app, "confirm", signature_id)
    clock.now += app.config["CONFIRM_TOKEN_MAX_AGE"] + 60
    stamp = int(clock.now).to_bytes(4, "big")
    revived = _swap_part(original, 1, stamp)
    before = state(app)

    response = press(client, f"/confirm/{revived}")

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


def test_a_withdraw_link_with_a_changed_signature_keeps_the_signature_on_the_list(
    app, client, letter
):
    signature_id = published(app)
    original = token(app, "withdraw", signature_id)
    signature = bytearray(base64_decode(original.rsplit(".", 1)[1]))
    signature[0] ^= 0x01
    tampered = _swap_part(original, 2, bytes(signature))
    before = state(app)

    response = press(client, f"/withdraw/{tampered}")

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before
    assert row(app, signature_id).status == "published"


def test_a_link_signed_with_a_guessed_empty_key_is_not_valid(app, client, letter):
    signature_id = unconfirmed(app)
    nonce = row(app, signature_id).confirm_nonce
    forged = URLSafeTimedSerializer("", salt="signatory.confirm").dumps(
        {"id": signature_id, "n": nonce}
    )
    before = state(app)

    response = press(client, f"/confirm/{forged}")

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


# --- Another purpose's link -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("made_for", "used_on", "says"),
    [
        ("withdraw", "confirm", "made for withdrawing a signature, not for confirming one"),
        ("manage", "confirm", "made for the page of your signature, not for confirming one"),
        ("sign-in", "confirm", "made for signing in, not for confirming one"),
        ("confirm", "withdraw", "made for confirming a signature, not for withdrawing one"),
        ("invite", "withdraw", "made for an invitation, not for withdrawing one"),
    ],
)
def test_a_link_of_another_purpose_says_what_it_is_for_and_changes_nothing(
    app, client, letter, made_for, used_on, says
):
    signature_id = published(app) if used_on == "withdraw" else unconfirmed(app)
    url = PAGES[used_on].format(token(app, made_for, signature_id))
    before = state(app)

    page = client.get(url)
    pressed = press(client, url)

    assert (page.status_code, pressed.status_code) == (400, 400)
    html = pressed.get_data(as_text=True)
    assert ELSEWHERE in html and says in html
    assert state(app) == before


def test_an_invitation_link_is_not_a_password_reset_link(app, client, letter):
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        owner = make_member(db.session, the_letter, role="owner")
        invitation = Invitation(
            letter_id=the_letter.id,
            email=owner.email,
            role="editor",
            invited_by_id=owner.id,
        )
        db.session.add(invitation)
        db.session.flush()
        invite_token = app.extensions[token_module.EXTENSION].make(
            "invite", invitation.id, invitation.nonce
        )
        password_hash, reset_nonce = owner.password_hash, owner.reset_nonce
        owner_id = owner.id
        db.session.commit()
    url = f"/manage/reset/{invite_token}"

    page = client.get(url)
    pressed = client.post(
        url,
        data={
            "csrf_token": fetch_csrf(client, "/manage/login"),
            "password": "an entirely new passphrase",
            "password_again": "an entirely new passphrase",
        },
    )

    assert (page.status_code, pressed.status_code) == (400, 400)
    html = pressed.get_data(as_text=True)
    assert ELSEWHERE in html
    assert "made for an invitation, not for choosing a new password" in html
    with app.app_context():
        coordinator = db.session.get(Coordinator, owner_id)
        assert (coordinator.password_hash, coordinator.reset_nonce) == (password_hash, reset_nonce)
        assert list(db.session.scalars(select(AuditEvent.action))) == []


# --- Key rotation -----------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_a_link_made_with_the_old_key_works_while_that_key_is_a_fallback(
    app, letter, rotated, purpose
):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)  # emailed before the rotation
    client = rotated.test_client()

    assert client.get(url).status_code == 200
    response = press(client, url)

    assert response.status_code == 200
    expected = "published" if purpose == "confirm" else "withdrawn"
    assert row(app, signature_id).status == expected


def test_the_manage_link_of_the_old_key_opens_the_signers_page_through_the_fallback(
    app, letter, rotated
):
    signature_id = published(app, organization="Rotating Org")
    url = link(app, "manage", signature_id)
    before = state(app)

    response = rotated.test_client().get(url)

    assert response.status_code == 200
    assert "Rotating Org" in response.get_data(as_text=True)
    assert state(app) == before


def test_an_invitation_link_of_the_old_key_opens_the_invitation_through_the_fallback(
    app, letter, rotated
):
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        owner = make_member(db.session, the_letter, role="owner")
        invitation = Invitation(
            letter_id=the_letter.id,
            email="newcomer@coalition.example.org",
            role="editor",
            invited_by_id=owner.id,
        )
        db.session.add(invitation)
        db.session.commit()
        url = PAGES["invite"].format(
            app.extensions[token_module.EXTENSION].make("invite", invitation.id, invitation.nonce)
        )

    response = rotated.test_client().get(url)

    assert response.status_code == 200
    assert "newcomer@coalition.example.org" in response.get_data(as_text=True)
    assert state(app)[2] == []


@pytest.mark.parametrize("purpose", list(PAGES))
def test_a_link_made_with_a_key_removed_from_the_fallbacks_is_not_valid(
    app, letter, retired, purpose
):
    signature_id = published(app)
    url = link(app, purpose, signature_id)
    before = state(app)

    response = retired.test_client().get(url)

    assert response.status_code == 400
    assert NOT_VALID_ON[purpose] in response.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_pressing_a_link_of_a_retired_key_changes_nothing(app, letter, retired, purpose):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)
    before = state(app)

    response = press(retired.test_client(), url)

    assert response.status_code == 400
    assert NOT_VALID in response.get_data(as_text=True)
    assert state(app) == before


def test_after_a_rotation_new_links_are_signed_with_the_new_key(app, letter, rotated):
    signature_id = unconfirmed(app)
    new_link = link(rotated, "confirm", signature_id)

    # The site before the rotation (the old key only) cannot read it: it was not signed
    # with the old key; the site with the new key alone can.
    assert app.test_client().get(new_link).status_code == 400
    for retired_app in restarted(app, SECRET_KEY=NEW_SECRET, SECRET_KEY_FALLBACKS=[]):
        assert retired_app.test_client().get(new_link).status_code == 200


def test_an_expired_link_of_the_old_key_still_offers_a_new_one_through_the_fallback(
    app, letter, rotated
):
    signature_id = unconfirmed(app)
    url = link(app, "confirm", signature_id)
    token_module.init_app(rotated, clock=lambda: Clock().now + 10**9)
    client = rotated.test_client()

    page = client.get(url)
    response = client.post(
        f"{url}/resend", data={"csrf_token": fetch_csrf(client, f"/letters/{SLUG}")}
    )

    assert page.status_code == 410
    assert EXPIRED in page.get_data(as_text=True)
    assert response.status_code == 200
    assert [m.template for m in queued_mail(app)] == ["confirm_request"]


@pytest.fixture
def coordinator(app: Flask, letter: str) -> str:
    with app.app_context():
        email = make_member(db.session, find_letter(db.session, SLUG), role="owner").email
        db.session.commit()
    return email


def _carry_session(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value, domain=cookie.domain)


def test_a_signed_in_coordinator_stays_signed_in_across_a_rotation_with_the_fallback(
    app, client, coordinator, rotated
):
    sign_in(client, coordinator)
    after = rotated.test_client()
    _carry_session(client, after)

    response = after.get("/manage/")

    assert response.status_code == 200
    assert "Casey Coordinator" in response.get_data(as_text=True)


def test_a_signed_in_coordinator_must_sign_in_again_once_the_old_key_is_retired(
    app, client, coordinator, retired
):
    sign_in(client, coordinator)
    after = retired.test_client()
    _carry_session(client, after)

    response = after.get("/manage/")

    assert response.status_code in (302, 303)
    assert "/manage/login" in response.headers["Location"]


def test_a_button_page_opened_before_a_rotation_asks_for_a_reload_and_then_works(
    app, client, letter, rotated
):
    # Flask-WTF signs the form's CSRF token with the current key only: the press is refused
    # as any stale form is, nothing changes, and the page opened again works.
    signature_id = unconfirmed(app)
    url = link(app, "confirm", signature_id)
    stale = fetch_csrf(client, url)
    after = rotated.test_client()
    _carry_session(client, after)
    before = state(app)

    refused = after.post(url, data={"csrf_token": stale})

    assert refused.status_code == 400
    assert "Reload the page" in refused.get_data(as_text=True)
    assert state(app) == before
    assert after.post(url, data={"csrf_token": fetch_csrf(after, url)}).status_code == 200
    assert row(app, signature_id).status == "published"


def test_the_fallback_keys_come_from_the_environment_as_a_json_list(app, monkeypatch):
    monkeypatch.setenv("SIGNATORY_SECRET_KEY_FALLBACKS", json.dumps(["o" * 40, "p" * 40]))
    other = create_app({"INSTANCE_PATH": app.instance_path, "SECRET_KEY": NEW_SECRET})
    assert other.config["SECRET_KEY_FALLBACKS"] == ["o" * 40, "p" * 40]


@pytest.mark.parametrize(
    ("fallbacks", "says"),
    [
        ("old-key-as-a-plain-string", "got a str"),
        ([""], "got a list with an empty or non-text entry"),
        ([42], "got a list with an empty or non-text entry"),
    ],
)
def test_fallback_keys_that_are_not_a_list_of_keys_stop_the_start(app, fallbacks, says):
    with pytest.raises(ConfigError) as refused:
        create_app(
            {
                "INSTANCE_PATH": app.instance_path,
                "SECRET_KEY": NEW_SECRET,
                "SECRET_KEY_FALLBACKS": fallbacks,
            }
        )
    message = str(refused.value)
    assert "SIGNATORY_SECRET_KEY_FALLBACKS must be a JSON list" in message
    assert says in message
    # A secret is never repeated into logs.
    assert "old-key-as-a-plain-string" not in message


def test_a_short_fallback_key_stops_the_start_in_production(app):
    with pytest.raises(ConfigError) as refused:
        create_app(
            {
                **app.config,
                "INSTANCE_PATH": app.instance_path,
                "ENV_PRODUCTION": True,
                "USING_GENERATED_SECRET": False,
                "USING_DEFAULT_DATABASE": False,
                "USING_DEFAULT_MAIL": False,
                "SECRET_KEY": NEW_SECRET,
                "SECRET_KEY_FALLBACKS": ["short"],
            }
        )
    assert "each key must be at least 32 characters in production" in str(refused.value)


# --- Reused -------------------------------------------------------------------------------------


def test_a_withdraw_link_pressed_twice_withdraws_once(app, client, letter):
    signature_id = published(app)
    url = link(app, "withdraw", signature_id)
    assert press(client, url).status_code == 200
    after_first = state(app)

    again = press(client, url)

    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert USED in html and "This signature has been withdrawn" in html
    assert state(app) == after_first
    assert [m.template for m in queued_mail(app)] == ["withdrawal_receipt"]
    assert after_first[2].count("signature.withdrawn") == 1


def test_a_confirm_link_used_once_cannot_confirm_a_withdrawn_signature_again(app, client, letter):
    signature_id = unconfirmed(app)
    confirm_url = link(app, "confirm", signature_id)
    assert press(client, confirm_url).status_code == 200
    assert press(client, link(app, "withdraw", signature_id)).status_code == 200
    before = state(app)

    response = press(client, confirm_url)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert USED in html and "This signature has been withdrawn" in html
    assert state(app) == before
    assert row(app, signature_id).status == "withdrawn"


# --- Superseded by a new link ------------------------------------------------------------------
#
# Signing again, or "email me a new link", sends the same nonce in a freshly timed token: it
# does not retire the links already sent. That is deliberate. Anybody can sign with anybody's
# address, and the answer is the same page whoever does it; if asking again retired the
# earlier link, a stranger could keep breaking the link in a signer's inbox just by typing
# their address into the form. Every copy goes only to the address on the signature, so an
# older copy gives nobody anything a newer one does not; and once any copy is used, the
# nonce turns and every copy is used.


def test_an_earlier_confirm_link_still_works_after_signing_again_sent_a_new_one(
    app, client, letter, clock
):
    assert sign(client).status_code == 303
    [signature] = [row(app, s[0]) for s in state(app)[0]]
    first = link(app, "confirm", signature.id)
    clock.now += 60
    assert sign(app.test_client()).status_code == 303  # anyone, with the same address
    second = link(app, "confirm", signature.id)
    assert first != second
    assert [m.template for m in queued_mail(app)] == ["confirm_request", "confirm_request"]

    response = press(client, first)

    assert response.status_code == 200
    assert row(app, signature.id).status == "published"


def test_once_one_copy_of_a_link_is_used_every_other_copy_is_used(app, client, letter, clock):
    signature_id = unconfirmed(app)
    first = link(app, "confirm", signature_id)
    clock.now += 60
    second = link(app, "confirm", signature_id)
    assert press(client, second).status_code == 200
    before = state(app)

    response = press(client, first)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert USED in html and "Your signature is confirmed and on the public list" in html
    assert state(app) == before
    assert before[2].count("signature.confirmed") == 1


def test_a_new_invitation_retires_the_earlier_invitation_link(app, client, coordinator):
    # Invitations are the other way round: an owner re-inviting replaces the pending one
    # (only an owner can invite, so nobody outside can use this to break a link).
    sign_in(client, coordinator)
    for _ in range(2):
        response = client.post(
            f"/manage/letters/{SLUG}/team/invite",
            data={
                "csrf_token": fetch_csrf(client, f"/manage/letters/{SLUG}/team"),
                "email": "invited@coalition.example.org",
                "role": "editor",
            },
        )
        assert response.status_code in (200, 303)
    with app.app_context():
        old, new = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        tokens = app.extensions[token_module.EXTENSION]
        old_url = f"/manage/invite/{tokens.make('invite', old.id, old.nonce)}"
        new_url = f"/manage/invite/{tokens.make('invite', new.id, new.nonce)}"
    stranger = app.test_client()

    assert stranger.get(new_url).status_code == 200
    response = stranger.get(old_url)
    assert response.status_code == 410
    assert "This invitation was withdrawn" in response.get_data(as_text=True)


# --- Links of withdrawn, rejected and deleted signatures ---------------------------------------


def test_the_withdraw_link_of_a_rejected_signature_says_it_was_not_accepted(app, client, letter):
    signature_id = add_signature(app, SLUG, status="rejected")
    url = link(app, "withdraw", signature_id)
    before = state(app)

    page = client.get(url)
    pressed = press(client, url)

    assert (page.status_code, pressed.status_code) == (409, 409)
    html = pressed.get_data(as_text=True)
    assert USED in html and "This signature was not accepted by the letter's coordinators." in html
    assert state(app) == before


def test_the_confirm_link_of_a_signature_rejected_before_confirmation_confirms_nothing(
    app, client, letter
):
    signature_id = add_signature(app, SLUG, status="rejected")
    before = state(app)

    response = press(client, link(app, "confirm", signature_id))

    assert response.status_code == 409
    assert "This signature was not accepted" in response.get_data(as_text=True)
    assert state(app) == before


def test_an_expired_link_of_a_rejected_signature_sends_no_new_one(app, client, letter, clock):
    signature_id = add_signature(app, SLUG, status="rejected")
    url = link(app, "confirm", signature_id)
    clock.now += app.config["CONFIRM_TOKEN_MAX_AGE"]
    before = state(app)

    response = press(client, f"{url}/resend")

    assert response.status_code == 409
    assert "This signature was not accepted" in response.get_data(as_text=True)
    assert state(app) == before


def test_an_expired_link_of_a_withdrawn_signature_sends_no_new_one(app, client, letter, clock):
    signature_id = add_signature(app, SLUG, status="withdrawn")
    url = link(app, "withdraw", signature_id)
    clock.now += app.config["WITHDRAW_TOKEN_MAX_AGE"]
    before = state(app)

    response = press(client, f"{url}/resend")

    assert response.status_code == 409
    assert "This signature has been withdrawn" in response.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
def test_the_link_of_a_deleted_signature_says_it_no_longer_exists(app, client, letter, purpose):
    signature_id = unconfirmed(app)
    url = link(app, purpose, signature_id)
    with app.app_context():
        db.session.delete(db.session.get(Signature, signature_id))
        db.session.commit()
    before = state(app)

    page = client.get(url)
    pressed = press(client, url)

    assert (page.status_code, pressed.status_code) == (410, 410)
    assert "This signature no longer exists" in pressed.get_data(as_text=True)
    assert state(app) == before


# --- GET and HEAD never change anything (mail scanners open links) -----------------------------


@pytest.mark.parametrize("purpose", ["confirm", "withdraw"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_a_link_any_number_of_times_changes_nothing(app, client, letter, purpose, method):
    signature_id = unconfirmed(app) if purpose == "confirm" else published(app)
    url = link(app, purpose, signature_id)
    before = state(app)

    answers = [client.open(url, method=method) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5
    if method == "HEAD":
        assert all(answer.get_data() == b"" for answer in answers)
    assert all(answer.headers["Cache-Control"] == "no-store" for answer in answers)
    assert state(app) == before
    assert press(client, url).status_code == 200  # and the link still works


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_an_expired_link_sends_no_new_one(app, client, letter, clock, method):
    signature_id = unconfirmed(app)
    url = link(app, "confirm", signature_id)
    clock.now += app.config["CONFIRM_TOKEN_MAX_AGE"]
    before = state(app)

    assert client.open(url, method=method).status_code == 410

    assert state(app) == before


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_a_reset_link_changes_no_password_and_keeps_the_link(app, client, method):
    with app.app_context():
        account = make_coordinator(db.session)
        db.session.commit()
        url = PAGES["sign-in"].format(
            app.extensions[token_module.EXTENSION].make("sign-in", account.id, account.reset_nonce)
        )
        account_id, password_hash, nonce = account.id, account.password_hash, account.reset_nonce

    assert client.open(url, method=method).status_code == 200

    with app.app_context():
        account = db.session.get(Coordinator, account_id)
        assert (account.password_hash, account.reset_nonce) == (password_hash, nonce)
        assert list(db.session.scalars(select(AuditEvent.action))) == []


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_a_manage_link_changes_nothing(app, client, letter, method):
    signature_id = published(app)
    url = link(app, "manage", signature_id)
    before = state(app)

    assert client.open(url, method=method).status_code == 200

    assert state(app) == before


def test_a_password_reset_works_with_a_link_of_the_old_key_through_the_fallback(
    app, coordinator, rotated
):
    with app.app_context():
        account = db.session.scalar(select(Coordinator).where(Coordinator.email == coordinator))
        url = PAGES["sign-in"].format(
            app.extensions[token_module.EXTENSION].make("sign-in", account.id, account.reset_nonce)
        )
    client = rotated.test_client()
    form = fetch_csrf(client, url)

    response = client.post(
        url,
        data={
            "csrf_token": form,
            "password": "a brand new passphrase for this",
            "password_again": "a brand new passphrase for this",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/manage/")
    assert state(app)[2] == ["coordinator.password_reset"]
    # The link turned: it cannot be used a second time.
    assert client.get(url).status_code == 409
    with app.app_context():
        account = db.session.scalar(select(Coordinator).where(Coordinator.email == coordinator))
        assert not check_password_hash(account.password_hash, PASSWORD)
