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
