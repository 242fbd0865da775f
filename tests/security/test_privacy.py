"""Privacy, tried as an attacker would: nothing personal in public, erasure that leaves the
published list as it was, and a signer's page nobody else can open.

Every public page, feed, download, widget and API answer is walked for letters with
signatures in every status (open and delivered) and for the demo data; each signer's
email (as stored, lower- and upper-cased, URL-encoded), its comparison key, its local
part, its client-address prefix and its language tag are searched for in the bytes.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import Tokens, current_tokens
from signatory.delivery import service as delivery_service
from signatory.mail.registry import Undeliverable
from signatory.models import Delivery, Letter, OutboxMessage, Signature
from signatory.privacy import retention
from tests.conftest import SECRET, fetch_csrf, queued_mail, render_queued
from tests.factories import make_letter, make_member, make_signature

STATUSES = ("published", "pending_review", "unconfirmed", "withdrawn", "rejected")


# --- What is secret, and where to look for it ---------------------------------------------


def _seed_letter(session: Any, slug: str, *, serial: int) -> Letter:
    """A letter with an organization and an individual in every status, each easy to find."""
    letter = make_letter(session, slug=slug, title=f"Letter {slug}")
    n = 0
    for status in STATUSES:
        for kind in ("organization", "individual"):
            n += 1
            tag = f"{serial}x{n}"
            make_signature(
                session,
                letter,
                kind=kind,
                status=status,
                organization=f"Org {tag} {status}",
                name=f"Person {tag} {status}",
                email=f"Probe.Secret{tag}+Tag@Leak-Check.example",
                language=f"x-probe{tag}",
                client_prefix=f"198.51.{serial * 20 + n}.0/24",
                moderation_reason=f"Reason {tag} private" if status == "rejected" else None,
            )
    return letter


def _deliver(session: Any, letter: Letter, *, days_ago: int = 0) -> None:
    owner = make_member(session, letter, role="owner")
    when = utcnow() - timedelta(days=days_ago)
    delivery_service.deliver(
        session,
        letter,
        delivery_service.DeliveryData(
            delivered_to="Chair of the Committee", delivered_at=when, method="by email"
        ),
        actor=owner,
        now=when,
    )


def _secrets(signature: Signature) -> list[str]:
    email = signature.email
    local = email.split("@", 1)[0]
    forms = [
        email,
        email.lower(),
        email.upper(),
        quote(email),
        quote(email, safe=""),
        quote_plus(email),
        quote(email.lower(), safe=""),
        signature.email_key,
    ]
    public = " ".join(filter(None, (signature.name, signature.organization, signature.website)))
    if local.lower() not in public.lower():
        # The local part alone, unless it is public anyway ("maya@" signing as Maya).
        forms += [local.lower(), quote(local.lower(), safe="")]
    if signature.client_prefix:
        forms += [signature.client_prefix, quote(signature.client_prefix, safe="")]
    if signature.language and signature.language.startswith("x-probe"):
        forms.append(signature.language)
    return forms


def _public_urls(app: Flask, slugs: list[str]) -> Iterator[str]:
    """Every public GET URL of the app, for each letter; the signer's own links left out."""
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if "token" in rule.arguments:
            # The signer's own pages (a link only they were emailed) may show their address.
            continue
        if rule.endpoint.startswith("manage."):
            continue
        if "slug" not in rule.arguments:
            yield rule.build({"code": "fr"} if "code" in rule.arguments else {})[1]
            continue
        for slug in slugs:
            values: dict[str, Any] = {"slug": slug}
            if "number" in rule.arguments:
                values["number"] = 1
            if "logo_id" in rule.arguments:
                # A logo's address names its image (an id and the start of its hash); the
                # logo wall, walked too, links each real one.
                values.update(logo_id=1, digest="00000000")
            yield rule.build(values)[1]
    for slug in slugs:
        yield f"/letters/{slug}/signatories?section=individuals"
        yield f"/letters/{slug}/signatories?sort=name&q=Person"
        yield f"/letters/{slug}/signatories.csv?section=individuals"
        yield f"/letters/{slug}/versions/compare?from=1&to=1"
        yield f"/api/v1/letters/{slug}/signatures?limit=100&kind=individual"
        yield f"/api/v1/letters/{slug}/signatures?limit=100&q=Person"
    yield "/my-signature"
    yield "/?page=1"


def _response_bytes(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code < 500, f"{url} answered {response.status_code}"
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers.encode() + b"\n\n" + response.get_data()


_STATIC_DOCUMENTS = ("/api/v1/openapi.json", "/api/v1/docs")


def _leaks(app: Flask, client: FlaskClient, signatures: list[Signature]) -> list[str]:
    slugs = sorted({s.letter.slug for s in signatures})
    bodies = {url: _response_bytes(client, url) for url in _public_urls(app, slugs)}
    found = []
    for url, body in bodies.items():
        lowered = body.lower()
        for signature in signatures:
            for secret in _secrets(signature):
                if secret.encode() in body or secret.lower().encode() in lowered:
                    found.append(f"{url} holds {secret!r} of signature {signature.id}")
            # Not on the list: not even its name is public. (The API's documents are static
            # text whose example happens to use a name the demo also uses.)
            if (
                signature.status != "published"
                and url not in _STATIC_DOCUMENTS
                and signature.name.encode() in body
            ):
                found.append(f"{url} names {signature.status} signature {signature.id}")
    return found


def _all_signatures(app: Flask) -> list[Signature]:
    with app.app_context():
        signatures = list(
            db.session.scalars(select(Signature).options(_letter_option()).order_by(Signature.id))
        )
        db.session.expunge_all()
        return signatures


def _letter_option() -> Any:
    from sqlalchemy.orm import joinedload

    return joinedload(Signature.letter)


# --- Nothing personal in public ------------------------------------------------------------


def test_no_public_response_holds_an_email_key_prefix_or_language_of_any_signer(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        _seed_letter(db.session, "open-letter", serial=1)
        delivered = _seed_letter(db.session, "handed-over", serial=2)
        _deliver(db.session, delivered)
        db.session.commit()
    signatures = _all_signatures(app)
    assert len(signatures) == 20

    assert _leaks(app, client, signatures) == []


def test_the_walk_would_see_a_leak(app: Flask, client: FlaskClient) -> None:
    """The search above is not blind: an address typed as a name is found at once."""
    with app.app_context():
        letter = _seed_letter(db.session, "open-letter", serial=1)
        leaky = make_signature(db.session, letter, name="x@leak-check.example")
        leaky.email = "X@Leak-Check.example"
        db.session.commit()
    signatures = [s for s in _all_signatures(app) if s.email == "X@Leak-Check.example"]

    assert _leaks(app, client, signatures) != []


def test_no_public_response_of_the_demo_holds_a_signers_email(
    app: Flask, client: FlaskClient, runner: Any
) -> None:
    assert runner.invoke(args=["demo"]).exit_code == 0
    signatures = _all_signatures(app)
    assert len(signatures) > 10

    assert _leaks(app, client, signatures) == []


# --- Erasure leaves the published list exactly as delivered -------------------------------

_PUBLISHED_ANSWERS = (
    "/letters/{slug}/signatories",
    "/letters/{slug}/signatories.csv",
    "/letters/{slug}/signatories.json",
    "/letters/{slug}/delivered",
    "/letters/{slug}/delivered.csv",
    "/letters/{slug}/feed.atom",
    "/letters/{slug}/widget",
    "/api/v1/letters/{slug}",
    "/api/v1/letters/{slug}/signatures?limit=100",
)


# The one part of an answer that is about the request, not the list: when it was made.
_GENERATED_AT = re.compile(rb'"generated_at": "[^"]+"')


def _published(client: FlaskClient, slug: str) -> dict[str, tuple[int, bytes, str | None]]:
    answers = {}
    for pattern in _PUBLISHED_ANSWERS:
        response = client.get(pattern.format(slug=slug))
        body = _GENERATED_AT.sub(b'"generated_at": "..."', response.get_data())
        answers[pattern] = (response.status_code, body, response.headers.get("ETag"))
    return answers


def test_erasure_after_delivery_leaves_every_published_answer_byte_identical(
    app: Flask, client: FlaskClient, runner: Any
) -> None:
    with app.app_context():
        letter = _seed_letter(db.session, "handed-over", serial=3)
        _deliver(db.session, letter, days_ago=app.config["DELIVERED_RETENTION_DAYS"] + 1)
        db.session.commit()
        sha256 = db.session.scalars(select(Delivery)).one().sha256
    before = _published(client, "handed-over")

    result = runner.invoke(args=["privacy", "purge"])

    assert "Signatures of delivered letters erased (90 days after delivery): 10" in result.output
    after = _published(client, "handed-over")
    assert {k: v[0] for k, v in before.items()} == dict.fromkeys(_PUBLISHED_ANSWERS, 200)
    assert after == before
    with app.app_context():
        frozen = db.session.scalars(select(Delivery)).one()
        assert hashlib.sha256(frozen.csv_bytes).hexdigest() == sha256 == frozen.sha256
        left = db.session.scalars(select(Signature)).all()
        # The two unconfirmed are gone; every other row keeps no address of its signer.
        assert len(left) == 8
        assert all(s.email == f"erased-{s.id}@erased.invalid" for s in left)
        assert all(s.language is None and s.client_prefix is None for s in left)


def test_erasing_withdrawn_and_rejected_signatures_leaves_the_public_list_identical(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        _seed_letter(db.session, "open-letter", serial=4)
        db.session.commit()
    before = _published(client, "open-letter")
    with app.app_context():
        count = retention.erase_ended(db.session, now=utcnow() + timedelta(days=31), days=30)
        db.session.commit()

    assert count == 4
    assert _published(client, "open-letter") == before


def test_an_email_waiting_for_an_erased_signature_is_never_sent(app: Flask) -> None:
    with app.app_context():
        letter = make_letter(db.session)
        signature = make_signature(db.session, letter)
        message = OutboxMessage(
            template="withdraw_link",
            to_addr=signature.email,
            context={"signature_id": signature.id},
            signature_id=signature.id,
        )
        db.session.add(message)
        retention.erase_private(signature, now=utcnow())
        db.session.commit()
        message_id = message.id

    with pytest.raises(Undeliverable, match="erased"):
        render_queued(app, message_id)


# --- "Send me my link" answers the same whatever the database holds ------------------------


def _ask_for_link(client: FlaskClient, email: str, letter: str) -> tuple[int, str, str]:
    response = client.post(
        "/my-signature",
        data={"csrf_token": fetch_csrf(client, "/my-signature"), "email": email, "letter": letter},
    )
    page = response.get_data(as_text=True).replace(email, "EMAIL")
    return (
        response.status_code,
        re.sub(r'value="[^"]{20,}"', 'value="…"', page),
        str(sorted(response.headers.items())).replace(str(len(response.get_data())), "N"),
    )


def test_send_me_my_link_answers_the_same_for_a_signer_and_a_stranger(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, email="signer@org.example")
        db.session.commit()

    signer = _ask_for_link(client, "signer@org.example", "civic")
    stranger = _ask_for_link(client, "nobody@org.example", "civic")

    assert signer[0] == stranger[0] == 200
    assert signer[1] == stranger[1]
    assert [m.to_addr for m in queued_mail(app, "manage_link")] == ["signer@org.example"]


def test_send_me_my_link_mails_only_the_address_on_record(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, email="ada.lovelace@gmail.com")
        db.session.commit()

    # Gmail ignores dots, tags and case: the same key, but the link goes to the stored address.
    status, _page, _headers = _ask_for_link(client, "AdaLovelace+attacker@GMAIL.com", "civic")

    assert status == 200
    assert [m.to_addr for m in queued_mail(app, "manage_link")] == ["ada.lovelace@gmail.com"]


def test_send_me_my_link_sends_no_more_than_the_daily_cap_and_answers_the_same(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, email="asked@often.example")
        db.session.commit()
    cap = app.config["SIGNER_EMAILS_PER_SIGNATURE_PER_DAY"]

    answers = {_ask_for_link(client, "asked@often.example", "civic")[:2] for _ in range(cap + 3)}

    assert len(answers) == 1 and next(iter(answers))[0] == 200
    assert len(queued_mail(app, "manage_link")) == cap


def test_send_me_my_link_is_rate_limited_per_client_address(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        make_letter(db.session, slug="civic")
        db.session.commit()
    per_minute = 10  # SIGN_RATE_LIMIT's first rate, spent with the links' budget
    statuses = [_ask_for_link(client, f"n{i}@nobody.example", "civic")[0] for i in range(12)]
    assert statuses == [200] * per_minute + [429, 429]
    assert queued_mail(app, "manage_link") == []
    limited = client.post(
        "/my-signature",
        data={"csrf_token": fetch_csrf(client, "/my-signature"), "email": "x@y.example"},
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


# --- The manage link: one signature, one purpose, until a change -----------------------------


def _two_signers(app: Flask) -> tuple[int, int]:
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        first = make_signature(db.session, letter, email="first@one.example", name="First One")
        second = make_signature(db.session, letter, email="second@two.example", name="Second Two")
        db.session.commit()
        return first.id, second.id


def _token(app: Flask, signature_id: int, *, purpose: str = "manage") -> str:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        nonce = {
            "manage": signature.manage_nonce,
            "confirm": signature.confirm_nonce,
            "withdraw": signature.withdraw_nonce,
        }[purpose]
        return current_tokens().make(purpose, signature.id, nonce)


def test_a_manage_token_opens_its_own_signature_only(app: Flask, client: FlaskClient) -> None:
    first, second = _two_signers(app)

    page = client.get(f"/my-signature/{_token(app, first)}").get_data(as_text=True)

    assert "first@one.example" in page
    assert "second@two.example" not in page and "Second Two" not in page


def test_a_manage_token_with_another_signatures_id_opens_nothing(
    app: Flask, client: FlaskClient
) -> None:
    first, second = _two_signers(app)
    with app.app_context():
        nonce = db.session.get(Signature, first).manage_nonce  # type: ignore[union-attr]
        forged = current_tokens().make("manage", second, nonce)

    response = client.get(f"/my-signature/{forged}")

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This link has already been used" in page
    assert "second@two.example" not in page and "Second Two" not in page


def test_a_manage_token_withdraws_its_own_signature_only(app: Flask, client: FlaskClient) -> None:
    first, second = _two_signers(app)
    token = _token(app, first)

    response = client.post(
        f"/my-signature/{token}/withdraw",
        data={"csrf_token": fetch_csrf(client, f"/my-signature/{token}")},
    )

    assert response.status_code == 303
    with app.app_context():
        statuses = [db.session.get(Signature, i).status for i in (first, second)]  # type: ignore[union-attr]
    assert statuses == ["withdrawn", "published"]


def test_a_manage_link_used_for_a_change_cannot_be_used_again(
    app: Flask, client: FlaskClient
) -> None:
    first, _ = _two_signers(app)
    token = _token(app, first)
    client.post(
        f"/my-signature/{token}/withdraw",
        data={"csrf_token": fetch_csrf(client, f"/my-signature/{token}")},
    )

    again = client.get(f"/my-signature/{token}")
    replay = client.post(
        f"/my-signature/{token}/correction",
        data={"csrf_token": fetch_csrf(client, "/my-signature"), "name": "Mallory"},
    )

    assert again.status_code == replay.status_code == 409
    assert "This link has already been used" in again.get_data(as_text=True)
    assert "first@one.example" not in again.get_data(as_text=True)
    assert 'href="/my-signature?letter=civic"' in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Signature, first).requested_name is None  # type: ignore[union-attr]


def test_an_expired_manage_link_offers_a_new_one(app: Flask, client: FlaskClient) -> None:
    first, _ = _two_signers(app)
    with app.app_context():
        nonce = db.session.get(Signature, first).manage_nonce  # type: ignore[union-attr]
    max_age = app.config["MANAGE_TOKEN_MAX_AGE"]
    old = Tokens(SECRET, {}, clock=lambda: time.time() - max_age - 1).make("manage", first, nonce)

    response = client.get(f"/my-signature/{old}")

    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "This link has expired" in page and "first@one.example" not in page
    assert 'href="/my-signature?letter=civic"' in page


def test_a_link_of_another_purpose_does_not_open_the_manage_page(
    app: Flask, client: FlaskClient
) -> None:
    first, _ = _two_signers(app)

    response = client.get(f"/my-signature/{_token(app, first, purpose='withdraw')}")

    assert response.status_code == 400
    assert "This link is for something else" in response.get_data(as_text=True)
    assert "first@one.example" not in response.get_data(as_text=True)


def test_a_manage_link_does_not_open_the_withdraw_page(app: Flask, client: FlaskClient) -> None:
    first, _ = _two_signers(app)

    response = client.get(f"/withdraw/{_token(app, first)}")

    assert response.status_code == 400
    assert "This link is for something else" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["garbage", "eyJpZCI6MX0", "a" * 300, "%FF%FE"])
def test_a_damaged_manage_link_gets_the_link_problem_page(
    app: Flask, client: FlaskClient, token: str
) -> None:
    first, _ = _two_signers(app)
    truncated = _token(app, first)[:-6]

    for bad in (token, truncated):
        response = client.get(f"/my-signature/{bad}")
        assert response.status_code == 400, bad
        assert "This link is not valid" in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_manage_link_of_an_erased_signature_shows_nothing(
    app: Flask, client: FlaskClient
) -> None:
    first, _ = _two_signers(app)
    token = _token(app, first)
    with app.app_context():
        signature = db.session.get(Signature, first)
        assert signature is not None
        retention.erase_private(signature, now=utcnow())
        db.session.commit()

    response = client.get(f"/my-signature/{token}")

    assert response.status_code == 410
    assert "We no longer hold this signature" in response.get_data(as_text=True)


def test_a_change_without_the_csrf_token_changes_nothing(app: Flask, client: FlaskClient) -> None:
    first, _ = _two_signers(app)
    token = _token(app, first)

    withdraw = client.post(f"/my-signature/{token}/withdraw")
    correct = client.post(f"/my-signature/{token}/correction", data={"name": "Mallory"})

    assert withdraw.status_code == correct.status_code == 400
    with app.app_context():
        signature = db.session.get(Signature, first)
        assert signature is not None
        assert (signature.status, signature.requested_name) == ("published", None)
    # Refused for the form, not the link: the link still opens the page.
    assert client.get(f"/my-signature/{token}").status_code == 200


def test_the_manage_page_is_never_cached_and_sends_no_referrer(
    app: Flask, client: FlaskClient
) -> None:
    first, _ = _two_signers(app)

    for url in (f"/my-signature/{_token(app, first)}", "/my-signature"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Referrer-Policy"] == "no-referrer", url


def test_garbage_manage_links_from_one_address_end_in_429s(app: Flask, client: FlaskClient) -> None:
    statuses = [client.get(f"/my-signature/garbage-{i}").status_code for i in range(30)]
    per_minute = 20  # LINK_RATE_LIMIT's first rate
    assert statuses[:per_minute] == [400] * per_minute
    assert set(statuses[per_minute:]) == {429}
