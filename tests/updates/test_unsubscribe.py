"""The one-click unsubscribe link of update emails: a GET shows a button and changes nothing,
a POST (from a mail client, with no session or CSRF token) unsubscribes, repeats answer 200,
and broken links get a clear page."""

from __future__ import annotations

import pytest

from signatory.core.extensions import db
from signatory.models import Signature
from tests.conftest import audit_trail, queued_mail
from tests.updates.conftest import (
    consenting_signature,
    deliver,
    post_update,
    press,
    recipients,
    signature,
    updates,
)


@pytest.fixture
def sent(app, signed_in):
    """A consenting signature that has been queued an update: (signature id, its link's path)."""
    signature_id = consenting_signature(app)
    post_update(signed_in)
    press(signed_in, updates(app)[-1].id, "send")
    [recipient] = recipients(app)
    token = app.extensions["signatory.tokens"].make(
        "unsubscribe", recipient.id, recipient.unsubscribe_nonce
    )
    return signature_id, f"/unsubscribe/{token}"


def test_opening_the_link_shows_a_button_and_changes_nothing(app, sent):
    signature_id, path = sent
    response = app.test_client().get(path)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<form method="post" action="{path}">' in page
    assert ">Unsubscribe</button>" in page
    assert signature(app, signature_id).updates_consent_at is not None
    assert response.headers["Cache-Control"] == "no-store"


def test_pressing_the_button_unsubscribes_and_keeps_the_signature(app, sent):
    signature_id, path = sent
    response = app.test_client().post(path)

    assert response.status_code == 200
    assert "You get no more update emails" in response.get_data(as_text=True)
    after = signature(app, signature_id)
    assert after.updates_consent_at is None
    assert after.status == "published"
    [event] = audit_trail(app, "signature.updates_unsubscribed")
    assert (event.signature_id, event.actor_label) == (signature_id, "signer")


def test_a_one_click_post_works_without_a_session_or_csrf_token(app, sent):
    signature_id, path = sent
    client = app.test_client(use_cookies=False)

    response = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert signature(app, signature_id).updates_consent_at is None


def test_a_repeated_unsubscribe_answers_200_and_records_it_once(app, sent):
    _, path = sent
    client = app.test_client()
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    again = client.post(path, data={"List-Unsubscribe": "One-Click"})

    assert again.status_code == 200
    assert len(audit_trail(app, "signature.updates_unsubscribed")) == 1
    page = client.get(path).get_data(as_text=True)
    assert "You are already unsubscribed" in page and "<form" not in page.split("<main")[-1]


def test_an_unsubscribed_signer_gets_no_later_update(app, signed_in, sent):
    _, path = sent
    app.test_client().post(path)
    post_update(signed_in, title="Second news")

    press(signed_in, updates(app)[-1].id, "send")

    assert len(queued_mail(app, "letter_update")) == 1  # the first update's, from before


def test_an_update_waiting_in_the_outbox_is_not_sent_after_an_unsubscribe(app, sent, smtp_server):
    _, path = sent
    app.test_client().post(path)

    deliver(app, smtp_server.url)

    [message] = queued_mail(app, "letter_update")
    assert message.status == "failed" and message.failure_kind == "obsolete"
    assert smtp_server.messages == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_link_gets_a_clear_400_page_and_changes_nothing(app, sent, method):
    signature_id, path = sent
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    response = app.test_client().open(forged, method=method)

    assert response.status_code == 400
    assert "This unsubscribe link does not work" in response.get_data(as_text=True)
    assert signature(app, signature_id).updates_consent_at is not None


def test_a_link_of_another_purpose_does_not_unsubscribe(app, sent):
    signature_id, _ = sent
    with app.app_context():
        found = db.session.get(Signature, signature_id)
        withdraw = app.extensions["signatory.tokens"].make(
            "withdraw", found.id, found.withdraw_nonce
        )

    response = app.test_client().post(f"/unsubscribe/{withdraw}")

    assert response.status_code == 400
    assert signature(app, signature_id).updates_consent_at is not None


def test_a_link_with_the_wrong_nonce_does_not_unsubscribe(app, sent):
    signature_id, _ = sent
    [recipient] = recipients(app)
    token = app.extensions["signatory.tokens"].make("unsubscribe", recipient.id, "not-the-nonce")

    response = app.test_client().post(f"/unsubscribe/{token}")

    assert response.status_code == 400
    assert signature(app, signature_id).updates_consent_at is not None


def test_a_link_whose_signature_is_gone_says_so_with_410(app, sent):
    signature_id, path = sent
    with app.app_context():
        db.session.delete(db.session.get(Signature, signature_id))
        db.session.commit()

    response = app.test_client().post(path)

    assert response.status_code == 410
    assert "no longer on the letter" in response.get_data(as_text=True)
