"""The coordinators' re-confirmation page: the answers per substantive version, who may see
it, and the policy editors set there (validated, audited)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, Signature, transition
from tests.conftest import audit_trail, fetch_csrf, sign_in
from tests.factories import make_coordinator, make_member
from tests.reconfirm.conftest import SLUG, Told, keep_path, press_keep

PAGE = f"/manage/letters/{SLUG}/reconfirmation"


def _member(app: Flask, role: str) -> str:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == SLUG))
        email = make_member(db.session, letter, role=role).email
        db.session.commit()
        return email


def _days(app: Flask) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Letter.reconfirm_days).where(Letter.slug == SLUG))


def _set(client: FlaskClient, days: str):  # type: ignore[no-untyped-def]
    return client.post(PAGE, data={"csrf_token": fetch_csrf(client, PAGE), "days": days})


def test_the_page_counts_told_re_confirmed_withdrawn_and_not_answered(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    press_keep(client, keep_path(app, told.ids["EFF"]))
    with app.app_context():
        transition(db.session.get(Signature, told.ids["Article 19"]), "withdraw", now=utcnow())
        db.session.commit()
    sign_in(client, _member(app, "moderator"))

    page = client.get(PAGE).get_data(as_text=True)

    row = page[page.index('<th scope="row">2</th>') :]
    row = row[: row.index("</tr>")]
    cells = [part.split(">", 1)[1].split("<", 1)[0].strip() for part in row.split("<td")[2:]]
    # Told, re-confirmed, withdrawn since, not answered.
    assert cells == ["4", "1", "1", "2"]


def test_the_versions_page_links_the_re_confirmation_page(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    sign_in(client, told.editor)

    page = client.get(f"/manage/letters/{SLUG}/versions").get_data(as_text=True)

    assert f'href="{PAGE}"' in page


def test_an_editor_sets_the_policy_and_it_is_audited(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    sign_in(client, told.editor)

    response = _set(client, "30")

    assert response.status_code == 303
    assert _days(app) == 30
    [event] = audit_trail(app, "letter.reconfirm_policy_changed")
    assert event.detail == {"days": 30, "before": None}
    assert "30 days" in client.get(PAGE).get_data(as_text=True)


def test_an_empty_field_turns_the_policy_off(app: Flask, client: FlaskClient, told: Told) -> None:
    sign_in(client, told.editor)
    _set(client, "30")

    response = _set(client, "")

    assert response.status_code == 303
    assert _days(app) is None


@pytest.mark.parametrize("days", ["0", "366", "-3", "abc", "1e9", "9" * 400])
def test_days_out_of_range_or_not_a_number_are_refused_with_400(
    app: Flask, client: FlaskClient, told: Told, days: str
) -> None:
    sign_in(client, told.editor)

    response = _set(client, days)

    assert response.status_code == 400
    assert "error-message" in response.get_data(as_text=True)
    assert _days(app) is None
    assert audit_trail(app, "letter.reconfirm_policy_changed") == []


def test_a_moderator_sees_the_counts_but_may_not_set_the_policy(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    sign_in(client, _member(app, "moderator"))

    assert client.get(PAGE).status_code == 200
    assert _set(client, "30").status_code == 403
    assert _days(app) is None


def test_a_coordinator_of_another_letter_gets_404(
    app: Flask, client: FlaskClient, told: Told
) -> None:
    with app.app_context():
        stranger = make_coordinator(db.session).email
        db.session.commit()
    sign_in(client, stranger)

    assert client.get(PAGE).status_code == 404


def test_someone_signed_out_is_sent_to_sign_in(client: FlaskClient, told: Told) -> None:
    response = client.get(PAGE)

    assert response.status_code in (302, 303)
    assert "/manage/login" in response.headers["Location"]
