"""The delivery package: a PDF and a ZIP made from the frozen data, the same bytes every time."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.core.spreadsheets import BOM, csv_chunk
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.delivery import package, store
from signatory.delivery import service as delivery_service
from signatory.delivery.frozen import parse_rows
from signatory.delivery.service import DeliveryData
from signatory.lists.writers import HEADER
from signatory.models import Delivery, Letter, LetterTranslation, LetterVersion, Signature
from signatory.signatures import service
from tests.conftest import fetch_csrf, sign_in
from tests.factories import make_letter, make_member, make_signature

DELIVERED_AT = datetime(2025, 6, 30, 14, 0, tzinfo=UTC)

# Names in the scripts a coalition's list holds: accents, Arabic, Chinese, Cyrillic.
ORGANIZATIONS = (
    ("Ärzte für Netze", "AT"),
    ("مؤسسة الحقوق الرقمية", "EG"),
    ("数字权利基金会", "CN"),
    ("Цифровые права", "UA"),
    ("Kenya ICT Action", "KE"),
)
INDIVIDUALS = (("Zoë Adams", "KE"), ("محمد الأحمد", "JO"), ("王小明", "TW"))


def deliver(session: Session, letter: Letter, **overrides: Any) -> Delivery:
    owner = make_member(session, letter, role="owner")
    data = DeliveryData(
        **{
            "delivered_to": "Chair of the Ad Hoc Committee",
            "delivered_at": DELIVERED_AT,
            "method": "by email to the secretariat",
            "note": "Secretariat acknowledged receipt, reference 4471.",
            **overrides,
        }
    )
    delivery = delivery_service.deliver(session, letter, data, actor=owner, now=utcnow())
    session.commit()
    return delivery


@pytest.fixture
def letter(session: Session) -> Letter:
    """An open letter signed by organizations and individuals in several scripts."""
    letter = make_letter(session, slug="civic")
    for organization, country in ORGANIZATIONS:
        make_signature(session, letter, organization=organization, country=country)
    for name, country in INDIVIDUALS:
        make_signature(session, letter, kind="individual", name=name, country=country)
    make_signature(session, letter, status="pending_review", organization="Waiting Org")
    return letter


def inputs_of(session: Session, letter: Letter) -> package.PackageInputs:
    delivery = delivery_service.delivery_of(session, letter)
    assert delivery is not None
    return package.package_inputs(session, letter, delivery)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as a text extractor reads it, with runs of white space made one."""
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def zip_files(archive: bytes) -> dict[str, bytes]:
    """The ZIP's files by name within its folder, in the archive's order."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {info.filename.split("/", 1)[1]: opened.read(info) for info in opened.infolist()}


def with_lead_column(delivery: Delivery, roles: dict[str, str]) -> None:
    """Freeze ``delivery``'s list as the export writes it with its lead column.

    Where the export already has the column (``organizations.leads``), only its cells are
    set; a list frozen before it gets one at the end, as the export adds it.
    """
    text = bytes(delivery.csv_bytes).decode("utf-8").removeprefix(BOM)
    table = list(csv.reader(io.StringIO(text, newline="")))
    header = table[0]
    lead = next((i for i, label in enumerate(header) if label.lower().startswith("lead")), None)
    if lead is None:
        header.append("Lead")
        lead = len(header) - 1
        for row in table[1:]:
            row.append("")
    for row in table[1:]:
        row[lead] = roles.get(row[1], "")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    delivery.csv_bytes = (BOM + buffer.getvalue()).encode("utf-8")
    delivery.sha256 = hashlib.sha256(delivery.csv_bytes).hexdigest()
    db.session.commit()


# --- The PDF -----------------------------------------------------------------------------


def test_the_pdf_holds_every_signatory_of_the_frozen_list_in_any_script(
    session: Session, letter: Letter
) -> None:
    delivery = deliver(session, letter)

    text = pdf_text(package.build_pdf(inputs_of(session, letter)))

    names = [
        r.organization if r.kind == "organization" else r.name
        for r in parse_rows(bytes(delivery.csv_bytes))
    ]
    assert len(names) == len(ORGANIZATIONS) + len(INDIVIDUALS)
    for name in names:
        assert name in text, f"{name!r} is not in the PDF's text"
    assert "Waiting Org" not in text


def test_the_pdf_holds_the_letter_text_and_the_delivery_record_with_the_hash(
    session: Session, letter: Letter
) -> None:
    delivery = deliver(session, letter)

    text = pdf_text(package.build_pdf(inputs_of(session, letter)))

    assert letter.title in text
    assert "To: Chair of the Ad Hoc Committee" in text
    assert "protect civic space" in text
    assert "Delivered to Chair of the Ad Hoc Committee" in text
    assert "30 June 2025, 14:00 UTC" in text
    assert "by email to the secretariat" in text
    assert "5 organizations and 3 individuals" in text
    assert delivery.sha256 in text.replace(" ", "")


def test_the_pdf_leaves_out_the_note_the_form_keeps_private(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)

    text = pdf_text(package.build_pdf(inputs_of(session, letter)))

    assert "4471" not in text


def test_the_pdf_names_the_lead_organizations_from_the_frozen_lead_column(
    session: Session, letter: Letter
) -> None:
    delivery = deliver(session, letter)
    with_lead_column(
        delivery,
        {
            "Ärzte für Netze": "initiator",
            "Kenya ICT Action": "initiator",
            "数字权利基金会": "co-sponsor",
        },
    )

    text = pdf_text(package.build_pdf(inputs_of(session, letter)))

    assert "Initiated by Ärzte für Netze and Kenya ICT Action and joined by 数字权利基金会." in text


def test_a_list_frozen_before_the_lead_column_has_no_lead_line(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)
    inputs = inputs_of(session, letter)

    text = pdf_text(package.build_pdf(inputs))

    assert "Initiated by" not in text and "Co-sponsored by" not in text
    assert all(name in text for name, _ in ORGANIZATIONS)


def test_the_pdf_is_dated_by_the_delivery_and_carries_a_fixed_identifier(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)
    inputs = inputs_of(session, letter)

    reader = pypdf.PdfReader(io.BytesIO(package.build_pdf(inputs)))

    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == "D:20250630140000Z"
    assert reader.metadata["/ModDate"] == "D:20250630140000Z"
    assert reader.metadata.title == letter.title
    assert reader.trailer["/ID"][0] == inputs.digest[:32]


# --- The ZIP -----------------------------------------------------------------------------


def test_the_zip_holds_the_text_the_pdf_the_lists_and_a_manifest_in_a_fixed_order(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)
    inputs = inputs_of(session, letter)

    files = zip_files(package.build_zip(inputs, b"%PDF-stand-in"))

    assert list(files) == [
        "letter.md",
        "civic-delivered-2025-06-30.pdf",
        "civic-delivered-2025-06-30.csv",
        "civic-delivered-2025-06-30.xlsx",
        "manifest.json",
    ]
    assert files["letter.md"].decode().startswith(f"# {letter.title}\n\nTo: {letter.recipient}")
    assert "**protect** civic space" in files["letter.md"].decode()


def test_the_zip_manifest_lists_each_file_with_its_sha256_and_size(
    session: Session, letter: Letter
) -> None:
    delivery = deliver(session, letter)
    inputs = inputs_of(session, letter)

    files = zip_files(package.build_zip(inputs, package.build_pdf(inputs)))
    manifest = json.loads(files.pop("manifest.json"))

    assert [entry["name"] for entry in manifest["files"]] == list(files)
    for entry in manifest["files"]:
        data = files[entry["name"]]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert manifest["letter"] == "civic"
    assert manifest["version"] == 1
    assert manifest["delivered_at"] == "2025-06-30T14:00:00Z"
    assert manifest["list_sha256"] == delivery.sha256


def test_the_csv_in_the_zip_is_the_frozen_csv_byte_for_byte(
    session: Session, letter: Letter
) -> None:
    delivery = deliver(session, letter)

    files = zip_files(package.build_zip(inputs_of(session, letter), b"%PDF-stand-in"))

    assert files["civic-delivered-2025-06-30.csv"] == bytes(delivery.csv_bytes)


def test_the_xlsx_in_the_zip_holds_the_frozen_cells_as_text(session: Session) -> None:
    letter = make_letter(session, slug="guarded")
    make_signature(session, letter, organization="=HYPERLINK(1)", name="王小明", country="FR")
    delivery = deliver(session, letter)

    files = zip_files(package.build_zip(inputs_of(session, letter), b"%PDF-stand-in"))
    sheet = load_workbook(io.BytesIO(files["guarded-delivered-2025-06-30.xlsx"])).active

    text = bytes(delivery.csv_bytes).decode("utf-8").removeprefix(BOM)
    frozen = list(csv.reader(io.StringIO(text, newline="")))
    assert sheet is not None
    cells = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert cells == frozen
    assert "'=HYPERLINK(1)" in cells[1]


def test_a_translation_of_the_delivered_text_is_in_the_zip_as_markdown(
    session: Session, letter: Letter
) -> None:
    version = session.scalar(select(LetterVersion).where(LetterVersion.letter_id == letter.id))
    assert version is not None
    body = "Nous **protégeons** l'espace civique."
    session.add(
        LetterTranslation(
            version=version,
            language="fr",
            title="Protéger l'espace civique",
            body_markdown=body,
            body_html=render_markdown(body),
            source_sha256="0" * 64,
        )
    )
    deliver(session, letter)

    files = zip_files(package.build_zip(inputs_of(session, letter), b"%PDF-stand-in"))

    assert files["letter.fr.md"].decode().startswith("# Protéger l'espace civique\n\n" + body)


# --- Reproducible ------------------------------------------------------------------------


def test_the_pdf_and_zip_are_the_same_bytes_built_again_later_and_after_the_list_changed(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)
    first = inputs_of(session, letter)
    pdf = package.build_pdf(first)
    archive = package.build_zip(first, pdf)

    assert package.build_pdf(first) == pdf
    assert package.build_zip(first, pdf) == archive

    # Later (past the ZIP's two-second and the fonts' one-second resolution), with the
    # live list changed: one signature withdrawn, one approved after the delivery.
    time.sleep(2.1)
    withdrawn = session.scalars(
        select(Signature).where(Signature.letter_id == letter.id, Signature.status == "published")
    ).first()
    assert withdrawn is not None
    service.withdraw(session, TokenPayload(withdrawn.id, withdrawn.withdraw_nonce), now=utcnow())
    waiting = session.scalars(select(Signature).where(Signature.status == "pending_review")).one()
    waiting.status, waiting.published_at = "published", utcnow()
    session.commit()
    again = inputs_of(session, letter)

    assert again == first
    later_pdf = package.build_pdf(again)
    assert later_pdf == pdf
    assert package.build_zip(again, later_pdf) == archive


def test_the_pdf_is_the_same_bytes_where_fonts_are_subset_by_fonttools(
    session: Session, letter: Letter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without libharfbuzz-subset0 WeasyPrint subsets with fontTools, which stamps "now".
    import weasyprint.pdf.fonts

    monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    deliver(session, letter)
    inputs = inputs_of(session, letter)
    pdf = package.build_pdf(inputs)

    time.sleep(1.1)

    assert package.build_pdf(inputs) == pdf


def test_the_frozen_list_is_read_by_column_name_wherever_the_lead_column_sits() -> None:
    header = ["Section", "Lead", *HEADER[1:]]
    cells = [
        "Organization",
        "co-sponsor",
        "Ärzte für Netze",
        "AT",
        "Austria",
        "NGO",
        "",
        "Jo",
        "",
        "yes",
        "2025-01-01T00:00:00Z",
        "1",
    ]
    text = BOM + csv_chunk([header, cells])

    [row] = parse_rows(text.encode("utf-8"))

    assert (row.organization, row.country_code, row.lead, row.version) == (
        "Ärzte für Netze",
        "AT",
        "co-sponsor",
        "1",
    )


def test_the_zip_entries_are_stamped_with_the_delivery_time(
    session: Session, letter: Letter
) -> None:
    deliver(session, letter)
    archive = package.build_zip(inputs_of(session, letter), b"%PDF-stand-in")

    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        stamps = {info.date_time for info in opened.infolist()}
        xlsx = next(name for name in opened.namelist() if name.endswith(".xlsx"))
        inner = zipfile.ZipFile(io.BytesIO(opened.read(xlsx)))
    assert stamps == {(2025, 6, 30, 14, 0, 0)}
    assert {info.date_time for info in inner.infolist()} == {(2025, 6, 30, 14, 0, 0)}
    core = inner.read("docProps/core.xml").decode()
    assert core.count("2025-06-30T14:00:00Z") == 2


def test_a_letter_delivered_with_no_signatories_has_a_package_saying_so(
    session: Session,
) -> None:
    letter = make_letter(session, slug="empty")
    deliver(session, letter)
    inputs = inputs_of(session, letter)

    pdf = package.build_pdf(inputs)
    files = zip_files(package.build_zip(inputs, pdf))

    text = pdf_text(pdf)
    assert "No signatures had been published when the letter was delivered." in text
    assert "0 organizations and 0 individuals" in text
    manifest = json.loads(files["manifest.json"])
    assert (manifest["organizations"], manifest["individuals"]) == (0, 0)


# --- Served -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("delivered.pdf", "application/pdf"), ("delivered.zip", "application/zip")],
)
def test_the_package_is_served_as_an_attachment_that_revalidates(
    session: Session, client: FlaskClient, letter: Letter, path: str, media_type: str
) -> None:
    deliver(session, letter)

    response = client.get(f"/letters/civic/{path}")

    assert response.status_code == 200
    assert response.mimetype == media_type
    extension = path.rsplit(".", 1)[1]
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="civic-delivered-2025-06-30.{extension}"'
    )
    assert "public" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert client.get(f"/letters/civic/{path}", headers={"If-None-Match": etag}).status_code == 304


def test_the_served_files_are_the_ones_built_from_the_frozen_data(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    deliver(session, letter)
    inputs = inputs_of(session, letter)
    pdf = package.build_pdf(inputs)

    assert client.get("/letters/civic/delivered.pdf").get_data() == pdf
    assert client.get("/letters/civic/delivered.zip").get_data() == package.build_zip(inputs, pdf)


@pytest.mark.parametrize("path", ["delivered.pdf", "delivered.zip"])
def test_no_package_before_delivery(
    session: Session, client: FlaskClient, letter: Letter, path: str
) -> None:
    session.commit()

    response = client.get(f"/letters/civic/{path}")

    assert response.status_code == 404
    assert "has not been delivered yet" in response.get_data(as_text=True)


def test_a_long_list_is_built_by_a_process_of_its_own_and_answers_503_meanwhile(
    app: Flask, session: Session, client: FlaskClient, letter: Letter
) -> None:
    app.config["DELIVERY_PACKAGE_SYNC_ROWS"] = 0
    deliver(session, letter)
    inputs = inputs_of(session, letter)
    session.commit()  # the builder reads the same database from another process
    kept = store.store_of(app)

    first = client.get("/letters/civic/delivered.pdf")
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "120"
    assert "being prepared" in first.get_data(as_text=True)
    deadline = time.monotonic() + 120
    while not kept.complete(inputs) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert client.get("/letters/civic/delivered.pdf").get_data() == package.build_pdf(inputs)


def test_the_delivered_page_and_the_banner_link_the_package_with_sizes(
    session: Session, client: FlaskClient, letter: Letter
) -> None:
    deliver(session, letter)
    size = len(client.get("/letters/civic/delivered.zip").get_data())

    page = client.get("/letters/civic/delivered").get_data(as_text=True)
    banner = client.get("/letters/civic").get_data(as_text=True)

    assert '/letters/civic/delivered.pdf"' in page
    assert '/letters/civic/delivered.zip"' in page
    assert f"({store.size_text(size)})" in page
    assert '/letters/civic/delivered.pdf"' in banner and '/letters/civic/delivered.zip"' in banner


def test_delivering_through_the_form_builds_the_package_the_record_links(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        letter = make_letter(db.session, slug="civic")
        make_signature(db.session, letter, organization="数字权利基金会", country="CN")
        owner = make_member(db.session, letter, role="owner")
        db.session.commit()
        email = owner.email
    sign_in(client, email)
    token = fetch_csrf(client, "/manage/letters/civic/delivery")
    moment = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        "/manage/letters/civic/delivery",
        data={
            "csrf_token": token,
            "delivered_to": "Chair",
            "delivered_at": moment,
            "method": "in person",
            "confirm": "y",
        },
    )

    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == "civic")).one()
        inputs = inputs_of(db.session, letter)
        assert store.store_of(app).complete(inputs)
        pdf = store.store_of(app).find(inputs, store.PDF)
    page = client.get("/manage/letters/civic/delivery").get_data(as_text=True)
    assert pdf is not None and f"({pdf.size_text})" in page
    assert '/letters/civic/delivered.pdf"' in page and '/letters/civic/delivered.zip"' in page


def test_the_package_command_builds_once_and_says_where_the_files_are(
    app: Flask, session: Session, runner: Any, letter: Letter
) -> None:
    app.config["DELIVERY_PACKAGE_SYNC_ROWS"] = 0  # delivering builds nothing by itself
    deliver(session, letter)

    first = runner.invoke(args=["delivery", "package", "civic"])
    again = runner.invoke(args=["delivery", "package", "civic"])

    assert first.exit_code == 0, first.output
    assert "Built the package of civic" in first.output and "pdf:" in first.output
    assert "already built" in again.output
    assert store.store_of(app).complete(inputs_of(session, letter))


def test_the_package_command_refuses_a_letter_not_delivered(runner: Any, letter: Letter) -> None:
    result = runner.invoke(args=["delivery", "package", "civic"])

    assert result.exit_code != 0
    assert "No delivered letter 'civic'" in result.output
