"""The public list of signatories: sections, what is never shown, filters and keyset pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.lists import cursors
from signatory.lists import queries as service
from signatory.models import Letter, Signature
from tests.factories import bulk_publish, make_letter, make_signature
from tests.lists.pages import more_link, page_html, row_names, section_html

PAGE_SIZE = 5
UNPUBLISHED = ["unconfirmed", "pending_review", "rejected", "withdrawn"]


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Small pages, so "more" links appear with a handful of rows.
    return {"PUBLIC_PAGE_SIZE": PAGE_SIZE}


def published_ids_in_order(session: Session, letter: Letter, kind: str | None = None) -> list[int]:
    query = (
        select(Signature.id)
        .where(Signature.letter_id == letter.id, Signature.status == "published")
        .order_by(Signature.published_at, Signature.id)
    )
    if kind is not None:
        query = query.where(Signature.kind == kind)
    return list(session.scalars(query))


def test_organizations_and_individuals_are_listed_in_separate_sections(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Civic Watch")
    make_signature(session, letter, kind="individual", name="Amina Diallo", organization="Uni")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert row_names(section_html(page, "organization")) == ["Civic Watch"]
    assert row_names(section_html(page, "individual")) == ["Amina Diallo"]


def test_individual_affiliation_is_labelled_for_identification_only(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", organization="University of Somewhere")
    session.commit()

    individuals = section_html(page_html(client, "/letters/civic/signatories"), "individual")

    assert "University of Somewhere" in individuals
    assert "for identification only" in individuals


def test_each_organization_shows_country_type_signer_and_title(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(
        session,
        letter,
        organization="Civic Watch",
        country="KE",
        organization_type="union",
        name="Wanjiru Kamau",
        title="Secretary General",
    )
    session.commit()

    organizations = section_html(page_html(client, "/letters/civic/signatories"), "organization")

    for text in ("Kenya", "Trade union", "Wanjiru Kamau", "Secretary General"):
        assert text in organizations, f"{text!r} missing from the organization row"


def test_verified_domain_is_marked_only_where_verified(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Verified Org", domain_verified=True)
    make_signature(session, letter, organization="Unverified Org", domain_verified=False)
    session.commit()

    page = page_html(client, "/letters/civic/signatories")
    rows = re.findall(r"<tr[ >].*?</tr>", section_html(page, "organization"), re.S)
    marked = {name for row in rows if "verified domain" in row for name in row_names(row)}

    assert marked == {"Verified Org"}


@pytest.mark.parametrize("status", UNPUBLISHED)
def test_unpublished_signatures_are_never_listed(
    client: FlaskClient, session: Session, status: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Hidden Org", name="Hidden Person", status=status)
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert "Hidden Org" not in page
    assert "Hidden Person" not in page


def test_email_addresses_never_appear_on_the_page(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert "director@civic-watch.example" not in page
    assert "amina@home.example" not in page


def test_markup_in_names_is_escaped(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="<script>alert(1)</script>", name="<b>x</b>")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert "<script>alert(1)" not in page
    assert "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_page_links_back_to_the_letter_and_to_the_csv(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert 'href="/letters/civic"' in page
    assert 'href="/letters/civic/signatories.csv"' in page


def test_country_filter_keeps_only_that_country(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="German Org", country="DE")
    make_signature(session, letter, organization="Kenyan Org", country="KE")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?country=ke")

    assert row_names(section_html(page, "organization")) == ["Kenyan Org"]


def test_country_filter_counts_only_that_country_in_section_headings(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, country="DE")
    make_signature(session, letter, country="KE")
    make_signature(session, letter, country="KE")
    make_signature(session, letter, kind="individual", country="DE")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?country=KE")

    assert 'Organizations <span class="muted">(2)</span>' in section_html(page, "organization")
    assert 'Individuals <span class="muted">(0)</span>' in section_html(page, "individual")


def test_empty_filter_fields_from_the_form_show_everything(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Civic Watch")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?country=&section=&after=")

    assert row_names(section_html(page, "organization")) == ["Civic Watch"]
    assert row_names(section_html(page, "individual")) == ["Amina Diallo"]


def test_section_parameter_shows_only_that_section(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Civic Watch")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?section=individual")

    assert 'id="organizations"' not in page
    assert row_names(section_html(page, "individual")) == ["Amina Diallo"]


def test_letter_closed_to_individuals_has_no_individual_section(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", allow_individuals=False)
    make_signature(session, letter)
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert 'id="individuals"' not in page


def test_first_page_shows_one_page_of_each_section_with_more_links(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, PAGE_SIZE + 2, kind="organization")
    bulk_publish(session, letter, PAGE_SIZE + 2, kind="individual")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    for kind in ("organization", "individual"):
        fragment = section_html(page, kind)
        assert len(row_names(fragment)) == PAGE_SIZE
        link = more_link(fragment)
        assert link is not None and f"section={kind}" in link and "after=" in link


def test_following_more_links_lists_every_signatory_once_in_order(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 23, kind="organization")
    session.commit()
    expected = [f"Org o{i}" for i in range(23)]

    seen: list[str] = []
    url: str | None = "/letters/civic/signatories?section=organization"
    while url is not None:
        fragment = section_html(page_html(client, url), "organization")
        seen.extend(row_names(fragment))
        url = more_link(fragment)

    assert seen == expected


def test_more_link_keeps_the_country_filter(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, PAGE_SIZE + 1, kind="organization")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?country=DE")
    link = more_link(section_html(page, "organization"))

    assert link is not None and "country=DE" in link


def test_keyset_pages_walk_every_published_row_exactly_once(session: Session) -> None:
    letter = make_letter(session)
    bulk_publish(session, letter, 180, kind="organization")
    bulk_publish(session, letter, 120, kind="individual")
    make_signature(session, letter, status="withdrawn")
    expected = published_ids_in_order(session, letter)

    seen: list[int] = []
    after = None
    while True:
        page = service.published_page(session, letter, after=after, limit=7)
        seen.extend(row.id for row in page.items)
        if page.next_cursor is None:
            break
        after = cursors.decode_cursor(page.next_cursor)

    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert seen == expected


def test_keyset_pages_of_one_section_walk_that_section_exactly_once(session: Session) -> None:
    letter = make_letter(session)
    bulk_publish(session, letter, 60, kind="organization")
    bulk_publish(session, letter, 43, kind="individual")
    expected = published_ids_in_order(session, letter, kind="individual")

    # The downloads' rows are plain tuples of DOWNLOAD_FIELDS, the id first.
    seen = [
        row[0]
        for batch in service.iter_published(session, letter, kind="individual", batch_size=10)
        for row in batch
    ]

    assert seen == expected


def test_last_page_has_no_next_cursor(session: Session) -> None:
    letter = make_letter(session)
    bulk_publish(session, letter, 4, kind="organization")

    page = service.published_page(session, letter, limit=4)

    assert len(page.items) == 4
    assert page.next_cursor is None


def test_cursor_survives_encoding(session: Session) -> None:
    cursor = cursors.Cursor(datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=UTC), 987654)

    assert cursors.decode_cursor(cursors.encode_cursor(cursor)) == cursor


@pytest.mark.parametrize(
    "token",
    ["zz", "not a cursor", "MTIzNA", "!!!!", "a" * 65, "LTEuMQ", "MS4x\n", "MTIzLmFiYw"],
)
def test_decode_cursor_rejects_what_encode_cursor_never_made(token: str) -> None:
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode_cursor(token)


@pytest.mark.parametrize(
    ("query", "explains"),
    [
        ("section=organization&after=not-a-cursor", "page link"),
        ("after=MTIzLjQ", "section"),
        ("section=everyone", "section"),
        ("country=XX", "country"),
        ("country=Germany", "country"),
    ],
)
def test_invalid_parameters_answer_400_with_a_message(
    client: FlaskClient, session: Session, query: str, explains: str
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get(f"/letters/civic/signatories?{query}")

    assert response.status_code == 400
    assert explains in response.get_data(as_text=True)


def test_unknown_letter_answers_the_404_page(client: FlaskClient) -> None:
    response = client.get("/letters/no-such-letter/signatories")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_draft_letter_list_is_404(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="secret", status="draft")
    make_signature(session, letter, organization="Early Org")
    session.commit()

    response = client.get("/letters/secret/signatories")

    assert response.status_code == 404
    assert "Early Org" not in response.get_data(as_text=True)
