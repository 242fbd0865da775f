"""The sign form's country list, rendered once per language and copied (``LongSelect``), is
the same HTML as WTForms' own select would give, whatever was chosen and in any language."""

from __future__ import annotations

import pytest
from wtforms.widgets import Select

from signatory.signatures.forms import SignForm


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@pytest.mark.parametrize("chosen", [None, "", "FR", "CI", "ZZ", '"><script>', "fr"])
def test_the_country_list_renders_as_wtforms_select_does(app, language, chosen):
    headers = {"Accept-Language": language}
    with app.test_request_context("/", headers=headers):
        form = SignForm(data=None if chosen is None else {"country": chosen}, meta={"csrf": False})
        for attributes in ({}, {"aria-invalid": "true", "aria-describedby": "country-error"}):
            assert str(form.country(**attributes)) == str(Select()(form.country, **attributes))


def test_a_second_render_in_another_language_is_not_the_first_ones(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = str(SignForm(meta={"csrf": False}).country())
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        french = str(SignForm(meta={"csrf": False}).country())
    assert "Germany" in english and "Allemagne" in french and "Germany" not in french


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Not a valid choice."),
        ("fr", "N'est pas un choix valide."),
        ("es", "Opción inválida."),
    ],
)
@pytest.mark.parametrize("posted", ["ZZ", '"><script>', "fr"])
def test_a_country_not_on_the_list_is_refused_in_the_readers_language(
    app, language, message, posted
):
    # Twice: WTForms' catalogue for the language is read once and kept (core.i18n).
    for _ in range(2):
        headers = {"Accept-Language": language}
        form_data = {"country": posted, "organization_type": "ngo"}
        with app.test_request_context("/", method="POST", data=form_data, headers=headers):
            form = SignForm(meta={"csrf": False})
            form.validate()
            assert form.country.errors[0] == message
            assert form.organization_type.errors == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_country_and_type_on_the_lists_is_taken(app, language):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        form = SignForm(meta={"csrf": False})
        countries = [choice.value for choice in form.country.choices if choice.value]
        types = [choice.value for choice in form.organization_type.choices if choice.value]
    assert len(countries) > 240 and "FR" in countries
    for country, kind in zip(countries, types * 50, strict=False):
        posted = {"country": country, "organization_type": kind}
        with app.test_request_context("/", method="POST", data=posted):
            form = SignForm(meta={"csrf": False})
            form.validate()
            assert form.country.errors == [] and form.organization_type.errors == []
