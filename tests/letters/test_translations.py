"""A letter's text in several languages: translations per version, one authoritative text,
one list of signatories, and the language each signature was made in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.letters import service as letters_service
from signatory.letters import texts
from signatory.letters import translations as service
from signatory.models import AuditEvent, Letter, LetterTranslation, LetterVersion, Signature
from tests.api.responses import api_json
from tests.conftest import csrf_token_from, fetch_csrf, post_form, sign_in
from tests.factories import (
    audit_actions,
    find_letter,
    make_letter,
    make_member,
    make_signature,
    make_team,
)

SLUG = "civic-space"
FRENCH_TITLE = "Protéger l'espace civique dans le traité"
FRENCH_BODY = (
    "Nous, organisations soussignées, demandons au Comité de **protéger** l'espace civique."
)


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def team(app):
    """An open letter with an editor and a moderator; returns their emails by role."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        emails = make_team(db.session, letter, roles=("editor", "moderator"))
        db.session.commit()
    return emails


def french_translation(session, letter, editor):
    """The French translation most tests start from, added by ``editor``."""
    return service.add_translation(
        session,
        letter,
        language="fr",
        title=FRENCH_TITLE,
        body_markdown=FRENCH_BODY,
        author=editor,
        now=utcnow(),
    )


def add_french(app, *, authoritative: bool = False) -> None:
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        editor = make_member(db.session, letter, role="editor")
        french_translation(db.session, letter, editor)
        if authoritative:
            service.set_authoritative(db.session, letter, "fr", actor=editor, now=utcnow())
        db.session.commit()


def publish_version_2(session, letter: Letter) -> LetterVersion:
    return letters_service.publish_version(
        session,
        letter,
        body_markdown="We ask the Committee to protect civic space, now.",
        kind="substantive",
        change_note="Shorter.",
        author=None,
        now=utcnow(),
    )


def add_form(client, **data):
    new = f"/manage/letters/{SLUG}/translations/new"
    fields = {"language": "fr", "title": FRENCH_TITLE, "body": FRENCH_BODY, **data}
    return post_form(client, new, form_page=new, **fields)


# --- language codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "tag"),
    [
        ("fr", "fr"),
        (" FR ", "fr"),
        ("PT_br", "pt-BR"),
        ("zh-hant", "zh-Hant"),
        ("es-419", "es-419"),
    ],
)
def test_language_codes_are_read_as_canonical_tags(typed, tag):
    assert service.parse_language(typed) == tag


@pytest.mark.parametrize("typed", ["", "xx", "French", "fr-ZZ", "zh-Abcd", "fr;drop"])
def test_a_code_that_names_no_language_is_refused_on_the_language_field(typed):
    with pytest.raises(service.TranslationError) as refused:
        service.parse_language(typed)

    assert refused.value.field == "language"


# --- the service --------------------------------------------------------------------------


def test_a_translation_belongs_to_the_current_version_and_is_audited(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")

    translation = service.add_translation(
        session,
        letter,
        language="fr",
        title=FRENCH_TITLE,
        body_markdown=FRENCH_BODY,
        author=editor,
        now=utcnow(),
    )

    assert translation.version is letter.current_version
    assert "<strong>protéger</strong>" in translation.body_html
    assert not service.needs_review(translation)
    assert audit_actions(session) == ["letter.translation_added"]


def test_a_translation_into_the_versions_own_language_is_refused(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")

    with pytest.raises(service.TranslationError, match="itself written in English"):
        service.add_translation(
            session,
            letter,
            language="en",
            title="T",
            body_markdown="B",
            author=editor,
            now=utcnow(),
        )


def test_a_second_translation_into_the_same_language_is_refused(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    arguments = {"title": FRENCH_TITLE, "body_markdown": FRENCH_BODY, "author": editor}
    service.add_translation(session, letter, language="fr", now=utcnow(), **arguments)

    with pytest.raises(service.TranslationError, match="already has a translation"):
        service.add_translation(session, letter, language="FR", now=utcnow(), **arguments)


def test_a_new_version_starts_without_translations_in_the_language_of_the_last(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    service.set_text_language(session, letter, "de", actor=editor, now=utcnow())
    french_translation(session, letter, editor)
    service.set_authoritative(session, letter, "fr", actor=editor, now=utcnow())

    version = publish_version_2(session, letter)
    session.flush()

    assert (version.language, version.authoritative_language) == ("de", "de")
    assert service.translations_of(session, version) == []
    assert [t.language for t in texts.public_texts(session, version)] == ["de"]


def test_copied_translations_need_review_and_stay_off_the_public_page(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)
    version = publish_version_2(session, letter)

    copies = service.copy_translations(session, letter, author=editor, now=utcnow())

    assert [(copy.version, copy.language) for copy in copies] == [(version, "fr")]
    assert service.needs_review(copies[0])
    assert texts.public_translations(session, version) == []
    added = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "letter.translation_added")
    ).all()
    assert added[-1].detail == {
        "version": 2,
        "language": "fr",
        "copied_from": 1,
        "needs_review": True,
    }


def test_saving_a_copied_translation_marks_it_reviewed_and_public(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)
    version = publish_version_2(session, letter)
    (copy,) = service.copy_translations(session, letter, author=editor, now=utcnow())

    saved = service.update_translation(
        session,
        letter,
        "fr",
        title=copy.title,
        body_markdown=copy.body_markdown,
        author=editor,
        now=utcnow(),
    )

    assert saved
    assert not service.needs_review(copy)
    assert texts.public_translations(session, version) == [copy]


def test_correcting_a_draft_in_place_sends_its_translations_back_to_review(session):
    letter = make_letter(session, slug=SLUG, status="draft")
    editor = make_member(session, letter, role="editor")
    translation = service.add_translation(
        session,
        letter,
        language="fr",
        title=FRENCH_TITLE,
        body_markdown=FRENCH_BODY,
        author=editor,
        now=utcnow(),
    )

    letters_service.change_text(
        session,
        letter,
        body_markdown="A corrected draft.",
        kind=None,
        change_note=None,
        author=editor,
        now=utcnow(),
    )

    assert service.needs_review(translation)
    assert texts.public_translations(session, letter.current_version) == []


def test_making_a_translation_authoritative_is_audited_with_both_languages(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)

    service.set_authoritative(session, letter, "fr", actor=editor, now=utcnow())

    assert letter.current_version.authoritative_language == "fr"
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_id) == ("letter.authoritative_changed", editor.id)
    assert event.detail == {"version": 1, "from": "en", "to": "fr"}


def test_the_authoritative_translation_of_a_signed_version_is_not_rewritten(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)
    service.set_authoritative(session, letter, "fr", actor=editor, now=utcnow())
    make_signature(session, letter)

    with pytest.raises(service.TranslationError, match="not rewritten"):
        service.update_translation(
            session,
            letter,
            "fr",
            title=FRENCH_TITLE,
            body_markdown="Un autre texte.",
            author=editor,
            now=utcnow(),
        )


def test_the_authoritative_text_cannot_be_removed(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)
    service.set_authoritative(session, letter, "fr", actor=editor, now=utcnow())

    with pytest.raises(service.TranslationError, match="authoritative"):
        service.remove_translation(session, letter, "fr", actor=editor, now=utcnow())


def test_removing_a_translation_is_audited(session):
    letter = make_letter(session, slug=SLUG)
    editor = make_member(session, letter, role="editor")
    french_translation(session, letter, editor)

    service.remove_translation(session, letter, "fr", actor=editor, now=utcnow())

    assert session.scalars(select(LetterTranslation)).all() == []
    assert audit_actions(session)[-1] == "letter.translation_removed"


def test_a_delivered_letters_texts_are_frozen(session):
    letter = make_letter(session, slug=SLUG, status="delivered")
    editor = make_member(session, letter, role="editor")

    with pytest.raises(service.TranslationError, match="delivered"):
        service.add_translation(
            session,
            letter,
            language="fr",
            title=FRENCH_TITLE,
            body_markdown=FRENCH_BODY,
            author=editor,
            now=utcnow(),
        )


def test_a_signature_records_the_language_it_is_given(session):
    from signatory.signatures.service import SignatureData
    from signatory.signatures.signing import sign

    letter = make_letter(session, slug=SLUG)
    data = SignatureData(
        kind="individual",
        name="Amélie Exemple",
        email="amelie@example.org",
        email_domain="example.org",
        country="FR",
        language="fr",
    )

    outcome = sign(session, letter, data, now=utcnow())

    assert outcome.signature.language == "fr"


# --- the workspace ------------------------------------------------------------------------


def test_an_editor_adds_a_french_translation_through_the_form(app, client, team):
    sign_in(client, team["editor"])

    response = add_form(client)

    assert response.status_code == 303
    with app.app_context():
        (translation,) = db.session.scalars(select(LetterTranslation)).all()
        assert (translation.language, translation.title) == ("fr", FRENCH_TITLE)
        assert db.session.get(LetterVersion, translation.version_id).number == 1


def test_a_bad_language_code_gets_a_clear_message_next_to_the_field(app, client, team):
    sign_in(client, team["editor"])

    response = add_form(client, language="french")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="language-error"' in page
    assert "“french” is not a language code" in page
    with app.app_context():
        assert db.session.scalars(select(LetterTranslation)).all() == []


def test_a_moderator_may_read_translations_but_not_add_them(app, client, team):
    add_french(app)
    sign_in(client, team["moderator"])

    assert client.get(f"/manage/letters/{SLUG}/translations").status_code == 200
    assert client.get(f"/manage/letters/{SLUG}/translations/fr").status_code == 200
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/translations")
    refused = client.post(
        f"/manage/letters/{SLUG}/translations/new",
        data={"csrf_token": token, "language": "es", "title": "T", "body": "B"},
    )
    assert refused.status_code == 403


def test_the_translations_page_offers_to_copy_an_earlier_versions_translations(app, client, team):
    add_french(app)
    with app.app_context():
        publish_version_2(db.session, find_letter(db.session, SLUG))
        db.session.commit()
    sign_in(client, team["editor"])

    page = client.get(f"/manage/letters/{SLUG}/translations").get_data(as_text=True)

    assert "Version 2 has no translations yet." in page
    assert "Copy them to version 2 for review" in page


def test_the_translations_page_counts_signatures_by_language(app, client, team):
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        make_signature(db.session, letter, language="fr")
        make_signature(db.session, letter, language="fr")
        make_signature(db.session, letter, language="en")
        db.session.commit()
    sign_in(client, team["moderator"])

    page = client.get(f"/manage/letters/{SLUG}/translations").get_data(as_text=True)

    assert '<code>fr</code></th><td data-label="Signatures">2</td>' in page
    assert '<code>en</code></th><td data-label="Signatures">1</td>' in page


def post_in_workspace(client, path: str, **data):
    translations = f"/manage/letters/{SLUG}/translations"
    return post_form(client, translations + path, form_page=translations, **data)


def test_an_editor_saves_a_translation_through_the_form(app, client, team):
    add_french(app)
    sign_in(client, team["editor"])

    response = post_in_workspace(client, "/fr", title=FRENCH_TITLE, body="Un texte corrigé.")

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(LetterTranslation.body_markdown)) == "Un texte corrigé."
        assert audit_actions(db.session)[-1] == "letter.translation_updated"


def test_an_editor_makes_the_french_text_authoritative_through_the_form(app, client, team):
    add_french(app)
    sign_in(client, team["editor"])

    response = post_in_workspace(client, "/authoritative", language="fr")

    assert response.status_code == 303
    with app.app_context():
        assert find_letter(db.session, SLUG).current_version.authoritative_language == "fr"
        assert audit_actions(db.session)[-1] == "letter.authoritative_changed"


def test_an_editor_removes_a_translation_through_the_form(app, client, team):
    add_french(app)
    sign_in(client, team["editor"])

    response = post_in_workspace(client, "/fr/remove")

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(LetterTranslation)).all() == []


def test_an_editor_copies_an_earlier_versions_translations_for_review(app, client, team):
    add_french(app)
    with app.app_context():
        publish_version_2(db.session, find_letter(db.session, SLUG))
        db.session.commit()
    sign_in(client, team["editor"])

    post_in_workspace(client, "/copy")
    page = client.get(f"/manage/letters/{SLUG}/translations").get_data(as_text=True)

    assert "needs review" in page
    with app.app_context():
        numbers = db.session.scalars(
            select(LetterVersion.number)
            .join(LetterTranslation, LetterTranslation.version_id == LetterVersion.id)
            .order_by(LetterVersion.number)
        ).all()
        assert numbers == [1, 2]


# --- the public page ----------------------------------------------------------------------


def test_the_letter_shows_the_authoritative_english_text_by_default(app, client, team):
    add_french(app)

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert '<div class="letter-body" lang="en" dir="ltr">' in page
    assert "<strong>protect</strong>" in page
    assert FRENCH_BODY not in page
    assert f'href="/letters/{SLUG}?text=fr" hreflang="fr"' in page
    assert "authoritative" in page


def test_text_fr_shows_the_french_translation_marked_as_one(app, client, team):
    add_french(app)

    page = client.get(f"/letters/{SLUG}?text=fr").get_data(as_text=True)

    assert '<div class="letter-body" lang="fr" dir="ltr">' in page
    assert "<strong>protéger</strong>" in page
    assert "This is a translation." in page
    assert (
        f'<a href="/letters/{SLUG}?text=en" hreflang="en">Read the authoritative text</a>' in page
    )


def test_a_french_interface_shows_the_french_text(app, client, team):
    add_french(app)

    page = client.get(f"/letters/{SLUG}", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    assert '<div class="letter-body" lang="fr" dir="ltr">' in page
    assert "<strong>protéger</strong>" in page


def test_a_reader_whose_language_the_interface_lacks_still_gets_its_translation(app, client, team):
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        editor = make_member(db.session, letter, role="editor")
        service.add_translation(
            db.session,
            letter,
            language="de",
            title="Den zivilgesellschaftlichen Raum schützen",
            body_markdown="Wir fordern den Ausschuss auf, den Raum zu **schützen**.",
            author=editor,
            now=utcnow(),
        )
        db.session.commit()

    page = client.get(f"/letters/{SLUG}", headers={"Accept-Language": "de-DE, en;q=0.5"})

    assert '<html lang="en" dir="ltr">' in page.get_data(as_text=True)
    assert '<div class="letter-body" lang="de" dir="ltr">' in page.get_data(as_text=True)


def test_an_authoritative_french_text_is_shown_first_with_a_note_on_the_english(app, client, team):
    add_french(app, authoritative=True)

    default = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    english = client.get(f"/letters/{SLUG}?text=en").get_data(as_text=True)

    assert '<div class="letter-body" lang="fr" dir="ltr">' in default
    assert "This translation is the authoritative text of the letter." in default
    assert '<div class="letter-body" lang="en" dir="ltr">' in english
    assert "The authoritative text is in" in english


def test_the_note_names_the_authoritative_language_in_the_pages_language(app, client, team):
    add_french(app, authoritative=True)

    page = client.get(f"/letters/{SLUG}?text=en", headers={"Accept-Language": "fr"})

    assert "Le texte qui fait foi est en français." in page.get_data(as_text=True)


def test_a_language_the_version_lacks_falls_back_to_the_authoritative_text(app, client, team):
    add_french(app)

    page = client.get(f"/letters/{SLUG}?text=de").get_data(as_text=True)

    assert '<div class="letter-body" lang="en" dir="ltr">' in page
    assert "has no text in" in page


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        ("ar", "حماية الفضاء المدني", "نطلب من اللجنة **حماية** الفضاء المدني."),
        ("he", "הגנה על המרחב האזרחי", "אנו מבקשים מהוועדה **להגן** על המרחב האזרחי."),
    ],
)
def test_a_right_to_left_translation_is_marked_to_run_right_to_left(
    app, client, team, language, title, body
):
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        editor = make_member(db.session, letter, role="editor")
        service.add_translation(
            db.session, letter, language=language, title=title, body_markdown=body,
            author=editor, now=utcnow(),
        )  # fmt: skip
        db.session.commit()

    page = client.get(f"/letters/{SLUG}?text={language}").get_data(as_text=True)

    assert f'<div class="letter-body" lang="{language}" dir="rtl">' in page
    # Its name in the language menu runs right to left too; the interface stays English.
    assert f'hreflang="{language}" lang="{language}" dir="rtl"' in page
    assert '<html lang="en" dir="ltr">' in page
    # The public text of that version, and the workspace's view of the translation.
    versions = client.get(f"/letters/{SLUG}/versions/1").get_data(as_text=True)
    assert '<div class="letter-body" lang="en" dir="ltr">' in versions


def test_a_nonsense_text_parameter_is_ignored(app, client, team):
    page = client.get(f"/letters/{SLUG}?text=%3Cscript%3E")

    assert page.status_code == 200
    assert "<script>" not in page.get_data(as_text=True)


def test_a_translation_awaiting_review_is_not_offered_to_readers(app, client, team):
    add_french(app)
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        editor = make_member(db.session, letter, role="editor")
        publish_version_2(db.session, letter)
        service.copy_translations(db.session, letter, author=editor, now=utcnow())
        db.session.commit()

    page = client.get(f"/letters/{SLUG}?text=fr").get_data(as_text=True)

    assert "protéger" not in page
    assert f'href="/letters/{SLUG}?text=fr"' not in page


# --- signatures: one list, each with its language -----------------------------------------


def sign_form(client, headers=None):
    page = client.get(f"/letters/{SLUG}", headers=headers)
    return client.post(
        f"/letters/{SLUG}/sign",
        headers=headers,
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "kind": "organization",
            "organization": "Droits Numériques Exemple",
            "country": "FR",
            "organization_type": "ngo",
            "website": "https://droits.example.org",
            "name": "Amélie Signataire",
            "email": "amelie@droits.example.org",
            "authorised": "y",
        },
    )


def test_a_signature_made_with_a_french_interface_records_fr(app, client, team):
    add_french(app)

    response = sign_form(client, headers={"Accept-Language": "fr"})

    assert response.status_code == 303
    with app.app_context():
        (signature,) = db.session.scalars(select(Signature)).all()
        assert signature.language == "fr"


def test_a_signature_made_with_an_english_interface_records_en(app, client, team):
    response = sign_form(client, headers={"Accept-Language": "en-GB"})

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Signature.language)) == "en"


def test_signatures_in_every_language_make_one_list(app, client, team):
    add_french(app)
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        make_signature(db.session, letter, organization="Café Libre", language="fr")
        make_signature(db.session, letter, organization="Open Rights", language="en")
        make_signature(db.session, letter, organization="Older One", language=None)
        db.session.commit()

    english = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)
    french = client.get(f"/letters/{SLUG}/signatories?text=fr", headers={"Accept-Language": "fr"})
    counts = api_json(client, f"/api/v1/letters/{SLUG}")["counts"]

    for name in ("Café Libre", "Open Rights", "Older One"):
        assert name in english
        assert name in french.get_data(as_text=True)
    assert counts["total"] == 3


def test_the_signature_language_is_not_public(app, client, team):
    with app.app_context():
        make_signature(db.session, find_letter(db.session, SLUG), language="fr")
        db.session.commit()

    listed = api_json(client, f"/api/v1/letters/{SLUG}/signatures")["signatures"]
    download = client.get(f"/letters/{SLUG}/signatories.json").get_json()
    csv_header = client.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True)

    assert "language" not in listed[0]
    assert "language" not in str(download)
    assert "language" not in csv_header.splitlines()[0].lower()


# --- the API ------------------------------------------------------------------------------


def test_the_versions_endpoint_lists_each_versions_translations(app, client, team):
    add_french(app, authoritative=True)

    versions = api_json(client, f"/api/v1/letters/{SLUG}/versions")["versions"]
    with_body = api_json(client, f"/api/v1/letters/{SLUG}/versions?include=body")["versions"]

    assert versions[0]["language"] == "en"
    assert versions[0]["authoritative_language"] == "fr"
    assert versions[0]["translations"] == [
        {
            "language": "fr",
            "authoritative": True,
            "title": FRENCH_TITLE,
            "updated_at": versions[0]["translations"][0]["updated_at"],
        }
    ]
    assert "<strong>protéger</strong>" in with_body[0]["translations"][0]["body_html"]


def test_the_letter_endpoint_gives_the_current_versions_languages(app, client, team):
    add_french(app)

    version = api_json(client, f"/api/v1/letters/{SLUG}")["version"]

    assert (version["language"], version["authoritative_language"]) == ("en", "en")
    assert [t["language"] for t in version["translations"]] == ["fr"]


def test_the_translation_pages_speak_the_coordinators_language(app, client, team):
    add_french(app)
    sign_in(client, team["editor"])
    client.get("/language/es")
    base = f"/manage/letters/{SLUG}/translations"

    index = client.get(base).get_data(as_text=True)
    new = client.get(f"{base}/new").get_data(as_text=True)
    edit = client.get(f"{base}/fr").get_data(as_text=True)
    saved = post_in_workspace(client, "/fr", title=FRENCH_TITLE, body="Un texte corrigé.")

    assert "Textos de la versión 1" in index and "Texts of version" not in index
    assert "Firmas por idioma" in index and "Signatures by language" not in index
    assert "Traducir la versión 1" in new and "The translation belongs to" not in new
    assert "Traducción al francés de la versión 1" in edit
    assert "Guardar la traducción" in edit and "Save the translation" not in edit
    flashed = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Traducción al francés guardada." in flashed


def test_a_bad_language_code_is_explained_in_the_coordinators_language(app, client, team):
    sign_in(client, team["editor"])
    client.get("/language/fr")

    response = post_in_workspace(
        client, "/new", language="zz", title=FRENCH_TITLE, body=FRENCH_BODY
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "n’est pas un code de langue ISO 639-1" in page
    assert "Utilisez un code de langue comme fr, es ou ar" in page


def test_the_translation_pages_follow_a_french_browser(app, client, team):
    add_french(app)
    sign_in(client, team["editor"])
    base = f"/manage/letters/{SLUG}/translations"
    french = {"Accept-Language": "fr"}

    pages = {
        "index": client.get(base, headers=french),
        "new": client.get(f"{base}/new", headers=french),
        "edit": client.get(f"{base}/fr", headers=french),
    }
    english = {
        "index": ["Texts of version 1", "Signatures by language", "Language of the original text"],
        "new": ["Translate version 1", "The translation belongs to version 1", "two-letter ISO"],
        "edit": ["translation of version 1", "Save the translation", "the text to translate"],
    }

    for name, response in pages.items():
        page = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert '<html lang="fr"' in page, name
        for sentence in english[name]:
            assert sentence not in page, f"{name}: {sentence!r}"
