"""The signer's manage-my-signature page, "send me my link", and correction requests."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import current_tokens
from signatory.models import Coordinator, Signature
from signatory.signatures import moderation
from tests.conftest import (
    add_signature,
    audit_trail,
    fetch_csrf,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import find_letter, make_letter, make_member


@pytest.fixture
def letter_slug(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug="civic", title="Protect civic space")
        db.session.commit()
    return "civic"


def manage_token(app: Flask, signature_id: int) -> str:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        return current_tokens().make("manage", signature.id, signature.manage_nonce)


def signature_row(app: Flask, signature_id: int) -> Signature:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        db.session.expunge(signature)
        return signature


def _post(client: FlaskClient, page: str, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": fetch_csrf(client, page), **data})


# --- The page ----------------------------------------------------------------------------


def test_the_page_shows_everything_held_and_no_internal_key(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(
        app,
        letter_slug,
        organization="Digital Rights Kenya",
        name="Ada Wanjiru",
        title="Director",
        email="Ada.Wanjiru@drk.example.org",
        language="fr",
        client_prefix="203.0.113.0/24",
    )
    token = manage_token(app, signature_id)

    response = client.get(f"/my-signature/{token}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    for shown in (
        "Protect civic space",
        "Digital Rights Kenya",
        "Ada Wanjiru",
        "Director",
        "Ada.Wanjiru@drk.example.org",
        "203.0.113.0/24",
        "version 1",
        "Published on the public list",
    ):
        assert shown in html, shown
    row = signature_row(app, signature_id)
    for hidden in (row.email_key, row.confirm_nonce, row.withdraw_nonce, row.manage_nonce):
        assert hidden not in html


def test_withdrawing_from_the_page_takes_the_signature_off_and_moves_to_a_fresh_link(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(app, letter_slug, name="Ada Wanjiru")
    token = manage_token(app, signature_id)
    page = f"/my-signature/{token}"

    response = _post(client, page, f"/my-signature/{token}/withdraw")

    assert response.status_code == 303  # type: ignore[attr-defined]
    fresh = response.headers["Location"]  # type: ignore[attr-defined]
    assert fresh.startswith("/my-signature/") and fresh != page
    assert signature_row(app, signature_id).status == "withdrawn"
    assert [m.signature_id for m in queued_mail(app, "withdrawal_receipt")] == [signature_id]
    assert [e.signature_id for e in audit_trail(app, "signature.withdrawn")] == [signature_id]
    after = client.get(fresh)
    assert "Your signature is withdrawn" in after.get_data(as_text=True)
    assert "Withdraw my signature" not in after.get_data(as_text=True)
    assert client.get(page).status_code == 409


# The title is no longer asked for: signers edit it directly (tests/signatures/test_own_entry.py).
def test_a_correction_request_of_organization_name_and_country_waits_for_the_coordinators(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(
        app, letter_slug, organization="Digtal Rights Kenya", name="Ada Wanjru", title=None
    )
    token = manage_token(app, signature_id)

    response = _post(
        client,
        f"/my-signature/{token}",
        f"/my-signature/{token}/correction",
        organization="Digital Rights Kenya",
        name="Ada Wanjiru",
        country="KE",
    )

    assert response.status_code == 303  # type: ignore[attr-defined]
    row = signature_row(app, signature_id)
    assert (row.organization, row.name, row.country) == ("Digtal Rights Kenya", "Ada Wanjru", "DE")
    assert (row.requested_organization, row.requested_name, row.requested_country) == (
        "Digital Rights Kenya",
        "Ada Wanjiru",
        "KE",
    )
    assert row.correction_requested_at is not None
    assert [e.detail for e in audit_trail(app, "signature.correction_requested")] == [{}]
    # The public list still shows the entry as it was.
    listed = client.get(f"/letters/{letter_slug}/signatories").get_data(as_text=True)
    assert "Digtal Rights Kenya" in listed and "Digital Rights Kenya" not in listed


def test_a_correction_that_changes_nothing_is_refused_with_a_message(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(app, letter_slug, organization="Org A", name="Ada", title="Chair")
    token = manage_token(app, signature_id)

    response = _post(
        client,
        f"/my-signature/{token}",
        f"/my-signature/{token}/correction",
        organization="Org A",
        name="Ada",
        title="Chair",
    )

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "That is how your entry already reads" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert signature_row(app, signature_id).correction_requested_at is None


def test_a_correction_with_a_web_address_is_refused(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(app, letter_slug, organization="Org A", name="Ada")
    token = manage_token(app, signature_id)

    response = _post(
        client,
        f"/my-signature/{token}",
        f"/my-signature/{token}/correction",
        organization="Org A http://spam.example",
        name="Ada",
    )

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Leave web addresses out of your entry." in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert signature_row(app, signature_id).correction_requested_at is None


# --- The coordinators' side ----------------------------------------------------------------


def _request(app: Flask, slug: str, **entry: str | None) -> tuple[int, str]:
    from signatory.signatures import own

    signature_id = add_signature(app, slug, organization="Digtal Rights", name="Ada", title=None)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        letter = find_letter(db.session, slug)
        assert signature is not None and letter is not None
        signature.letter = letter
        own.request_correction(
            db.session,
            signature,
            own.RequestedEntry(
                organization=entry.get("organization", "Digital Rights"),
                name=entry.get("name") or "Ada",
                country=entry.get("country"),
            ),
            now=utcnow(),
        )
        moderator = make_member(db.session, letter, role="moderator")
        db.session.commit()
        return signature_id, moderator.email


def test_the_queue_shows_the_requested_change_and_country_beside_the_current_entry(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id, moderator = _request(app, letter_slug, country="KE")
    sign_in(client, moderator)

    html = client.get(f"/manage/letters/{letter_slug}/moderation").get_data(as_text=True)

    section = html.split('id="corrections"', 1)[1]
    assert "Digtal Rights" in section and "Digital Rights" in section and "Kenya" in section
    assert f"/manage/letters/{letter_slug}/signatures/{signature_id}/correction" in section


def test_approving_a_correction_applies_organization_and_country_and_audits_before_and_after(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id, moderator = _request(app, letter_slug, country="KE")
    sign_in(client, moderator)

    response = _post(
        client,
        f"/manage/letters/{letter_slug}/moderation",
        f"/manage/letters/{letter_slug}/signatures/{signature_id}/correction",
        decision="approve",
    )

    assert response.status_code == 303  # type: ignore[attr-defined]
    row = signature_row(app, signature_id)
    assert (row.organization, row.name, row.country) == ("Digital Rights", "Ada", "KE")
    assert (row.correction_requested_at, row.requested_country) == (None, None)
    assert [e.detail for e in audit_trail(app, "signature.correction_approved")] == [
        {
            "before": {"organization": "Digtal Rights", "country": "DE"},
            "after": {"organization": "Digital Rights", "country": "KE"},
        }
    ]
    listed = client.get(f"/letters/{letter_slug}/signatories").get_data(as_text=True)
    assert "Digital Rights" in listed and "Digtal Rights" not in listed


def test_declining_a_correction_leaves_the_entry_as_it_was(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id, moderator = _request(app, letter_slug)
    sign_in(client, moderator)

    response = _post(
        client,
        f"/manage/letters/{letter_slug}/moderation",
        f"/manage/letters/{letter_slug}/signatures/{signature_id}/correction",
        decision="decline",
    )

    assert response.status_code == 303  # type: ignore[attr-defined]
    row = signature_row(app, signature_id)
    assert (row.organization, row.correction_requested_at) == ("Digtal Rights", None)
    assert len(audit_trail(app, "signature.correction_declined")) == 1
    assert audit_trail(app, "signature.correction_approved") == []


def test_deciding_a_correction_already_decided_changes_nothing(
    app: Flask, letter_slug: str
) -> None:
    signature_id, _ = _request(app, letter_slug)
    with app.app_context():
        letter = find_letter(db.session, letter_slug)
        signature = db.session.get(Signature, signature_id)
        actor = db.session.query(Coordinator).first()
        assert letter is not None and signature is not None and actor is not None
        moderation.decide_correction(
            db.session, letter, signature, approve=False, actor=actor, now=utcnow()
        )
        with pytest.raises(moderation.NoCorrectionRequested):
            moderation.decide_correction(
                db.session, letter, signature, approve=True, actor=actor, now=utcnow()
            )


# --- Send me my link ---------------------------------------------------------------------


def test_send_me_my_link_emails_the_address_on_record(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(app, letter_slug, email="Ada.Wanjiru@drk.example.org")

    response = _post(
        client,
        "/my-signature",
        "/my-signature",
        email="ada.wanjiru@DRK.example.org",
        letter=letter_slug,
    )

    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Check your inbox" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    messages = queued_mail(app, "manage_link")
    assert [(m.signature_id, m.to_addr) for m in messages] == [
        (signature_id, "Ada.Wanjiru@drk.example.org")
    ]
    text = text_part(render_queued(app, messages[0].id))
    link = re.search(r"http://signatory\.test(/my-signature/\S+)", text)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200


def test_send_me_my_link_needs_a_valid_address_and_a_letter(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    response = _post(client, "/my-signature", "/my-signature", email="not an address", letter="")

    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Enter a valid email address" in html
    assert "Choose the letter you signed." in html
    assert queued_mail(app, "manage_link") == []


def test_every_receipt_links_the_manage_page(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    signature_id = add_signature(app, letter_slug, status="unconfirmed")
    with app.app_context():
        from signatory.signatures import service

        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        payload = current_tokens().read(
            "confirm", current_tokens().make("confirm", signature.id, signature.confirm_nonce)
        )
        service.confirm(db.session, payload, now=utcnow())
        db.session.commit()

    receipt = queued_mail(app, "signature_confirmed")[0]
    text = text_part(render_queued(app, receipt.id))
    assert re.search(r"http://signatory\.test/my-signature/\S+", text)


def test_the_withdrawn_page_states_the_configured_erasure_period(
    app: Flask, client: FlaskClient, letter_slug: str
) -> None:
    app.config["WITHDRAWN_RETENTION_DAYS"] = 12
    signature_id = add_signature(app, letter_slug)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        token = current_tokens().make("withdraw", signature.id, signature.withdraw_nonce)

    response = _post(client, f"/withdraw/{token}", f"/withdraw/{token}")

    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "erased from our records 12 days after the withdrawal" in response.get_data(  # type: ignore[attr-defined]
        as_text=True
    )
