"""JSON API v1: the letter, its published signatures page by page, and JSON errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from signatory.models import Letter, Signature
from tests.factories import make_letter, make_signature

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


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, f"GET {url} answered {response.status_code}"
    assert response.mimetype == "application/json", f"GET {url} answered {response.mimetype}"
    return response.get_json()


def bulk_publish(session: Session, letter: Letter, count: int, *, kind: str) -> None:
    """``count`` published rows in one INSERT; every four share a published_at instant."""
    base = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    session.execute(
        insert(Signature),
        [
            {
                "letter_id": letter.id,
                "version_id": letter.current_version.id,
                "kind": kind,
                "organization": f"Org {kind[0]}{i}",
                "organization_key": f"org{kind[0]}{i}",
                "country": "DE",
                "name": f"Signer {kind[0]}{i}",
                "email": f"api{kind[0]}{i}@example.org",
                "email_key": f"api{kind[0]}{i}@example.org",
                "status": "published",
                "published_at": base + timedelta(seconds=i // 4),
            }
            for i in range(count)
        ],
    )


def walk(client: FlaskClient, url: str) -> list[dict[str, Any]]:
    """Every signature reachable from ``url`` by following next_cursor."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        separator = "&" if "?" in url else "?"
        body = get_json(client, url + (f"{separator}cursor={cursor}" if cursor else ""))
        seen.extend(body["signatures"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


# --- the letter --------------------------------------------------------------------------


def test_letter_answers_its_details_version_and_counts(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", recipient="Chair of the Committee")
    make_signature(session, letter)
    make_signature(session, letter)
    make_signature(session, letter, kind="individual")
    session.commit()

    body = get_json(client, "/api/v1/letters/civic")

    assert body["letter"] == {
        "slug": "civic",
        "title": letter.title,
        "recipient": "Chair of the Committee",
        "status": "open",
        "deadline": None,
        "accepts_signatures": True,
        "url": "http://localhost/letters/civic",
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

    body = get_json(client, "/api/v1/letters/civic")

    assert body["counts"]["total"] == 1


def test_letter_past_its_deadline_does_not_accept_signatures(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic", deadline=datetime(2020, 1, 1, tzinfo=UTC))
    session.commit()

    body = get_json(client, "/api/v1/letters/civic")

    assert body["letter"]["accepts_signatures"] is False
    assert body["letter"]["deadline"] == "2020-01-01T00:00:00Z"


def test_unknown_letter_is_a_404_json_error(client: FlaskClient) -> None:
    body = get_json(client, "/api/v1/letters/no-such-letter", status=404)

    assert body["error"]["code"] == "not_found"
    assert "no-such-letter" in body["error"]["message"]


def test_draft_letter_is_404(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="secret", status="draft")
    session.commit()

    body = get_json(client, "/api/v1/letters/secret", status=404)

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

    (item,) = get_json(client, "/api/v1/letters/civic/signatures")["signatures"]

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
    }


def test_signatures_never_contain_email_addresses(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    session.commit()

    for url in ("/api/v1/letters/civic", "/api/v1/letters/civic/signatures"):
        text = client.get(url).get_data(as_text=True)
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

    body = get_json(client, "/api/v1/letters/civic/signatures")

    assert [item["id"] for item in body["signatures"]] == [listed.id]


def test_default_page_holds_50_signatures(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 51, kind="organization")
    session.commit()

    body = get_json(client, "/api/v1/letters/civic/signatures")

    assert len(body["signatures"]) == 50
    assert body["next_cursor"] is not None


def test_last_page_has_null_next_cursor(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 3, kind="organization")
    session.commit()

    body = get_json(client, "/api/v1/letters/civic/signatures?limit=3")

    assert len(body["signatures"]) == 3
    assert body["next_cursor"] is None


def test_cursor_pages_walk_every_signature_exactly_once_in_signing_order(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    bulk_publish(session, letter, 150, kind="organization")
    bulk_publish(session, letter, 90, kind="individual")
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
    bulk_publish(session, letter, 12, kind="organization")
    bulk_publish(session, letter, 9, kind="individual")
    session.commit()

    items = walk(client, "/api/v1/letters/civic/signatures?kind=individual&limit=4")

    assert len(items) == 9
    assert {item["kind"] for item in items} == {"individual"}


def test_country_filter_keeps_one_country(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, country="DE")
    kenyan = make_signature(session, letter, country="KE")
    session.commit()

    body = get_json(client, "/api/v1/letters/civic/signatures?country=ke")

    assert [item["id"] for item in body["signatures"]] == [kenyan.id]


def test_signatures_of_a_draft_letter_are_404(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="secret", status="draft")
    make_signature(session, letter)
    session.commit()

    body = get_json(client, "/api/v1/letters/secret/signatures", status=404)

    assert body["error"]["code"] == "not_found"


def test_signatures_of_an_unknown_letter_are_404(client: FlaskClient) -> None:
    body = get_json(client, "/api/v1/letters/no-such-letter/signatures", status=404)

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
    ],
)
def test_invalid_parameter_is_a_400_json_error_naming_it(
    client: FlaskClient, session: Session, query: str, parameter: str
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    body = get_json(client, f"/api/v1/letters/civic/signatures?{query}", status=400)

    assert body["error"]["code"] == f"invalid_{parameter}"
    assert parameter in body["error"]["message"]


def test_wrong_method_is_a_405_json_error(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.post("/api/v1/letters/civic/signatures")

    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_unknown_api_path_is_a_404_json_error(client: FlaskClient) -> None:
    body = get_json(client, "/api/v1/nothing-here", status=404)

    assert body["error"]["code"] == "not_found"
