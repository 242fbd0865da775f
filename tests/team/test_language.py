"""A coordinator's chosen language: stored on the account, spoken by the workspace in any
browser, and by every email signatory sends them (invitation, password reset)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.models import Coordinator
from tests.conftest import (
    audit_trail,
    fetch_csrf,
    html_part,
    post_form,
    queued_mail,
    render_queued,
    sign_in,
    text_part,
)
from tests.factories import make_coordinator, make_letter, make_member

EMAIL = "noor@coalition.example.org"
OWNER = "olive@coalition.example.org"


@pytest.fixture
def account(app) -> int:
    with app.app_context():
        coordinator = make_coordinator(db.session, email=EMAIL, name="Noor Example")
        letter = make_letter(db.session, slug="civic-space", title="Protect civic space")
        make_member(db.session, letter, role="owner", coordinator=coordinator)
        db.session.commit()
        return coordinator.id


def stored_language(app, account: int) -> str | None:
    with app.app_context():
        return db.session.get(Coordinator, account).language


def choose(client, language: str):
    return post_form(
        client,
        "/manage/account/profile",
        form_page="/manage/account",
        name="Noor Example",
        notify="digest",
        language=language,
    )


def test_the_account_page_offers_each_language_named_in_itself(app, client, account):
    page = sign_in(client, EMAIL).get("/manage/account").get_data(as_text=True)
    assert "Language of the workspace and of your emails" in page
    assert '<option lang="fr" value="fr">Français</option>' in page
    assert '<option selected value="">The one my browser asks for</option>' in page


def test_choosing_french_is_stored_audited_and_spoken_at_once(app, client, account):
    sign_in(client, EMAIL)

    response = choose(client, "fr")

    assert response.status_code == 303
    assert stored_language(app, account) == "fr"
    [event] = audit_trail(app, "coordinator.updated")
    assert event.detail == {"language": [None, "fr"]}
    # This browser switches now, and the saved message speaks French too.
    assert "lang=fr" in response.headers["Set-Cookie"]
    page = client.get("/manage/account").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Votre compte" in page
    assert '<option lang="fr" selected value="fr">Français</option>' in page


def test_the_workspace_speaks_the_stored_language_in_any_browser(app, account):
    with app.app_context():
        db.session.get(Coordinator, account).language = "es"
        db.session.commit()
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    sign_in(browser, EMAIL)

    page = browser.get("/manage/").get_data(as_text=True)

    assert '<html lang="es" dir="ltr">' in page
    # A choice made in the language menu of this browser still wins.
    browser.get("/language/fr")
    assert '<html lang="fr" dir="ltr">' in browser.get("/manage/").get_data(as_text=True)


def test_going_back_to_the_browsers_language_forgets_the_choice(app, client, account):
    sign_in(client, EMAIL)
    choose(client, "fr")

    response = choose(client, "")

    assert stored_language(app, account) is None
    assert "lang=;" in response.headers["Set-Cookie"]  # the cookie is deleted
    page = client.get("/manage/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page


@pytest.mark.parametrize("language", ["de", "xx", "fr-FR", "<script>", "e" * 500])
def test_a_language_the_interface_lacks_is_refused_next_to_the_field(
    app, client, account, language
):
    sign_in(client, EMAIL)

    response = choose(client, language)

    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert stored_language(app, account) is None


def test_a_password_reset_is_written_in_the_accounts_language(app, client, account):
    with app.app_context():
        db.session.get(Coordinator, account).language = "fr"
        db.session.commit()
    token = fetch_csrf(client, "/manage/forgot")
    client.post("/manage/forgot", data={"csrf_token": token, "email": EMAIL})

    email = render_queued(app, queued_mail(app, "password_reset")[0].id)

    assert email["Subject"] == "Choisissez un nouveau mot de passe pour signatory"
    text = text_part(email)
    assert text.startswith("Bonjour Noor Example,")
    assert "Le lien ne fonctionne qu’une fois, pendant 1 heure." in text
    assert '<html lang="fr" dir="ltr">' in html_part(email)


def test_without_a_choice_a_reset_speaks_the_language_of_the_page_that_asked(app, account):
    browser = app.test_client()
    token = fetch_csrf(browser, "/manage/forgot")
    browser.post(
        "/manage/forgot",
        data={"csrf_token": token, "email": EMAIL},
        headers={"Accept-Language": "es"},
    )

    email = render_queued(app, queued_mail(app, "password_reset")[0].id)

    assert email["Subject"] == "Elija una nueva contraseña para signatory"


def test_an_invitation_speaks_the_invitees_language_or_else_the_inviters(app, client, account):
    with app.app_context():
        make_coordinator(db.session, email="ines@union.example.org", name="Inés", language="es")
        db.session.commit()
    owner = sign_in(client, EMAIL)
    owner.get("/language/fr")
    for invited in ("ines@union.example.org", "newcomer@union.example.org"):
        response = post_form(
            owner,
            "/manage/letters/civic-space/team/invite",
            email=invited,
            role="moderator",
        )
        assert response.status_code == 303

    spanish, french = (render_queued(app, m.id) for m in queued_mail(app, "invitation"))

    # Inés has an account in Spanish; the newcomer has none, so reads the inviter's French.
    assert spanish["To"] == "ines@union.example.org"
    assert "como moderador: alguien que puede revisar" in text_part(spanish)
    assert "durante 7 días" in text_part(spanish)
    assert french["To"] == "newcomer@union.example.org"
    assert text_part(french).startswith("Bonjour,")
    assert "Noor Example" in french["Subject"]
    with app.app_context():
        assert (
            db.session.scalar(
                select(Coordinator.language).where(Coordinator.email == "ines@union.example.org")
            )
            == "es"
        )
