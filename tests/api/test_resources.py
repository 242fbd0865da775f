"""JSON API v1: letters, a letter, its signatures page by page, its versions, JSON errors.

Every answer goes through ``api_json``/``api_request``, which check it against the
OpenAPI document as well.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.models import Delivery, Letter, LetterVersion, Signature
from tests.api.responses import api_json, api_request
from tests.factories import bulk_publish, make_coordinator, make_letter, make_signature

PUBLIC_FIELDS = {
    "id",
    "kind",
    "organization",
    "country",
    "organization_type",
    "website",
    "name",
    "title",
    "domain_verified",
    "signed_at",
    "version",
}


def add_version(
    session: Session,
    letter: Letter,
    *,
    number: int,
    kind: str = "correction",
    change_note: str = "A change.",
    author_id: int | None = None,
) -> LetterVersion:
    version = LetterVersion(
        letter=letter,
        number=number,
        kind=kind,
        change_note=change_note,
        body_markdown=f"Version {number}.",
        body_html=f"<p>Version {number}.</p>",
        author_id=author_id,
        created_at=datetime(2025, 3, number, 12, 0, tzinfo=UTC),
    )
    session.add(version)
    session.flush()
    return version


def add_delivery(
    session: Session,
    letter: Letter,
    *,
    delivered_to: str = "Chair of the Ad Hoc Committee",
    sha256: str = "ab" * 32,
) -> Delivery:
    delivery = Delivery(
        letter=letter,
        delivered_to=delivered_to,
        delivered_at=datetime(2025, 4, 1, 10, 0, tzinfo=UTC),
        method="in person",
        csv_bytes=b"\xef\xbb\xbfSection\r\n",
        sha256=sha256,
        organizations=12,
        individuals=30,
    )
    session.add(delivery)
    session.flush()
    return delivery


def walk(client: FlaskClient, url: str) -> list[dict[str, Any]]:
    """Every signature reachable from ``url`` by following next_cursor."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        separator = "&" if "?" in url else "?"
        body = api_json(client, url + (f"{separator}cursor={cursor}" if cursor else ""))
        seen.extend(body["signatures"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


# --- the letters -------------------------------------------------------------------------


def test_letters_lists_public_letters_with_counts_and_never_drafts(
    client: FlaskClient, session: Session
) -> None:
    civic = make_letter(session, slug="civic")
    make_signature(session, civic)
    make_signature(session, civic, kind="individual")
    make_letter(session, slug="secret", status="draft")
    session.commit()

    body = api_json(client, "/api/v1/letters")

    assert body["letters"] == [
        {
            "slug": "civic",
            "title": civic.title,
            "recipient": civic.recipient,
            "status": "open",
            "deadline": None,
            "accepts_signatures": True,
            "goal": None,
            "url": "http://signatory.test/letters/civic",
            "counts": {"organizations": 1, "individuals": 1, "total": 2},
        }
    ]


def test_letters_lists_open_letters_before_closed_and_delivered_ones(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="closed", status="closed")
    make_letter(session, slug="delivered", status="delivered")
    make_letter(session, slug="open")
    session.commit()

    body = api_json(client, "/api/v1/letters")

    assert body["letters"][0]["slug"] == "open"
    assert {item["slug"] for item in body["letters"]} == {"open", "closed", "delivered"}


def test_letters_is_an_empty_list_when_nothing_is_public(client: FlaskClient) -> None:
    assert api_json(client, "/api/v1/letters") == {"letters": []}


# --- the letter --------------------------------------------------------------------------


def test_letter_answers_its_details_version_and_counts(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", recipient="Chair of the Committee")
    make_signature(session, letter)
    make_signature(session, letter)
    make_signature(session, letter, kind="individual")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic")

    assert body["letter"] == {
        "slug": "civic",
        "title": letter.title,
        "recipient": "Chair of the Committee",
        "status": "open",
        "deadline": None,
        "accepts_signatures": True,
        "goal": None,
        "url": "http://signatory.test/letters/civic",
    }
    assert body["version"]["number"] == 1
    assert "<strong>protect</strong>" in body["version"]["body_html"]
    assert body["version"]["created_at"].endswith("Z")
    assert body["counts"] == {"organizations": 2, "individuals": 1, "total": 3}


def test_letter_counts_only_published_signatures(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    for status in ("unconfirmed", "pending_review", "rejected", "withdrawn"):
        make_signature(session, letter, status=status)
    session.commit()

    body = api_json(client, "/api/v1/letters/civic")

    assert body["counts"]["total"] == 1


def test_letter_past_its_deadline_does_not_accept_signatures(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic", deadline=datetime(2020, 1, 1, tzinfo=UTC))
    session.commit()

    body = api_json(client, "/api/v1/letters/civic")

    assert body["letter"]["accepts_signatures"] is False
    assert body["letter"]["deadline"] == "2020-01-01T00:00:00Z"


def test_letter_counts_by_country_and_by_organization_type(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, country="DE", organization_type="ngo")
    make_signature(session, letter, country="DE", organization_type="union")
    make_signature(session, letter, country="KE", organization_type="ngo")
    make_signature(session, letter, kind="individual", country="FR")
    make_signature(session, letter, country="FR", status="pending_review")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic")

    assert body["counts_by_country"] == {"DE": 2, "FR": 1, "KE": 1}
    assert body["counts_by_organization_type"] == {"ngo": 2, "union": 1}


def test_letter_answers_its_current_version_with_kind_and_change_note(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    add_version(session, letter, number=2, change_note="Names the committee correctly.")
    session.commit()

    version = api_json(client, "/api/v1/letters/civic")["version"]

    assert version["number"] == 2
    assert version["kind"] == "correction"
    assert version["change_note"] == "Names the committee correctly."
    assert version["body_html"] == "<p>Version 2.</p>"


def test_letter_has_no_delivery_until_delivered(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    assert api_json(client, "/api/v1/letters/civic")["delivery"] is None


def test_delivered_letter_answers_its_latest_delivery_record(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", status="delivered")
    add_delivery(session, letter, delivered_to="Someone earlier", sha256="0" * 64)
    add_delivery(session, letter, delivered_to="Chair of the Ad Hoc Committee", sha256="ab" * 32)
    session.commit()

    delivery = api_json(client, "/api/v1/letters/civic")["delivery"]

    assert delivery == {
        "delivered_to": "Chair of the Ad Hoc Committee",
        "delivered_at": "2025-04-01T10:00:00Z",
        "method": "in person",
        "organizations": 12,
        "individuals": 30,
        "sha256": "ab" * 32,
        "download_url": "http://signatory.test/letters/civic/delivered.csv",
    }


def test_unknown_letter_is_a_404_json_error(client: FlaskClient) -> None:
    body = api_json(client, "/api/v1/letters/no-such-letter", status=404)

    assert body["error"]["code"] == "not_found"
    assert "no-such-letter" in body["error"]["message"]


def test_draft_letter_is_404(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="secret", status="draft")
    session.commit()

    body = api_json(client, "/api/v1/letters/secret", status=404)

    assert body["error"]["code"] == "not_found"


# --- the signatures ----------------------------------------------------------------------


def test_signatures_carry_exactly_the_public_fields(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(
        session,
        letter,
        organization="Civic Watch",
        country="KE",
        website="https://civic.example.org",
        published_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
    )
    session.commit()

    (item,) = api_json(client, "/api/v1/letters/civic/signatures")["signatures"]

    assert item == {
        "id": signature.id,
        "kind": "organization",
        "organization": "Civic Watch",
        "country": "KE",
        "organization_type": "ngo",
        "website": "https://civic.example.org",
        "name": "Ada Example",
        "title": "Director",
        "domain_verified": True,
        "signed_at": "2025-03-01T09:30:00Z",
        "version": 1,
        "lead": None,
        "reconfirmed_version": None,
    }


def test_signatures_never_contain_email_addresses(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    session.commit()

    for url in ("/api/v1/letters/civic", "/api/v1/letters/civic/signatures"):
        text = api_request(client, url).get_data(as_text=True)
        assert "director@civic-watch.example" not in text, url
        assert "amina@home.example" not in text, url


@pytest.mark.parametrize("status", ["unconfirmed", "pending_review", "rejected", "withdrawn"])
def test_unpublished_signatures_are_never_listed(
    client: FlaskClient, session: Session, status: str
) -> None:
    letter = make_letter(session, slug="civic")
    listed = make_signature(session, letter)
    make_signature(session, letter, status=status)
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures")

    assert [item["id"] for item in body["signatures"]] == [listed.id]


def test_default_page_holds_50_signatures(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 51, kind="organization", per_instant=4)
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures")

    assert len(body["signatures"]) == 50
    assert body["next_cursor"] is not None


def test_last_page_has_null_next_cursor(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 3, kind="organization", per_instant=4)
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?limit=3")

    assert len(body["signatures"]) == 3
    assert body["next_cursor"] is None


def test_cursor_pages_walk_every_signature_exactly_once_in_signing_order(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 150, kind="organization", per_instant=4)
    bulk_publish(session, letter, 90, kind="individual", per_instant=4)
    session.commit()
    expected = list(
        session.scalars(
            select(Signature.id)
            .where(Signature.letter_id == letter.id)
            .order_by(Signature.published_at, Signature.id)
        )
    )

    ids = [item["id"] for item in walk(client, "/api/v1/letters/civic/signatures?limit=17")]

    assert len(ids) == len(set(ids)), "a signature was listed twice"
    assert ids == expected


def test_kind_filter_keeps_one_section(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 12, kind="organization", per_instant=4)
    bulk_publish(session, letter, 9, kind="individual", per_instant=4)
    session.commit()

    items = walk(client, "/api/v1/letters/civic/signatures?kind=individual&limit=4")

    assert len(items) == 9
    assert {item["kind"] for item in items} == {"individual"}


def test_country_filter_keeps_one_country(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, country="DE")
    kenyan = make_signature(session, letter, country="KE")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?country=ke")

    assert [item["id"] for item in body["signatures"]] == [kenyan.id]


def test_organization_type_filter_keeps_organizations_of_that_type(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    union = make_signature(session, letter, organization_type="union")
    make_signature(session, letter, organization_type="ngo")
    make_signature(session, letter, kind="individual")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?organization_type=union")

    assert [item["id"] for item in body["signatures"]] == [union.id]


def test_domain_verified_true_keeps_verified_organizations(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    verified = make_signature(session, letter, domain_verified=True)
    make_signature(session, letter, domain_verified=False)
    make_signature(session, letter, kind="individual")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?domain_verified=true")

    assert [item["id"] for item in body["signatures"]] == [verified.id]


def test_domain_verified_false_keeps_unverified_organizations_only(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, domain_verified=True)
    unverified = make_signature(session, letter, domain_verified=False)
    make_signature(session, letter, kind="individual")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?domain_verified=false")

    assert [item["id"] for item in body["signatures"]] == [unverified.id]


def test_search_finds_names_ignoring_case_and_accents(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    cafe = make_signature(session, letter, organization="Café Solidarité")
    make_signature(session, letter, organization="Civic Watch")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?q=CAFE")

    assert [item["id"] for item in body["signatures"]] == [cafe.id]


def test_sort_by_name_pages_through_every_signature_in_name_order(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    for name in ("Delta", "alpha", "Charlie", "Bravo", "Echo"):
        make_signature(session, letter, organization=f"{name} Network")
    session.commit()

    items = walk(client, "/api/v1/letters/civic/signatures?sort=name&limit=2")

    assert [item["organization"] for item in items] == [
        "alpha Network",
        "Bravo Network",
        "Charlie Network",
        "Delta Network",
        "Echo Network",
    ]


def test_sort_newest_lists_the_latest_signature_first(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    first = make_signature(session, letter, published_at=datetime(2025, 3, 1, tzinfo=UTC))
    last = make_signature(session, letter, published_at=datetime(2025, 3, 2, tzinfo=UTC))
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/signatures?sort=newest")

    assert [item["id"] for item in body["signatures"]] == [last.id, first.id]


def test_a_cursor_made_for_another_sort_is_a_400(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 3, kind="organization", per_instant=4)
    session.commit()
    cursor = api_json(client, "/api/v1/letters/civic/signatures?limit=1")["next_cursor"]

    body = api_json(
        client, f"/api/v1/letters/civic/signatures?sort=name&cursor={cursor}", status=400
    )

    assert body["error"]["code"] == "invalid_cursor"


def test_filtered_pages_walk_every_match_exactly_once_in_signing_order(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    expected = []
    for i in range(23):
        signature = make_signature(
            session,
            letter,
            kind="individual" if i % 3 == 0 else "organization",
            domain_verified=i % 2 == 0,
            published_at=datetime(2025, 3, 1, 9, i // 2, tzinfo=UTC),
        )
        if signature.kind == "organization" and not signature.domain_verified:
            expected.append(signature)
    session.commit()
    expected.sort(key=lambda s: (s.published_at, s.id))

    items = walk(client, "/api/v1/letters/civic/signatures?domain_verified=false&limit=4")

    assert [item["id"] for item in items] == [s.id for s in expected]


def test_signatures_of_a_draft_letter_are_404(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="secret", status="draft")
    make_signature(session, letter)
    session.commit()

    body = api_json(client, "/api/v1/letters/secret/signatures", status=404)

    assert body["error"]["code"] == "not_found"


def test_signatures_of_an_unknown_letter_are_404(client: FlaskClient) -> None:
    body = api_json(client, "/api/v1/letters/no-such-letter/signatures", status=404)

    assert body["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=MTIzNA", "cursor"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("kind=everyone", "kind"),
        ("kind=Organization", "kind"),
        ("country=XX", "country"),
        ("country=DEU", "country"),
        ("organization_type=charity", "organization_type"),
        ("organization_type=NGO", "organization_type"),
        ("domain_verified=yes", "domain_verified"),
        ("domain_verified=1", "domain_verified"),
        ("domain_verified=True", "domain_verified"),
        ("sort=oldest", "sort"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_invalid_parameter_is_a_400_json_error_naming_it(
    client: FlaskClient, session: Session, query: str, parameter: str
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    body = api_json(client, f"/api/v1/letters/civic/signatures?{query}", status=400)

    assert body["error"]["code"] == f"invalid_{parameter}"
    assert parameter in body["error"]["message"]


def test_wrong_method_is_a_405_json_error_with_allow(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = api_request(client, "/api/v1/letters/civic/signatures", method="POST", status=405)

    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


# --- the versions ------------------------------------------------------------------------


def test_versions_lists_every_version_oldest_first_without_texts(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    add_version(session, letter, number=2, kind="substantive", change_note="Adds a demand.")
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/versions")

    assert [(item["number"], item["kind"], item["change_note"]) for item in body["versions"]] == [
        (1, "initial", ""),
        (2, "substantive", "Adds a demand."),
    ]
    assert all("body_html" not in item for item in body["versions"])
    assert body["versions"][1]["created_at"] == "2025-03-02T12:00:00Z"


def test_versions_include_body_adds_each_text(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    add_version(session, letter, number=2)
    session.commit()

    body = api_json(client, "/api/v1/letters/civic/versions?include=body")

    assert "<strong>protect</strong>" in body["versions"][0]["body_html"]
    assert body["versions"][1]["body_html"] == "<p>Version 2.</p>"


@pytest.mark.parametrize("include", ["authors", "body,authors", "BODY"])
def test_versions_unknown_include_is_a_400_naming_it(
    client: FlaskClient, session: Session, include: str
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    body = api_json(client, f"/api/v1/letters/civic/versions?include={include}", status=400)

    assert body["error"]["code"] == "invalid_include"
    assert "include" in body["error"]["message"]


def test_versions_of_a_draft_letter_are_404(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="secret", status="draft")
    session.commit()

    body = api_json(client, "/api/v1/letters/secret/versions", status=404)

    assert body["error"]["code"] == "not_found"


# --- nothing private, anywhere -----------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def test_no_api_response_contains_an_email_address(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic", status="delivered")
    author = make_coordinator(session, email="editor@coalition.example.org")
    add_version(session, letter, number=2, author_id=author.id)
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    make_signature(session, letter, status="pending_review", email="waiting@ngo.example")
    add_delivery(session, letter)
    session.commit()

    for url in (
        "/api/v1/letters",
        "/api/v1/letters/civic",
        "/api/v1/letters/civic/signatures",
        "/api/v1/letters/civic/signatures?kind=individual",
        "/api/v1/letters/civic/versions?include=body",
        "/api/v1/openapi.json",
    ):
        text = api_request(client, url).get_data(as_text=True)
        assert _EMAIL.search(text) is None, f"{url} shows {_EMAIL.search(text)}"


def test_unknown_api_path_is_a_404_json_error(client: FlaskClient) -> None:
    body = api_json(client, "/api/v1/nothing-here", status=404)

    assert body["error"]["code"] == "not_found"
