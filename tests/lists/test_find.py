"""Finding anyone on the full list: a name search blind to case and accents, filters by type
and domain verification, three orders each paged by cursor, everything in the URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.core.text import name_sort_key, search_text
from signatory.lists import cursors
from signatory.lists import queries as service
from signatory.lists.queries import ListFilters, Sort
from signatory.models import Letter, Signature
from tests.conftest import unmigrated_app
from tests.factories import make_letter, make_signature
from tests.lists.pages import more_link, page_html, row_names, section_html

PAGE_SIZE = 3
BASE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_PAGE_SIZE": PAGE_SIZE}


def organizations_on(client: FlaskClient, url: str) -> list[str]:
    return row_names(section_html(page_html(client, url), "organization"))


def organizations(session: Session, letter: Letter, *names: str, **fields: Any) -> None:
    for n, name in enumerate(names):
        make_signature(
            session, letter, organization=name, published_at=BASE + timedelta(minutes=n), **fields
        )


# --- The name search ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["cafe", "CAFÉ", "Cafe", "café", "  caFE  "])
def test_search_finds_a_name_whatever_its_case_and_accents(
    client: FlaskClient, session: Session, typed: str
) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "Café Liberté", "Civic Watch")
    session.commit()

    assert organizations_on(client, f"/letters/civic/signatories?q={typed}") == ["Café Liberté"]


def test_search_finds_part_of_a_name(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "Fundación Datos Cívicos", "Civic Watch")
    session.commit()

    found = organizations_on(client, "/letters/civic/signatories?q=datos civ")

    assert found == ["Fundación Datos Cívicos"]


def test_search_finds_the_signer_of_an_organization(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Digitale Freiheit", name="Jürgen Weiß")
    make_signature(session, letter, organization="Civic Watch", name="Ada Example")
    session.commit()

    found = organizations_on(client, "/letters/civic/signatories?q=jurgen weiss")

    assert found == ["Digitale Freiheit"]


def test_search_finds_an_individual_by_affiliation(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", name="Amina Diallo", organization="Sorbonne")
    make_signature(session, letter, kind="individual", name="Ben Okafor", organization="UCL")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?q=SORBONNE")

    assert row_names(section_html(page, "individual")) == ["Amina Diallo"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ольга", "Ольга Иванова"),
        ("ОЛЬГА", "Ольга Иванова"),
        ("محمد", "محمد الأحمد"),
        ("שרה", "שרה כהן"),
        ("张伟", "张伟"),
    ],
)
def test_search_finds_names_in_every_script(
    client: FlaskClient, session: Session, typed: str, expected: str
) -> None:
    letter = make_letter(session, slug="civic")
    for name in ("Ольга Иванова", "محمد الأحمد", "שרה כהן", "张伟", "Ada Example"):
        make_signature(session, letter, kind="individual", name=name, organization=None)
    session.commit()

    page = page_html(client, f"/letters/civic/signatories?q={typed}")

    assert row_names(section_html(page, "individual")) == [expected]


def test_search_ignores_arabic_vowel_marks(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", name="مُحَمَّد", organization=None)
    session.commit()

    page = page_html(client, "/letters/civic/signatories?q=محمد")

    assert row_names(section_html(page, "individual")) == ["مُحَمَّد"]


def test_search_treats_percent_and_underscore_as_plain_characters(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "100% Open", "Open_Data Lab", "Civic Watch")
    session.commit()

    assert organizations_on(client, "/letters/civic/signatories?q=%25") == ["100% Open"]
    assert organizations_on(client, "/letters/civic/signatories?q=_") == ["Open_Data Lab"]


def test_search_does_not_match_across_organization_and_signer(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Civic Watch", name="Ada Example")
    session.commit()

    assert organizations_on(client, "/letters/civic/signatories?q=watch ada") == []


def test_search_counts_the_matches_in_each_section(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "Café Liberté", "Café Central", "Civic Watch")
    make_signature(session, letter, kind="individual", name="Zoë Café")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?q=cafe")

    assert 'Organizations <span class="muted">(2)</span>' in page
    assert 'Individuals <span class="muted">(1)</span>' in page


def test_search_with_no_match_says_so(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "Civic Watch")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?q=zzz")

    assert "No organizations matching “<bdi>zzz</bdi>”." in page


def test_the_search_box_keeps_what_was_typed(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?q=%22%3E%3Cscript%3E")

    assert 'value="&#34;&gt;&lt;script&gt;"' in page
    assert '"><script>' not in page


def test_search_ignores_control_characters(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "Civic Watch")
    session.commit()

    assert organizations_on(client, "/letters/civic/signatories?q=civ%00ic") == ["Civic Watch"]


# --- Filters --------------------------------------------------------------------------------


def test_type_filter_keeps_that_type(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Union Org", organization_type="union")
    make_signature(session, letter, organization="NGO Org", organization_type="ngo")
    session.commit()

    assert organizations_on(client, "/letters/civic/signatories?type=union") == ["Union Org"]


def test_type_filter_leaves_out_the_individuals_section(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization_type="union")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?type=union")

    assert 'id="individuals"' not in page


def test_type_filter_on_the_individuals_section_explains_why_it_is_empty(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = page_html(client, "/letters/civic/signatories?section=individual&type=ngo")

    assert "apply to organizations only" in section_html(page, "individual")
    assert "Amina Diallo" not in page


@pytest.mark.parametrize(("value", "expected"), [("yes", ["Verified Org"]), ("no", ["Other Org"])])
def test_verified_filter_keeps_organizations_by_domain_verification(
    client: FlaskClient, session: Session, value: str, expected: list[str]
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Verified Org", domain_verified=True)
    make_signature(session, letter, organization="Other Org", domain_verified=False)
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = page_html(client, f"/letters/civic/signatories?verified={value}")

    assert row_names(section_html(page, "organization")) == expected
    assert "Amina Diallo" not in page


def test_filters_combine(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Café Kenya", country="KE", domain_verified=True)
    make_signature(session, letter, organization="Café Berlin", country="DE", domain_verified=True)
    make_signature(
        session, letter, organization="Café Nairobi", country="KE", domain_verified=False
    )
    make_signature(session, letter, organization="Kenya Watch", country="KE", domain_verified=True)
    session.commit()

    found = organizations_on(client, "/letters/civic/signatories?q=cafe&country=KE&verified=yes")

    assert found == ["Café Kenya"]


def test_the_form_shows_the_filters_in_use(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = page_html(
        client, "/letters/civic/signatories?type=union&verified=no&sort=name&country=KE"
    )

    assert '<option value="union" selected>' in page
    assert '<option value="no" selected>' in page
    assert '<option value="name" selected>' in page
    assert re.search(r'<option value="KE" selected>', page)


def test_the_form_is_a_get_form_so_every_view_is_a_link(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = page_html(client, "/letters/civic/signatories")

    assert re.search(r'<form class="filters" method="get"', page)
    for name in ("q", "country", "section", "type", "verified", "sort"):
        assert f'name="{name}"' in page, f"no {name} field in the form"


# --- Orders and keyset pages ---------------------------------------------------------------


def test_name_order_ignores_case_accents_and_leading_quotes(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "fox Trust", "“Eagle” Network", "Émile Institute", "Delta")
    session.commit()

    found = organizations_on(client, "/letters/civic/signatories?sort=name&section=organization")

    assert found == ["Delta", "“Eagle” Network", "Émile Institute"]


def test_individuals_sort_by_their_own_name_not_their_affiliation(session: Session) -> None:
    letter = make_letter(session)
    make_signature(session, letter, kind="individual", name="Zoë Adams", organization="Aachen")
    make_signature(session, letter, kind="individual", name="Ben Young", organization="Zurich")

    page = service.find_page(session, letter, ListFilters(kind="individual"), sort=Sort.NAME)

    assert [row.name for row in page.items] == ["Ben Young", "Zoë Adams"]


def test_newest_first_lists_the_latest_signature_first(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    organizations(session, letter, "First Org", "Second Org", "Third Org")
    session.commit()

    found = organizations_on(client, "/letters/civic/signatories?sort=newest")

    assert found == ["Third Org", "Second Org", "First Org"]


def expected_order(session: Session, letter: Letter, sort: Sort, kind: str | None) -> list[int]:
    query = select(Signature).where(
        Signature.letter_id == letter.id, Signature.status == "published"
    )
    if kind is not None:
        query = query.where(Signature.kind == kind)
    rows = list(session.scalars(query))
    if sort == Sort.NAME:
        rows.sort(key=lambda s: (s.sort_key, s.id))
    else:
        rows.sort(key=lambda s: (s.published_at, s.id), reverse=sort == Sort.NEWEST)
    return [s.id for s in rows]


def many_signatories(session: Session, letter: Letter) -> None:
    """Names that tie once folded (individuals), times that tie to the second, rows to skip."""
    names = ["Alpha", "alpha", "Álpha", "Beta", "béta", "Gamma", "Delta", "Ελλάδα", "Ωmega"]
    for n in range(40):
        organization = n % 3 != 0
        make_signature(
            session,
            letter,
            kind="organization" if organization else "individual",
            # Organizations must differ once folded (one place per organization).
            organization=f"{names[n % len(names)]} {n}" if organization else None,
            name=names[(n * 7) % len(names)],
            published_at=BASE + timedelta(seconds=n // 4),
        )
    make_signature(session, letter, organization="Withdrawn Org", status="withdrawn")
    make_signature(session, letter, organization="Pending Org", status="pending_review")


@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize("kind", [None, "organization", "individual"])
def test_keyset_pages_walk_every_row_exactly_once_in_each_order(
    session: Session, sort: Sort, kind: str | None
) -> None:
    letter = make_letter(session)
    many_signatories(session, letter)
    expected = expected_order(session, letter, sort, kind)

    seen: list[int] = []
    after = None
    while True:
        page = service.find_page(
            session, letter, ListFilters(kind=kind), sort=sort, after=after, limit=4
        )
        seen.extend(row.id for row in page.items)
        if page.next_cursor is None:
            break
        after = cursors.decode_position(page.next_cursor, sort)

    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert seen == expected


@pytest.mark.parametrize("sort", ["signed", "newest", "name"])
def test_more_links_walk_a_filtered_section_exactly_once(
    client: FlaskClient, session: Session, sort: str
) -> None:
    letter = make_letter(session, slug="civic")
    # Names in the reverse of signing order, two at each instant.
    names = [f"Café {chr(ord('K') - n)}{n}" for n in range(11)]
    for n, name in enumerate(names):
        make_signature(
            session, letter, organization=name, published_at=BASE + timedelta(seconds=n // 2)
        )
    make_signature(session, letter, organization="Civic Watch")
    session.commit()

    seen: list[str] = []
    url: str | None = f"/letters/civic/signatories?section=organization&q=cafe&sort={sort}"
    while url is not None:
        fragment = section_html(page_html(client, url), "organization")
        seen.extend(row_names(fragment))
        url = more_link(fragment)
        if url is not None:
            assert "q=cafe" in url
            assert sort == "signed" or f"sort={sort}" in url

    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert sorted(seen) == sorted(names)


def test_more_link_keeps_every_filter(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    names = [f"Café {n}" for n in range(PAGE_SIZE + 1)]
    organizations(session, letter, *names, organization_type="union", country="KE")
    session.commit()

    page = page_html(
        client, "/letters/civic/signatories?q=cafe&type=union&verified=yes&country=KE&sort=name"
    )
    link = more_link(section_html(page, "organization"))

    assert link is not None
    for part in ("q=cafe", "type=union", "verified=yes", "country=KE", "sort=name", "after="):
        assert part in link, f"{part} lost from the more link"


def test_a_name_cursor_survives_encoding_in_any_script() -> None:
    cursor = cursors.NameCursor("محمد الأحمد 张伟 ольга", 42)

    assert cursors.decode_name_cursor(cursors.encode_name_cursor(cursor)) == cursor


@pytest.mark.parametrize("token", ["", "zz", "not a cursor", "bjQ", "eDQ6YWJj", "bjE6AA"])
def test_decode_name_cursor_rejects_what_the_encoder_never_made(token: str) -> None:
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode_name_cursor(token)


# --- Bad parameters -------------------------------------------------------------------------


def name_cursor() -> str:
    return cursors.encode_name_cursor(cursors.NameCursor("civic watch", 1))


def time_cursor() -> str:
    return cursors.encode_cursor(cursors.Cursor(BASE, 1))


@pytest.mark.parametrize(
    ("query", "explains"),
    [
        ("type=charity", "organization type"),
        ("verified=maybe", "verified"),
        ("sort=random", "order"),
        ("q=" + "x" * 101, "at most 100 characters"),
        (f"section=organization&sort=signed&after={name_cursor()}", "page link"),
        (f"section=organization&sort=name&after={time_cursor()}", "page link"),
        ("section=organization&sort=name&after=not-a-cursor", "page link"),
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


def test_a_cursor_for_another_order_is_refused_by_the_service(session: Session) -> None:
    letter = make_letter(session)

    with pytest.raises(cursors.InvalidCursor):
        service.find_page(
            session, letter, ListFilters(), sort=Sort.NAME, after=cursors.Cursor(BASE, 1)
        )


# --- Every script ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["جمعية الحقوق الرقمية", "עמותת חופש המידע", "数字权利中心", "Правозащитный центр"]
)
def test_names_in_every_script_are_isolated_in_bdi(
    client: FlaskClient, session: Session, name: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=name, name=name, title=name)
    session.commit()

    page = page_html(client, "/letters/civic/signatories?sort=name")

    assert page.count(f"<bdi>{name}</bdi>") == 3  # organization, signer, title


# --- Signatures from before the search existed ----------------------------------------------


def test_upgrading_makes_existing_signatures_findable_and_sortable(tmp_path) -> None:
    """0004 adds the folded keys: rows signed before it must get them too."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from signatory.core.extensions import db

    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO letter (slug, title, recipient, status, allow_individuals,"
                    " moderation, require_domain_match, created_at)"
                    " VALUES ('old', 'Old', 'Chair', 'open', TRUE, 'none', FALSE,"
                    " '2025-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO letter_version (letter_id, number, body_markdown, body_html,"
                    " kind, change_note, created_at)"
                    " VALUES (1, 1, 'x', '<p>x</p>', 'initial', '', '2025-01-01 00:00:00')"
                )
            )
            for n, (kind, organization, name, status) in enumerate(
                [
                    ("organization", "“Café” Liberté", "Jürgen Weiß", "published"),
                    ("individual", "Université", "Ольга Иванова", "withdrawn"),
                ]
            ):
                connection.execute(
                    text(
                        "INSERT INTO signature (letter_id, version_id, kind, organization,"
                        " country, name, email, email_key, domain_verified, status,"
                        " confirm_nonce, withdraw_nonce, created_at, status_changed_at,"
                        " published_at) VALUES (1, 1, :kind, :organization, 'FR', :name,"
                        " :email, :email, FALSE, :status, 'n', 'n', '2025-01-02 00:00:00',"
                        " '2025-01-03 00:00:00', '2025-01-02 00:00:00')"
                    ),
                    {
                        "kind": kind,
                        "organization": organization,
                        "name": name,
                        "email": f"old{n}@example.org",
                        "status": status,
                    },
                )
        upgrade()
        with db.engine.connect() as connection:
            keys = connection.execute(
                text("SELECT sort_key, search_key FROM signature ORDER BY id")
            ).all()
            letter = connection.execute(
                text("SELECT list_revision, list_changed_at FROM letter")
            ).one()
        db.engine.dispose()

    assert [tuple(row) for row in keys] == [
        ("cafe” liberte", "“cafe” liberte\njurgen weiss"),
        ("ольга иванова", "universite\nольга иванова"),
    ]
    # The migration's frozen copy of the folding agrees with the app's.
    assert tuple(keys[0]) == (
        name_sort_key("“Café” Liberté"),
        search_text("“Café” Liberté", "Jürgen Weiß"),
    )
    assert letter.list_revision == 1
    assert str(letter.list_changed_at).startswith("2025-01-03")
