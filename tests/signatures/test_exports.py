"""The coordinators' full export: every status, emails, CSV and XLSX, neutralised, audited."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.text import render_markdown
from signatory.core.time import utcnow
from signatory.models import Letter, LetterVersion, Signature
from signatory.signatures import exports as export_service
from tests.conftest import add_signature, audit_trail, fetch_csrf, post_form, sign_in
from tests.downloads import csv_records
from tests.factories import make_letter, make_member, make_signature

SLUG = "civic"
EDITOR = "editor@coalition.example.org"
MODERATOR = "moderator@coalition.example.org"
EXPORT = f"/manage/letters/{SLUG}/export"
STATUSES = ("published", "pending_review", "unconfirmed", "rejected", "withdrawn")
HOSTILE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def world(app) -> dict[str, int]:
    """A letter with a signature in every status, an editor and a moderator."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        editor = make_member(db.session, letter, role="editor", email=EDITOR, name="Ed Editor")
        make_member(db.session, letter, role="moderator", email=MODERATOR)
        for status in STATUSES:
            make_signature(
                db.session,
                letter,
                status=status,
                organization=f"{status.title()} Org",
                email=f"{status}@{status}.example.org",
            )
        db.session.commit()
        return {"letter": letter.id, "editor": editor.id}


@pytest.fixture
def editor(client, world):
    return sign_in(client, EDITOR)


def download(client, fmt: str):
    response = post_form(client, f"{EXPORT}.{fmt}", form_page=EXPORT)
    assert response.status_code == 200, f"{fmt} export answered {response.status_code}"
    return response


def csv_rows(client) -> list[dict[str, str]]:
    return csv_records(download(client, "csv").get_data(as_text=True))


def xlsx_rows(client) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(download(client, "xlsx").get_data()))
    return list(workbook["Signatures"].iter_rows(values_only=True))


# --- What the file holds ----------------------------------------------------------------------


def test_the_full_export_has_every_status_with_emails(editor):
    rows = csv_rows(editor)
    assert sorted(row["Status"] for row in rows) == sorted(STATUSES)
    assert {row["Email"] for row in rows} == {f"{s}@{s}.example.org" for s in STATUSES}


def test_the_public_csv_still_has_no_emails(editor):
    public = editor.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True)
    assert "Published Org" in public
    assert "@" not in public
    assert "Rejected Org" not in public


def test_each_row_says_domain_match_free_mail_version_and_times(app, editor):
    add_signature(
        app,
        SLUG,
        organization="Gmail Org",
        email="someone@gmail.com",
        domain_verified=False,
        confirmed_at=utcnow(),
    )
    add_signature(app, SLUG, kind="individual", name="Ivy Individual", email="ivy@ivy.example.org")
    rows = {row["Email"]: row for row in csv_rows(editor)}

    gmail = rows["someone@gmail.com"]
    assert gmail["Domain matches website"] == "no" and gmail["Free-mail address"] == "yes"
    assert gmail["Email domain"] == "gmail.com"
    assert gmail["Version signed"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", gmail["Signed at (UTC)"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", gmail["Confirmed at (UTC)"])
    published = rows["published@published.example.org"]
    assert published["Domain matches website"] == "yes" and published["Free-mail address"] == "no"
    assert published["Published at (UTC)"].endswith("Z")
    assert rows["ivy@ivy.example.org"]["Domain matches website"] == ""


def test_each_row_keeps_the_version_it_was_signed_against(app, editor, world):
    with app.app_context():
        letter = db.session.get(Letter, world["letter"])
        db.session.add(
            LetterVersion(
                letter=letter, number=2, body_markdown="New", body_html=render_markdown("New")
            )
        )
        db.session.flush()
        db.session.refresh(letter)
        make_signature(db.session, letter, email="late@late.example.org")
        db.session.commit()
    rows = {row["Email"]: row["Version signed"] for row in csv_rows(editor)}
    assert rows["late@late.example.org"] == "2"
    assert rows["published@published.example.org"] == "1"


def test_each_row_carries_the_moderation_decision(app, editor, world):
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.status == "rejected"))
        signature.moderated_by_id = world["editor"]
        signature.moderated_at = utcnow()
        signature.moderation_reason = "Not a real organization"
        db.session.commit()
    rejected = next(row for row in csv_rows(editor) if row["Status"] == "rejected")
    assert rejected["Moderated by"] == f"Ed Editor <{EDITOR}>"
    assert rejected["Moderated at (UTC)"].endswith("Z")
    assert rejected["Moderation reason"] == "Not a real organization"


def test_the_csv_neutralises_formulas(app, editor):
    add_signature(
        app, SLUG, organization=HOSTILE, name="+1 Caller", title="@admin", email="h@h.example.org"
    )
    row = next(row for row in csv_rows(editor) if row["Email"] == "h@h.example.org")
    assert row["Organization or affiliation"] == "'" + HOSTILE
    assert row["Signer name"] == "'+1 Caller"
    assert row["Title"] == "'@admin"


def test_the_xlsx_holds_the_same_rows_with_no_formula(app, editor):
    add_signature(
        app, SLUG, organization=HOSTILE, name="-minus", title="\tTabbed", email="h@h.example.org"
    )
    token = fetch_csrf(editor, EXPORT)
    response = editor.post(f"{EXPORT}.xlsx", data={"csrf_token": token})
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook["Signatures"]

    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells), "a cell was stored as a formula"
    header = [cell.value for cell in next(sheet.iter_rows())]
    assert header == list(export_service.HEADER)
    hostile = next(row for row in sheet.iter_rows(values_only=True) if row[10] == "h@h.example.org")
    assert hostile[3] == "'" + HOSTILE
    assert hostile[8] == "'-minus" and hostile[9] == "'\tTabbed"
    assert len(list(sheet.iter_rows())) == 1 + len(STATUSES) + 1


def test_the_xlsx_header_is_bold_and_frozen(editor):
    sheet = load_workbook(io.BytesIO(download(editor, "xlsx").get_data()))["Signatures"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in next(sheet.iter_rows()))


def test_the_xlsx_keeps_numbers_as_numbers(editor):
    rows = xlsx_rows(editor)
    assert all(isinstance(row[0], int) and row[14] == 1 for row in rows[1:])


def test_the_xlsx_drops_characters_a_workbook_cannot_hold(app, editor):
    add_signature(app, SLUG, organization="Bell\x07 Org", email="bell@bell.example.org")
    row = next(row for row in xlsx_rows(editor) if row[10] == "bell@bell.example.org")
    assert row[3] == "Bell Org"


def test_the_csv_is_read_in_batches(session):
    letter = make_letter(session)
    for _ in range(5):
        make_signature(session, letter)
    session.flush()
    extent = export_service.snapshot(session, letter)
    released = []
    chunks = list(
        export_service.iter_csv(
            session,
            letter,
            up_to_id=extent.up_to_id,
            batch_size=2,
            release=lambda: released.append(1),
        )
    )
    assert len(chunks) == 1 + 3  # header, then batches of 2, 2 and 1
    assert len(released) == 3
    assert sum(chunk.count("\r\n") for chunk in chunks) == 1 + 5


def test_a_signature_arriving_after_the_export_began_is_left_out(session):
    letter = make_letter(session)
    make_signature(session, letter)
    extent = export_service.snapshot(session, letter)
    make_signature(session, letter)
    session.flush()
    rows = [
        row
        for batch in export_service.iter_rows(session, letter, up_to_id=extent.up_to_id)
        for row in batch
    ]
    assert extent.rows == 1 and len(rows) == 1


# --- How it is served -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_exports_are_named_for_the_letter_and_never_cached(editor, fmt, content_type):
    response = download(editor, fmt)
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-store"
    today = utcnow().strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{SLUG}-signatures-{today}.{fmt}"'
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_each_export_is_audited_with_its_format_and_row_count(app, editor, world, fmt):
    download(editor, fmt)
    [event] = audit_trail(app, "letter.exported")
    assert event.detail == {"format": fmt, "rows": len(STATUSES)}
    assert event.actor_label == "coordinator" and event.actor_id == world["editor"]
    assert event.letter_id == world["letter"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_moderator_may_not_export(app, client, world, fmt):
    sign_in(client, MODERATOR)
    token = fetch_csrf(client, "/manage/")
    assert client.get(EXPORT).status_code == 403
    assert client.post(f"{EXPORT}.{fmt}", data={"csrf_token": token}).status_code == 403
    assert audit_trail(app, "letter.exported") == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_needs_the_csrf_token(app, editor, fmt):
    assert editor.post(f"{EXPORT}.{fmt}").status_code == 400
    assert audit_trail(app, "letter.exported") == []


def test_opening_a_download_address_leads_to_the_export_page(editor):
    response = editor.get(f"{EXPORT}.csv")
    assert response.status_code == 303 and response.headers["Location"].endswith(EXPORT)


def test_the_export_page_offers_both_downloads(editor):
    page = editor.get(EXPORT).get_data(as_text=True)
    assert f'action="{EXPORT}.csv"' in page and f'action="{EXPORT}.xlsx"' in page
    assert "personal data" in page
