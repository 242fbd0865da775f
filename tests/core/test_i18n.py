"""The interface in English, French and Spanish: choosing, pages, emails, catalogues."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.core import i18n
from signatory.core.time import utcnow
from signatory.mail.worker import render_message
from signatory.models import OutboxMessage
from tests.conftest import fetch_csrf, html_part, text_part
from tests.factories import make_letter, make_signature

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "signatory" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

BAD_FORM = {
    "kind": "organization",
    "organization": "",
    "country": "",
    "organization_type": "",
    "website": "",
    "name": "",
    "email": "not-an-address",
    "authorised": "y",
}


@pytest.fixture
def letter(session: Session) -> str:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Café Europa", country="DE")
    session.commit()
    return letter.slug


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, "the page has no <html lang>"
    return match.group(1)


def page(client: FlaskClient, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def bad_submit(client: FlaskClient, language: str) -> str:
    headers = {"Accept-Language": language}
    token = fetch_csrf(client, "/letters/civic")
    response = client.post(
        "/letters/civic/sign", data={**BAD_FORM, "csrf_token": token}, headers=headers
    )
    assert response.status_code == 400
    return response.get_data(as_text=True)


# --- Choosing the language -------------------------------------------------------------------


@pytest.mark.usefixtures("letter")
def test_english_is_the_default_without_accept_language(client: FlaskClient) -> None:
    text = page(client, "/letters/civic")

    assert html_lang(text) == "en"
    assert "Sign this letter" in text


@pytest.mark.usefixtures("letter")
def test_accept_language_picks_the_best_supported_language(client: FlaskClient) -> None:
    text = page(client, "/letters/civic", **{"Accept-Language": "de-DE, es;q=0.8, fr;q=0.5"})

    assert html_lang(text) == "es"


@pytest.mark.usefixtures("letter")
def test_an_unsupported_accept_language_falls_back_to_english(client: FlaskClient) -> None:
    assert html_lang(page(client, "/letters/civic", **{"Accept-Language": "de, ja"})) == "en"


@pytest.mark.usefixtures("letter")
def test_the_language_switch_sets_a_lasting_cookie_and_goes_back(client: FlaskClient) -> None:
    response = client.get("/language/fr?next=/letters/civic")

    assert response.status_code == 303
    assert response.headers["Location"] == "/letters/civic"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=fr;")
    assert "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert "HttpOnly" in cookie


@pytest.mark.usefixtures("letter")
def test_the_explicit_choice_overrides_accept_language_and_persists(client: FlaskClient) -> None:
    client.get("/language/es?next=/")

    for url in ("/letters/civic", "/letters/civic/signatories", "/"):
        assert html_lang(page(client, url, **{"Accept-Language": "fr"})) == "es"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/letters\r\nSet-Cookie: x=1",
    ],
)
def test_the_switch_refuses_to_redirect_off_the_site(client: FlaskClient, target: str) -> None:
    response = client.get("/language/fr", query_string={"next": target})

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_an_unknown_language_is_not_found(client: FlaskClient) -> None:
    response = client.get("/language/de?next=/")

    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


@pytest.mark.usefixtures("letter")
def test_the_language_menu_links_each_language_back_to_this_page(client: FlaskClient) -> None:
    text = page(client, "/letters/civic/signatories?country=DE", **{"Accept-Language": "fr"})

    menu = re.search(r'<nav class="language-menu".*?</nav>', text, re.S)
    assert menu, "the page has no language menu"
    assert 'aria-label="Langue"' in menu.group(0)
    assert "/language/es?next=/letters/civic/signatories?country%3DDE" in menu.group(0)
    assert re.search(r'hreflang="fr" aria-current="true"', menu.group(0))
    for name in ("English", "Français", "Español"):
        assert name in menu.group(0)


@pytest.mark.usefixtures("letter")
def test_negotiated_pages_vary_by_language_and_cookie(client: FlaskClient) -> None:
    response = client.get("/letters/civic")

    assert {"Accept-Language", "Cookie"} <= set(response.vary)


# --- French and Spanish pages ----------------------------------------------------------------


@pytest.mark.usefixtures("letter")
def test_the_letter_page_and_sign_form_read_in_french(client: FlaskClient) -> None:
    text = page(client, "/letters/civic", **{"Accept-Language": "fr-FR,fr;q=0.9"})

    assert html_lang(text) == "fr"
    for words in (
        "Signer cette lettre",
        "Je signe",
        "au nom d’une organisation",
        "Type d’organisation",
        "Votre nom",
        "Adresse e-mail professionnelle",
        "Choisissez un pays",
        "Organisation non gouvernementale",
        "Signer la lettre",
        "Derniers signataires",
        "1 organisation",
    ):
        assert words in text, words
    # Country names come from CLDR in the reader's language; user text is untouched.
    assert ">Allemagne<" in text
    assert "Café Europa" in text
    assert "Protect civic space in the treaty" in text


@pytest.mark.usefixtures("letter")
def test_the_letter_page_and_sign_form_read_in_spanish(client: FlaskClient) -> None:
    text = page(client, "/letters/civic", **{"Accept-Language": "es"})

    assert html_lang(text) == "es"
    for words in (
        "Firmar esta carta",
        "Firmo",
        "en nombre de una organización",
        "Su nombre",
        "Correo electrónico de trabajo",
        "Elija un país",
        "Firmar la carta",
        "Últimos firmantes",
    ):
        assert words in text, words
    assert ">Alemania<" in text


@pytest.mark.usefixtures("letter")
def test_sign_form_errors_read_in_french(client: FlaskClient) -> None:
    text = bad_submit(client, "fr")

    assert "Veuillez corriger" not in text  # the summary's own wording follows
    assert "Corrigez ces points et renvoyez le formulaire" in text
    assert "Saisissez le nom de l’organisation au nom de laquelle vous signez." in text
    assert "Choisissez un pays." in text
    assert "Saisissez votre nom." in text
    assert "Saisissez une adresse e-mail valide\u00a0:" in text


@pytest.mark.usefixtures("letter")
def test_sign_form_errors_read_in_spanish(client: FlaskClient) -> None:
    text = bad_submit(client, "es")

    assert "Corrija estos datos y vuelva a enviar" in text
    assert "Escriba el nombre de la organización en cuyo nombre firma." in text
    assert "Elija un país." in text
    assert "Escriba su nombre." in text


@pytest.mark.usefixtures("letter")
def test_sign_form_errors_stay_english_without_a_language(client: FlaskClient) -> None:
    text = bad_submit(client, "")

    assert "Enter the name of the organization you sign for." in text


@pytest.mark.usefixtures("letter")
def test_the_list_of_signatories_reads_in_spanish(client: FlaskClient) -> None:
    text = page(client, "/letters/civic/signatories", **{"Accept-Language": "es"})

    assert "Buscar firmantes" in text
    assert "Todos los países" in text
    assert "Organizaciones" in text
    assert "Alemania" in text


@pytest.mark.usefixtures("letter")
def test_a_bad_filter_is_explained_in_french(client: FlaskClient) -> None:
    response = client.get(
        "/letters/civic/signatories?country=XX", headers={"Accept-Language": "fr"}
    )

    assert response.status_code == 400
    assert "Le pays doit être un code ISO 3166 à deux lettres" in response.get_data(as_text=True)


def test_error_pages_read_in_french(client: FlaskClient) -> None:
    response = client.get("/letters/nowhere", headers={"Accept-Language": "fr"})

    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Introuvable" in text
    assert "Il n’y a pas de lettre à cette adresse." in text


@pytest.mark.usefixtures("letter")
def test_dates_follow_the_language_and_stay_iso_for_machines(
    client: FlaskClient, session: Session
) -> None:
    text = page(client, "/letters/civic/versions", **{"Accept-Language": "es"})

    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} de \w+ de \d{4}', text)


@pytest.mark.usefixtures("letter")
def test_the_embed_snippet_and_live_endpoint_carry_the_page_language(
    client: FlaskClient,
) -> None:
    text = page(client, "/letters/civic", **{"Accept-Language": "fr"})

    assert "/letters/civic/widget?lang=fr" in text
    assert 'data-live-url="/letters/civic/live.json?lang=fr"' in text
    widget = page(client, "/letters/civic/widget?lang=fr", **{"Accept-Language": "es"})
    assert html_lang(widget) == "fr"
    assert "Signer la lettre" in widget


@pytest.mark.usefixtures("letter")
def test_the_live_script_gets_its_words_in_the_page_language(client: FlaskClient) -> None:
    text = page(client, "/letters/civic", **{"Accept-Language": "fr"})

    match = re.search(r"data-live-text='([^']*)'", text)
    assert match, "the letter page gives live.js no words"
    words = json.loads(html.unescape(match.group(1)))
    assert words["organizations"] == ["%(num)s organisation", "%(num)s organisations"]
    assert words["verified_domain"] == "domaine vérifié"


def test_the_coordinator_sign_in_reads_in_spanish(client: FlaskClient) -> None:
    text = page(client, "/manage/login", **{"Accept-Language": "es"})

    assert "Iniciar sesión" in text
    assert "Contraseña" in text
    assert "¿Ha olvidado su contraseña?" in text


@pytest.mark.usefixtures("letter")
def test_the_live_endpoint_names_countries_in_the_language_of_its_url(
    client: FlaskClient,
) -> None:
    french = client.get("/letters/civic/live.json?lang=fr").get_json()
    shared = client.get("/letters/civic/live.json", headers={"Accept-Language": "fr"}).get_json()

    assert french["latest"][0]["country_name"] == "Allemagne"
    # Cached by URL for everyone: without ?lang= it is English whatever the reader sends.
    assert shared["latest"][0]["country_name"] == "Germany"


@pytest.mark.usefixtures("letter")
def test_machine_formats_stay_english(client: FlaskClient) -> None:
    headers = {"Accept-Language": "fr"}
    csv = client.get("/letters/civic/signatories.csv", headers=headers).get_data(as_text=True)
    api = client.get("/api/v1/letters/nowhere", headers=headers).get_json()

    assert "Organization or affiliation" in csv
    assert "Germany" in csv
    assert api == client.get("/api/v1/letters/nowhere").get_json()


# --- Emails ----------------------------------------------------------------------------------


def test_a_signer_email_is_written_in_the_signers_language(app: Flask, session: Session) -> None:
    client = app.test_client()
    letter = make_letter(session, slug="civic")
    session.commit()
    token = fetch_csrf(client, "/letters/civic")
    response = client.post(
        "/letters/civic/sign",
        data={
            "csrf_token": token,
            "kind": "organization",
            "organization": "Exemple Libertés",
            "country": "FR",
            "organization_type": "ngo",
            "website": "https://libertes.example.org",
            "name": "Camille Exemple",
            "email": "camille@libertes.example.org",
            "authorised": "y",
        },
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 303

    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.letter_id == letter.id)
    ).one()
    email = render_message(session, message, now=utcnow())

    # The worker folds the subject's whitespace to plain spaces (the French ones included).
    assert email["Subject"] == "Confirmez votre signature de « Protect civic space in the treaty »"
    assert "Bonjour Camille Exemple," in text_part(email)
    assert "Confirmer ma signature" in html_part(email)
    assert '<html lang="fr" dir="ltr">' in html_part(email)


def test_a_signer_email_without_a_known_language_is_english(session: Session) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter, status="unconfirmed", name="Ada Example")
    message = OutboxMessage(
        template="confirm_request",
        to_addr="ada@example.org",
        context={"signature_id": signature.id},
        letter_id=letter.id,
        signature_id=signature.id,
    )
    session.add(message)
    session.flush()

    email = render_message(session, message, now=utcnow())

    assert email["Subject"].startswith("Confirm your signature on")
    assert "Hello Ada Example," in text_part(email)


# --- Helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/letters/civic?x=1", True),
        ("/", True),
        ("", False),
        ("letters/civic", False),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
    ],
)
def test_safe_next_accepts_only_paths_on_this_site(target: str, safe: bool) -> None:
    assert (i18n.safe_next(target) == target) is safe


@pytest.mark.parametrize(
    ("tag", "language"), [("fr", "fr"), ("es-MX", "es"), ("pt-BR", "en"), (None, "en")]
)
def test_a_stored_language_tag_maps_to_an_interface_language(
    tag: str | None, language: str
) -> None:
    assert i18n.language_of(tag) == language


# --- The catalogues --------------------------------------------------------------------------


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def source_messages() -> list[tuple[str | tuple[str, ...], str | None]]:
    """Every message the code and templates mark today, extracted as babel.cfg says."""

    def wanted(path: str) -> bool:
        # Unlike pybabel's default, keep folders starting with "_" (templates/_macros).
        name = Path(path).name
        return not (name.startswith(".") or name in {"__pycache__", "instance", "node_modules"})

    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    found = extract_from_dir(str(ROOT), method_map, options_map, directory_filter=wanted)
    return [(message, context) for _, _, message, _, context in found]


def test_the_template_catalogue_holds_every_marked_message(source_messages) -> None:
    template = _catalog(TRANSLATIONS / "messages.pot")

    missing = {
        message
        for message, context in source_messages
        if template.get(message if isinstance(message, str) else message[0], context) is None
    }
    assert not missing, (
        f"{len(missing)} message(s) are not in messages.pot; extract again (README, "
        f"Translations): {sorted(map(str, missing))[:10]}"
    )


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_message_is_translated(language: str, source_messages) -> None:
    template = _catalog(TRANSLATIONS / "messages.pot")
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    marked = [
        (message if isinstance(message, str) else message[0], context)
        for message, context in source_messages
    ]

    problems = []
    for message_id, context in sorted(
        {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in template if m.id}
        | set(marked),
        key=str,
    ):
        translated = catalog.get(message_id, context)
        strings = translated.string if translated is not None else None
        forms = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or translated.fuzzy or not all(forms):
            problems.append(message_id)
    assert not problems, (
        f"{len(problems)} message(s) without a {language} translation (run pybabel update, "
        f"then translate): {problems[:10]}"
    )


@pytest.mark.parametrize("language", ["fr", "es"])
def test_translations_keep_the_placeholders_of_their_message(language: str) -> None:
    catalog = _catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")

    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set().union(*(_placeholders(text) for text in ids))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            # A plural form may leave out %(num)s ("une signature"); nothing else may go.
            if not expected - {"num"} <= _placeholders(string) <= expected:
                problems.append((message.id, string))
    assert not problems, f"placeholders differ from the message: {problems[:5]}"


@pytest.mark.parametrize(
    ("tag", "direction"),
    [
        ("ar", "rtl"),
        ("ar-EG", "rtl"),
        ("he", "rtl"),
        ("fa", "rtl"),
        ("ur", "rtl"),
        ("yi", "rtl"),
        ("en", "ltr"),
        ("fr", "ltr"),
        ("pt-BR", "ltr"),
        ("zh-Hant", "ltr"),
        ("sr-Latn", "ltr"),
        ("xx-yy", "auto"),
        ("", "auto"),
        (None, "auto"),
        ("x" * 300, "auto"),
    ],
)
def test_each_language_tag_has_its_writing_direction(tag: str | None, direction: str) -> None:
    assert i18n.text_direction(tag) == direction


def test_the_page_says_the_direction_of_its_interface_language(client: FlaskClient) -> None:
    for language in i18n.LOCALES:
        page = client.get("/", headers={"Accept-Language": language}).get_data(as_text=True)
        expected = i18n.text_direction(language)
        assert f'<html lang="{language}" dir="{expected}">' in page
