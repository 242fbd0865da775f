"""The import service: the mapping guessed, values read as people write them, the sign
form's rules on every row, duplicates against the letter, and all rows or none."""

from __future__ import annotations

import pytest

from signatory.core.time import utcnow
from signatory.imports import reading, service
from signatory.imports.rows import check_row, country_code, guess_mapping, organization_type_code
from signatory.models import Signature
from tests.factories import make_letter, make_signature, outbox_messages
from tests.imports.conftest import GOOD_CSV

LIMITS = reading.Limits(max_bytes=10_000, max_rows=100, max_columns=20)


def table(text: str) -> reading.Table:
    return reading.parse(text, limits=LIMITS)


def checked(session, letter, text: str) -> service.Preview:
    parsed = table(text)
    return service.preview(session, letter, parsed, guess_mapping(parsed.header), now=utcnow())


def test_the_mapping_is_guessed_from_english_french_and_spanish_headers():
    assert guess_mapping(
        ["Organisation", "Type d'organisation", "Site web", "Pays", "Nom", "Fonction", "Courriel"]
    ) == {
        0: "organization",
        1: "organization_type",
        2: "website",
        3: "country",
        4: "name",
        5: "title",
        6: "email",
    }
    assert guess_mapping(["Nombre", "Correo electrónico", "País", "Notas"]) == {
        0: "name",
        1: "email",
        2: "country",
    }


@pytest.mark.parametrize(
    ("value", "code"),
    [("de", "DE"), ("Germany", "DE"), ("Allemagne", "DE"), ("Alemania", "DE"),
     ("Côte d’Ivoire", "CI"), ("KEN", "KE"), ("Atlantis", None)],
)  # fmt: skip
def test_a_country_is_read_by_its_code_or_its_english_french_or_spanish_name(app, value, code):
    with app.app_context():
        assert country_code(value) == code


def test_an_organization_type_is_read_by_its_code_or_its_name(app):
    with app.app_context():
        assert organization_type_code("Trade union") == "union"
        assert organization_type_code("Syndicat") == "union"
        assert organization_type_code("company") == "company"
        assert organization_type_code("spaceship") is None


def test_a_row_breaks_the_sign_forms_rules_in_the_forms_own_words(app):
    mapping = {0: "organization", 1: "website", 2: "country", 3: "name", 4: "email"}
    with app.test_request_context():
        row = check_row(
            2,
            ["https://evil.example", "no dot", "DE", "Ada\u202e", "a@b.example.org"],
            mapping,
            allow_individuals=True,
            check_deliverability=False,
        )
    messages = dict(row.errors)
    assert "not a web address" in messages["organization"]
    assert messages["website"] == "Enter a web address starting with http:// or https://."
    assert "invisible characters" in messages["name"]


def test_a_row_without_a_kind_signs_as_an_individual_when_it_has_no_organization_fields(app):
    with app.test_request_context():
        row = check_row(
            2,
            ["Uni A", "DE", "Ada", "ada@uni.example.org"],
            {0: "organization", 1: "country", 2: "name", 3: "email"},
            allow_individuals=True,
            check_deliverability=False,
        )
    assert row.errors == []
    assert row.values["kind"] == "individual"


def test_an_address_or_organization_already_on_the_letter_is_refused(session):
    letter = make_letter(session, slug="coalition")
    make_signature(session, letter, email="amina@drk.example.org", status="unconfirmed")
    make_signature(session, letter, organization="Café Numérique", status="pending_review")
    result = checked(session, letter, GOOD_CSV)
    assert [(n, field, message) for n, field, message in result.errors] == [
        (2, "Email", "This address has already signed this letter."),
        (3, "Organization", "This organization is already on the letter."),
    ]


def test_a_letter_that_needs_matching_domains_refuses_a_mismatched_row(session):
    letter = make_letter(session, slug="coalition", require_domain_match=True)
    text = "Organization,Type,Website,Country,Name,Email\nA,ngo,https://a.example.org,DE,Ada,ada@elsewhere.example.com\n"
    [(_, field, message)] = checked(session, letter, text).errors
    assert field == "Email" and "website's domain" in message


def test_a_closed_letter_takes_no_import(session):
    letter = make_letter(session, slug="coalition", status="closed")
    with pytest.raises(service.ImportRefused, match="does not accept signatures"):
        checked(session, letter, GOOD_CSV)


def test_an_import_refused_half_way_leaves_nothing_behind(session):
    letter = make_letter(session, slug="coalition")
    session.commit()
    result = checked(session, letter, GOOD_CSV)
    assert result.ready
    # Between the preview and the import, the third row's signer signs on the page.
    make_signature(session, letter, email="ana@redlibre.example.es", status="unconfirmed")
    session.commit()
    with pytest.raises(service.ImportRefused, match="Row 4 signed on the letter"):
        service.import_rows(
            session, letter, result, actor=None, attested=False, filename="x.csv", now=utcnow()
        )
    session.rollback()
    assert [s.email for s in session.query(Signature)] == ["ana@redlibre.example.es"]
    assert outbox_messages(session) == []


def test_an_attested_import_skips_the_letters_moderation(session):
    letter = make_letter(session, slug="coalition", moderation="all")
    result = checked(session, letter, GOOD_CSV)
    imported = service.import_rows(
        session, letter, result, actor=None, attested=True, filename="x.csv", now=utcnow()
    )
    assert imported.published == 3
    assert {s.status for s in session.query(Signature)} == {"published"}
