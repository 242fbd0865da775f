"""The keep link of the email about a substantive change: over SMTP with the withdraw link,
a GET that changes nothing, a POST that keeps the signature on the new version, and a clear
answer for every link that cannot be used."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LetterStatus, LetterVersion, Signature, transition
from signatory.privacy.retention import erase_entry
from signatory.reconfirm import service
from tests.conftest import audit_trail, queued_mail, render_queued, text_part
from tests.reconfirm.conftest import SLUG, V3, Told, keep_path, press_keep, publish_and_tell


def _signature(app: Flask, signature_id: int) -> tuple[str, int, int | None]:
    """(status, version number signed, version number re-confirmed) of a signature."""
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        numbers = dict(db.session.execute(select(LetterVersion.id, LetterVersion.number)).all())
        return (
            signature.status,
            numbers[signature.version_id],
            numbers.get(signature.reconfirmed_version_id),
        )


def test_the_change_email_over_smtp_carries_a_keep_link_and_a_withdraw_link(
    app: Flask, told: Told, runner, smtp_server
) -> None:
    app.config["MAIL_URL"] = smtp_server.url
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output

    emails = smtp_server.wait_for(4)
    [email] = [e for e in emails if e["To"] == "eff@eff.org"]
    text = text_part(email)
    assert f"http://signatory.test/letters/{SLUG}/keep/" in text
    assert "http://signatory.test/withdraw/" in text
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "Keep my signature on version 2" in html and "/keep/" in html


def test_opening_the_keep_link_shows_the_change_and_a_button_and_changes_nothing(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])

    response = client.get(path)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'action="{path}"' in page and "Keep my signature on version 2" in page
    assert ">ask</del>" in page and ">urge</ins>" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert _signature(app, told.ids["EFF"]) == ("published", 1, None)
    assert audit_trail(app, "signature.reconfirmed") == []


def test_pressing_keep_records_the_new_version_and_keeps_the_one_signed(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    response = press_keep(client, keep_path(app, told.ids["EFF"]))

    assert response.status_code == 200
    assert "Your signature is kept on version 2" in response.get_data(as_text=True)
    assert _signature(app, told.ids["EFF"]) == ("published", 1, 2)
    assert _signature(app, told.ids["Amnesty"]) == ("published", 1, None)


def test_keeping_is_audited_once_with_the_version(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))

    [event] = audit_trail(app, "signature.reconfirmed")
    assert event.signature_id == told.ids["EFF"]
    assert event.actor_label == "signer"
    assert event.detail == {"version": 2, "was_lapsed": False}


def test_a_second_press_answers_already_kept_and_changes_nothing(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])
    press_keep(client, path)

    again = press_keep(client, path)
    opened = client.get(path)

    assert again.status_code == opened.status_code == 200
    assert "Your signature is kept on version 2" in again.get_data(as_text=True)
    assert "Your signature is kept on version 2" in opened.get_data(as_text=True)
    assert len(audit_trail(app, "signature.reconfirmed")) == 1


def test_a_link_for_an_older_version_after_a_newer_change_says_so(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    old_link = keep_path(app, told.ids["EFF"], version=2)
    publish_and_tell(app, SLUG, V3, 3, now=utcnow())

    response = press_keep(client, old_link)

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "version 3" in page and "newer email" in page
    assert _signature(app, told.ids["EFF"]) == ("published", 1, None)


def test_the_newer_link_keeps_the_signature_on_the_newer_version(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    publish_and_tell(app, SLUG, V3, 3, now=utcnow())

    response = press_keep(client, keep_path(app, told.ids["EFF"], version=3))

    assert response.status_code == 200
    assert _signature(app, told.ids["EFF"]) == ("published", 1, 3)


def test_the_keep_link_of_a_withdrawn_signature_says_it_was_withdrawn(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])
    with app.app_context():
        transition(db.session.get(Signature, told.ids["EFF"]), "withdraw", now=utcnow())
        db.session.commit()

    response = press_keep(client, path)

    assert response.status_code == 409
    assert "This signature was withdrawn" in response.get_data(as_text=True)
    assert _signature(app, told.ids["EFF"]) == ("withdrawn", 1, None)


def test_the_keep_link_of_an_erased_signature_says_it_was_erased(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])
    with app.app_context():
        signature = db.session.get(Signature, told.ids["EFF"])
        transition(signature, "withdraw", now=utcnow())
        erase_entry(signature, now=utcnow())
        db.session.commit()

    response = client.get(path)

    assert response.status_code == 409
    assert "This signature was erased" in response.get_data(as_text=True)


def test_a_forged_or_altered_token_is_refused_with_400(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])
    altered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    for bad in (altered, f"/letters/{SLUG}/keep/not-a-token", f"/letters/{SLUG}/keep/{'x' * 5000}"):
        assert client.get(bad).status_code == 400, bad
        assert press_keep(client, bad).status_code == 400, bad
    assert _signature(app, told.ids["EFF"]) == ("published", 1, None)


def test_a_link_of_another_purpose_or_another_letter_is_refused_with_400(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    path = keep_path(app, told.ids["EFF"])
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        signature = db.session.get(Signature, told.ids["EFF"])
        withdraw_token = app.extensions["signatory.tokens"].make(
            "withdraw", signature.id, signature.withdraw_nonce
        )

    assert client.get(f"/letters/{SLUG}/keep/{withdraw_token}").status_code == 400
    assert client.get(f"/letters/another-letter/keep/{token}").status_code == 400


def test_a_delivered_letter_keeps_nothing_more(app: Flask, client: FlaskClient, told: Told) -> None:
    path = keep_path(app, told.ids["EFF"])
    with app.app_context():
        db.session.scalar(select(Letter).where(Letter.slug == SLUG)).status = LetterStatus.DELIVERED
        db.session.commit()

    response = press_keep(client, path)

    assert response.status_code == 409
    assert "has been delivered" in response.get_data(as_text=True)
    assert _signature(app, told.ids["EFF"]) == ("published", 1, None)


def test_the_email_of_a_letter_with_a_policy_says_how_long_there_is(app: Flask, told: Told) -> None:
    with app.app_context():
        db.session.scalar(select(Letter).where(Letter.slug == SLUG)).reconfirm_days = 14
        db.session.commit()
    [message] = [m for m in queued_mail(app, "version_changed") if m.to_addr == "eff@eff.org"]

    text = text_part(render_queued(app, message.id))

    assert "not kept within 14 days of this email off the public list" in text


def test_of_two_presses_at_once_only_one_keeps(app: Flask, session, told: Told) -> None:
    path = keep_path(app, told.ids["EFF"])
    payload = app.extensions["signatory.tokens"].read("reconfirm", path.rsplit("/", 1)[1])
    first = service.read_link(session, payload, slug=SLUG)
    # The other press claimed the nonce between this one's read and its write.
    session.execute(
        Signature.__table__.update()
        .where(Signature.__table__.c.id == told.ids["EFF"])
        .values(reconfirm_nonce="taken-by-the-other-press")
    )

    with pytest.raises(service.KeepRefused) as refused:
        service.keep(session, first, now=utcnow())

    assert refused.value.reason == service.CHANGED
