"""Signing defences: the honeypot and fill time, web addresses in names, disposable addresses,
normalised emails, lookalike names, the daily caps on signer mail, the kept address prefix."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload, Tokens
from signatory.models import Signature
from signatory.signatures import service
from signatory.signatures.forms import fill_time_token
from tests.conftest import SECRET, audit_trail, csrf_token_from, fetch_csrf, queued_mail, sign_in
from tests.factories import find_letter, make_letter, make_member, make_signature

SLUG = "civic-space"
FORM = {
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
HELD_BACK = "Your signature has not been sent yet"


def settings(**values):
    # Many sign POSTs from one test client: the rate limits have their own tests.
    return {"RATELIMIT_ENABLED": False, **values}


@pytest.fixture
def app_config():
    return settings()


@pytest.fixture
def letter(app):
    with app.app_context():
        slug = make_letter(db.session, slug=SLUG).slug
        db.session.commit()
        return slug


def post_sign(client, slug=SLUG, **overrides):
    data = {**FORM, "csrf_token": fetch_csrf(client, f"/letters/{slug}"), **overrides}
    return client.post(f"/letters/{slug}/sign", data=data)


def stored(app) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def page_of(response) -> str:
    return unescape(response.get_data(as_text=True))


# --- The honeypot and the fill time -----------------------------------------------------


def test_the_honeypot_is_hidden_from_people_and_assistive_technology(client, letter):
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    trap = page[page.index('<div class="sign-trap"') :]
    trap = trap[: trap.index("</div>")]
    assert 'aria-hidden="true"' in trap
    assert 'name="reference_code"' in trap
    assert 'tabindex="-1"' in trap and 'autocomplete="off"' in trap
    assert "style=" not in trap
    response = client.get("/static/signatory.css")
    css = response.get_data(as_text=True)
    response.close()
    assert ".sign-trap { position: absolute; inset-inline-start: -10000px;" in css


def test_a_filled_honeypot_saves_nothing_and_gives_the_form_back(client, app, letter):
    response = post_sign(client, reference_code="http://spam.example")
    assert response.status_code == 400
    page = page_of(response)
    assert HELD_BACK in page
    assert (
        'value="Digital Rights Example"' in page
        and 'value="lizzie@digitalrights.example.org"' in page
    )
    assert stored(app) == []
    assert queued_mail(app) == []


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
def test_a_form_sent_too_soon_after_it_was_drawn_is_given_back(client, app, letter):
    response = post_sign(client)  # the token is the page's own, a moment old
    assert response.status_code == 400
    page = page_of(response)
    assert HELD_BACK in page and 'value="Lizzie Signer"' in page
    assert stored(app) == [] and queued_mail(app) == []


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
def test_a_form_sent_after_the_minimum_time_is_taken(client, app, letter):
    response = post_sign(client, started=fill_time_token(SECRET, now=time.time() - 3))
    assert response.status_code == 303
    assert [s.email for s in stored(app)] == [FORM["email"]]
    assert [m.template for m in queued_mail(app)] == ["confirm_request"]


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
def test_a_form_drawn_a_year_ago_is_still_taken(client, app, letter):
    """No maximum age: the CSRF token, not the fill time, decides if the session holds."""
    response = post_sign(client, started=fill_time_token(SECRET, now=time.time() - 365 * 86400))
    assert response.status_code == 303
    assert len(stored(app)) == 1


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
@pytest.mark.parametrize(
    "started",
    [
        "",
        "garbage",
        fill_time_token("another-secret-key-of-sufficient-length", now=time.time() - 60),
    ],
    ids=["missing", "garbage", "signed-with-another-key"],
)
def test_a_missing_or_tampered_fill_time_is_given_back(client, app, letter, started):
    response = post_sign(client, started=started)
    assert response.status_code == 400
    assert HELD_BACK in page_of(response)
    assert stored(app) == [] and queued_mail(app) == []


RETIRED_KEY = "a-retired-secret-key-that-was-long-enough-for-production"


@pytest.mark.parametrize(
    "app_config", [settings(SIGN_MIN_SECONDS=2, SECRET_KEY_FALLBACKS=[RETIRED_KEY])]
)
def test_a_form_drawn_before_a_key_rotation_is_still_taken(client, app, letter):
    response = post_sign(client, started=fill_time_token(RETIRED_KEY, now=time.time() - 60))
    assert response.status_code == 303
    assert [s.email for s in stored(app)] == [FORM["email"]]


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
def test_a_form_drawn_with_a_key_no_longer_accepted_is_given_back(client, app, letter):
    response = post_sign(client, started=fill_time_token(RETIRED_KEY, now=time.time() - 60))
    assert response.status_code == 400
    assert stored(app) == []


@pytest.mark.parametrize("app_config", [settings(SIGN_MIN_SECONDS=2)])
def test_the_form_given_back_starts_a_new_clock(client, app, letter):
    old = fill_time_token(SECRET, now=time.time() - 60)
    page = post_sign(client, started="").get_data(as_text=True)
    assert 'name="started"' in page and f'value="{old}"' not in page


# --- Web addresses in names -------------------------------------------------------------


@pytest.mark.parametrize("field", ["organization", "name"])
@pytest.mark.parametrize("value", ["http://spam.example", "www.spam.example", "spam.example/path"])
def test_a_web_address_as_a_name_is_refused(client, app, letter, field, value):
    response = post_sign(client, **{field: value})
    assert response.status_code == 400
    assert "Enter a name here, not a web address" in page_of(response)
    assert stored(app) == [] and queued_mail(app) == []


@pytest.mark.parametrize("value", ["Example Corp.", "A.B.C. e.V.", "Booking.com"])
def test_names_with_dots_that_are_not_addresses_are_taken(client, app, letter, value):
    assert post_sign(client, organization=value).status_code == 303
    assert [s.organization for s in stored(app)] == [value]


# --- Disposable addresses -----------------------------------------------------------------


@pytest.mark.parametrize("email", ["someone@mailinator.com", "someone@inbox.mailinator.com"])
def test_a_disposable_address_is_refused_by_default(client, app, letter, email):
    response = post_sign(client, email=email)
    assert response.status_code == 400
    assert "are disposable and cannot sign this letter" in page_of(response)
    assert stored(app) == [] and queued_mail(app) == []


def test_a_letter_may_send_disposable_addresses_to_review_instead(client, app, letter):
    with app.app_context():
        find_letter(db.session, SLUG).disposable_email = "review"
        db.session.commit()
    assert post_sign(client, email="someone@mailinator.com").status_code == 303
    [signature] = stored(app)
    assert signature.review_reason == "disposable_email"
    assert [m.to_addr for m in queued_mail(app)] == ["someone@mailinator.com"]


def test_the_disposable_policy_is_a_letter_setting_in_the_workspace(client, app, letter):
    with app.app_context():
        owner = make_member(db.session, find_letter(db.session, SLUG), role="owner").email
        db.session.commit()
    sign_in(client, owner)
    page = client.get(f"/manage/letters/{SLUG}/edit").get_data(as_text=True)
    [refuse] = re.findall(r'<input[^>]*name="disposable_email"[^>]*value="refuse"[^>]*>', page)
    assert "checked" in refuse  # the default
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/edit")
    response = client.post(
        f"/manage/letters/{SLUG}/settings",
        data={
            "csrf_token": token,
            "title": "Protect civic space in the treaty",
            "recipient": "Chair of the Ad Hoc Committee",
            "moderation": "none",
            "allow_individuals": "y",
            "disposable_email": "review",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert find_letter(db.session, SLUG).disposable_email == "review"
    [event] = audit_trail(app, "letter.settings_changed")
    assert event.detail["changes"]["disposable_email"] == {"from": "refuse", "to": "review"}


# --- One address, however it is spelled ---------------------------------------------------


def test_gmail_spellings_of_one_address_make_one_signature(client, app, letter):
    for email in ("plus.tag@gmail.com", "plustag+2@gmail.com", "PlusTag@googlemail.com"):
        assert post_sign(client, email=email).status_code == 303
    [signature] = stored(app)
    # Stored and mailed exactly as first typed; the later spellings only re-send its link.
    assert signature.email == "plus.tag@gmail.com"
    assert signature.email_key == "plustag@gmail.com"
    assert [m.to_addr for m in queued_mail(app)] == ["plus.tag@gmail.com"] * 3


def test_plus_tags_elsewhere_than_known_providers_are_distinct(client, app, letter):
    assert post_sign(client, email="ann+news@example.org", organization="One").status_code == 303
    assert post_sign(client, email="ann@example.org", organization="Two").status_code == 303
    assert len(stored(app)) == 2


# --- Lookalike organization names ------------------------------------------------------------


def _confirm(app, signature_id):
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        service.confirm(
            db.session, TokenPayload(signature.id, signature.confirm_nonce), now=utcnow()
        )
        db.session.commit()
        return signature.status


def test_a_lookalike_of_a_listed_organization_goes_to_review(client, app, letter):
    with app.app_context():
        make_signature(db.session, find_letter(db.session, SLUG), organization="Amnesty Example")
        db.session.commit()
    # A Cyrillic "А" (U+0410) in place of the Latin one.
    assert post_sign(client, organization="\u0410mnesty Example").status_code == 303
    new = stored(app)[-1]
    assert new.review_reason.split(",") == ["lookalike_name", "mixed_scripts"]
    # The letter has no moderation, yet the signature waits for a moderator.
    assert _confirm(app, new.id) == "pending_review"


def test_a_word_mixing_alphabets_goes_to_review_on_its_own(client, app, letter):
    assert post_sign(client, organization="Digit\u0430l Rights").status_code == 303
    [signature] = stored(app)
    assert signature.review_reason == "mixed_scripts"
    assert _confirm(app, signature.id) == "pending_review"


def test_a_greek_name_with_its_latin_acronym_is_published_at_once(client, app, letter):
    organization = "Ελληνική Ένωση για τα Δικαιώματα του Ανθρώπου (HLHR)"
    assert post_sign(client, organization=organization).status_code == 303
    [signature] = stored(app)
    assert signature.review_reason is None
    assert _confirm(app, signature.id) == "published"


def test_moderators_see_why_a_signature_was_held(client, app, letter):
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        make_signature(db.session, the_letter, organization="Amnesty Example")
        held = make_signature(
            db.session,
            the_letter,
            organization="\u0410mnesty Example",
            status="pending_review",
            review_reason="lookalike_name,mixed_scripts",
        )
        owner = make_member(db.session, the_letter, role="moderator").email
        db.session.commit()
        held_id = held.id
    sign_in(client, owner)
    queue = page_of(client.get(f"/manage/letters/{SLUG}/moderation"))
    assert "Looks like an organization already on the letter" in queue
    assert "mixes lookalike letters of different alphabets" in queue
    assert "looks the same, other characters" in queue  # the similar-names list says how
    detail = page_of(client.get(f"/manage/letters/{SLUG}/signatures/{held_id}"))
    assert "Held for review" in detail and "Looks like an organization already" in detail


# --- The daily caps on signer mail --------------------------------------------------------


@pytest.mark.parametrize(
    "app_config",
    [settings(SIGNER_EMAILS_PER_SIGNATURE_PER_DAY=3, SIGNER_EMAILS_PER_ADDRESS_PER_DAY=10)],
)
def test_signing_again_past_the_signature_cap_answers_the_same_and_queues_nothing(
    client, app, letter
):
    answers = [post_sign(client) for _ in range(6)]
    assert {(r.status_code, r.headers["Location"]) for r in answers} == {
        (303, f"/letters/{SLUG}/signed")
    }
    assert len(queued_mail(app)) == 3
    [capped] = audit_trail(app, "signature.email_capped")
    assert capped.detail["cap"] == "signature"


@pytest.mark.parametrize(
    "app_config",
    [settings(SIGNER_EMAILS_PER_SIGNATURE_PER_DAY=5, SIGNER_EMAILS_PER_ADDRESS_PER_DAY=4)],
)
def test_one_address_across_letters_and_spellings_shares_one_cap(client, app, letter):
    with app.app_context():
        slugs = [make_letter(db.session, slug=f"other-{n}").slug for n in range(5)]
        db.session.commit()
    spellings = ["victim@gmail.com", "Vic.Tim@gmail.com", "victim+a@googlemail.com"]
    for n, slug in enumerate(slugs):
        response = post_sign(client, slug=slug, email=spellings[n % 3], organization=f"Org {n}")
        assert response.status_code == 303
    assert len(stored(app)) == 5  # each letter has its signature ...
    assert len(queued_mail(app)) == 4  # ... but the address got no more than its cap
    [capped] = audit_trail(app, "signature.email_capped")  # audited once, not per attempt
    assert capped.detail["cap"] == "address"


@pytest.mark.parametrize(
    "app_config",
    [settings(SIGNER_EMAILS_PER_SIGNATURE_PER_DAY=2, SIGNER_EMAILS_PER_ADDRESS_PER_DAY=10)],
)
def test_asking_for_a_new_link_past_the_cap_answers_the_same_and_queues_nothing(
    client, app, letter
):
    post_sign(client)
    post_sign(client)
    [signature] = stored(app)
    # An expired link's "send me a new one": a token minted eight days ago.
    week_old = Tokens(SECRET, {}, clock=lambda: time.time() - 8 * 86400)
    token = week_old.make("confirm", signature.id, signature.confirm_nonce)
    csrf = csrf_token_from(client.get(f"/confirm/{token}").get_data(as_text=True))
    response = client.post(f"/confirm/{token}/resend", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert "sent" in page_of(response).lower()
    assert len(queued_mail(app)) == 2


# --- The client's address prefix ------------------------------------------------------------


def test_the_signers_address_prefix_is_kept_and_never_shown(client, app, letter):
    data = {**FORM, "csrf_token": fetch_csrf(client, f"/letters/{SLUG}")}
    response = client.post(
        f"/letters/{SLUG}/sign", data=data, environ_base={"REMOTE_ADDR": "203.0.113.77"}
    )
    assert response.status_code == 303
    [signature] = stored(app)
    assert signature.client_prefix == "203.0.113.0/24"
    _confirm(app, signature.id)
    for path in (
        f"/letters/{SLUG}",
        f"/letters/{SLUG}/signatories",
        f"/letters/{SLUG}/signatories.csv",
        f"/api/v1/letters/{SLUG}/signatures",
    ):
        body = client.get(path).get_data(as_text=True)
        assert "Digital Rights Example" in body, path
        assert "203.0.113" not in body, path
