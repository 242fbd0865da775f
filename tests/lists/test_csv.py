"""The CSV download: published rows only, no emails, Excel-safe encoding, no live formulas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory.lists import writers as exports
from signatory.lists.queries import DOWNLOAD_FIELDS
from tests.downloads import csv_records
from tests.factories import make_letter, make_signature

TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]


def public_signature(**overrides: object) -> tuple[object, ...]:
    """A row as ``iter_published`` reads it (``DOWNLOAD_FIELDS``)."""
    values: dict[str, object] = {
        "id": 1,
        "organization": "Civic Watch",
        "country": "KE",
        "organization_type": "ngo",
        "website": "https://civic.example.org",
        "name": "Wanjiru Kamau",
        "title": "Director",
        "domain_verified": True,
        "signed_at": "2025-03-01T09:30:15Z",
        "version": 2,
        "lead": None,
        "reconfirmed_version": None,
    }
    values.update(overrides)
    return tuple(values[field] for field in DOWNLOAD_FIELDS)


def download(client: FlaskClient, slug: str = "civic") -> str:
    response = client.get(f"/letters/{slug}/signatories.csv")
    assert response.status_code == 200, f"CSV answered {response.status_code}"
    return response.get_data().decode("utf-8")


# --- pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_neutralise_prefixes_a_quote_to_each_formula_trigger(trigger: str) -> None:
    assert exports.neutralise(f"{trigger}SUM(A1:A2)") == f"'{trigger}SUM(A1:A2)"


@pytest.mark.parametrize(
    "value", ["Civic Watch", "", "Ärzte ohne Grenzen", "a=b", "x-y", "'quoted"]
)
def test_neutralise_leaves_ordinary_text_unchanged(value: str) -> None:
    assert exports.neutralise(value) == value


def test_neutralise_looks_past_leading_spaces() -> None:
    assert exports.neutralise("  =1+1") == "'  =1+1"


def test_csv_row_neutralises_every_cell() -> None:
    row = exports.csv_row(
        "organization",
        public_signature(
            organization='=HYPERLINK("http://evil")',
            website="@evil",
            name="+1",
            title="-2",
        ),
    )

    assert row[1].startswith("'=")
    assert row[5] == "'@evil"
    assert row[6] == "'+1"
    assert row[7] == "'-2"


def test_csv_row_follows_the_header() -> None:
    row = dict(
        zip(exports.HEADER, exports.csv_row("organization", public_signature()), strict=True)
    )

    assert row == {
        "Section": "Organization",
        "Organization or affiliation": "Civic Watch",
        "Country code": "KE",
        "Country": "Kenya",
        "Organization type": "Non-governmental organization",
        "Website": "https://civic.example.org",
        "Signer name": "Wanjiru Kamau",
        "Title": "Director",
        "Domain verified": "yes",
        "Signed at (UTC)": "2025-03-01T09:30:15Z",
        "Letter version": "2",
        "lead": "",
        "reconfirmed_version": "",
    }


def test_csv_row_leaves_domain_verified_blank_for_individuals() -> None:
    row = exports.csv_row("individual", public_signature(organization_type=None))

    assert row[exports.HEADER.index("Domain verified")] == ""


def test_iter_csv_starts_with_bom_then_header(session: Session) -> None:
    letter = make_letter(session)

    first = next(exports.iter_csv(session, letter))

    assert first.startswith(exports.BOM + "Section,")


def test_iter_csv_yields_one_chunk_per_batch(session: Session) -> None:
    letter = make_letter(session)
    for _ in range(5):
        make_signature(session, letter)

    chunks = list(exports.iter_csv(session, letter, batch_size=2))

    # Header, then batches of 2, 2 and 1 organizations.
    assert len(chunks) == 4
    assert sum(chunk.count("\r\n") for chunk in chunks) == 6


def test_csv_filename_is_slug_based_and_header_safe(session: Session) -> None:
    letter = make_letter(session, slug='civic"; x=1')

    assert exports.csv_filename(letter) == "civic-x-1-signatories.csv"


# --- the download ------------------------------------------------------------------------


def test_download_is_a_csv_attachment_named_after_the_slug(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/signatories.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="civic-signatories.csv"'


def test_download_is_streamed(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/signatories.csv")

    assert response.is_streamed


def test_download_starts_with_a_utf8_bom(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/signatories.csv")

    assert response.get_data().startswith(b"\xef\xbb\xbf")


def test_download_keeps_non_ascii_names_intact(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Ärzte für Umwelt", name="Zoë Ñúñez")
    make_signature(session, letter, organization="منظمة المجتمع المدني", name="李华")
    session.commit()

    rows = csv_records(download(client))

    assert [r["Organization or affiliation"] for r in rows] == [
        "Ärzte für Umwelt",
        "منظمة المجتمع المدني",
    ]
    assert [r["Signer name"] for r in rows] == ["Zoë Ñúñez", "李华"]


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_download_neutralises_formula_triggers(
    client: FlaskClient, session: Session, trigger: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=f"{trigger}cmd|' /C calc'!A0")
    session.commit()

    (row,) = csv_records(download(client))

    assert row["Organization or affiliation"] == f"'{trigger}cmd|' /C calc'!A0"


@pytest.mark.parametrize("status", ["unconfirmed", "pending_review", "rejected", "withdrawn"])
def test_download_lists_only_published_signatures(
    client: FlaskClient, session: Session, status: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Listed Org")
    make_signature(session, letter, organization="Hidden Org", status=status)
    session.commit()

    rows = csv_records(download(client))

    assert [r["Organization or affiliation"] for r in rows] == ["Listed Org"]


def test_download_never_contains_email_addresses(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    session.commit()

    body = download(client)

    assert "director@civic-watch.example" not in body
    assert "amina@home.example" not in body


def test_download_lists_organizations_before_individuals(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", name="Early Individual")
    make_signature(session, letter, name="Later Signer", organization="Later Org")
    session.commit()

    rows = csv_records(download(client))

    assert [r["Section"].split(" ")[0] for r in rows] == ["Organization", "Individual"]


def test_download_gives_signed_at_in_iso_8601_utc(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, published_at=datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC))
    session.commit()

    (row,) = csv_records(download(client))

    assert row["Signed at (UTC)"] == "2025-03-01T09:30:15Z"


def test_download_of_unknown_letter_is_404(client: FlaskClient) -> None:
    assert client.get("/letters/no-such-letter/signatories.csv").status_code == 404


def test_download_of_draft_letter_is_404(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="secret", status="draft")
    make_signature(session, letter)
    session.commit()

    assert client.get("/letters/secret/signatories.csv").status_code == 404
