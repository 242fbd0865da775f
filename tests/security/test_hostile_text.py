"""Hostile text: markup shown escaped everywhere it is shown, formulas neutralised in every
spreadsheet, invisible and control characters refused, oversized fields answered with a
message, lookalikes caught, and no header injected into an email."""

from __future__ import annotations

import io
import json
from email import message_from_string, policy
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.models import OutboxMessage, Signature
from signatory.notifications.service import notify_review_needed
from signatory.signatures import service
from tests.conftest import fetch_csrf, post_form, queued_mail, render_queued, sign_in
from tests.downloads import csv_records, csv_rows
from tests.factories import find_letter, make_letter, make_member, make_signature

SLUG = "civic-space"
FORM = {
    "kind": "organization",
    "organization": "Digital Rights Example",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
    "authorised": "y",
}
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
MARKUP = {
    "organization": f"{SCRIPT} Org",
    "name": f"{BREAKOUT} Name",
    "title": f"{SCRIPT}{BREAKOUT}",
    "website": f"https://hostile.example.org/{BREAKOUT}",
}
EDITOR = "editor@coalition.example.org"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}


@pytest.fixture
def letter(app):
    with app.app_context():
        the_letter = make_letter(db.session, slug=SLUG)
        make_member(db.session, the_letter, role="editor", email=EDITOR)
        db.session.commit()
        return SLUG


def post_sign(client, **overrides):
    data = {**FORM, "csrf_token": fetch_csrf(client, f"/letters/{SLUG}"), **overrides}
    return client.post(f"/letters/{SLUG}/sign", data=data)


def stored(app) -> list[Signature]:
    with app.app_context():
        rows = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        db.session.expunge_all()
        return rows


def assert_no_live_markup(body: str) -> None:
    assert "<script>alert" not in body
    assert "<img src=x" not in body


@pytest.fixture
def hostile(app, client, letter) -> Signature:
    """A signature made through the form with markup in every free-text field, published."""
    assert post_sign(client, **MARKUP).status_code == 303
    [signature] = stored(app)
    assert signature.organization == MARKUP["organization"]  # kept as typed, escaped on output
    return signature


def publish(app, signature: Signature) -> None:
    with app.app_context():
        row = db.session.get(Signature, signature.id)
        service.confirm(db.session, TokenPayload(row.id, row.confirm_nonce), now=utcnow())
        db.session.commit()


# --- Markup ------------------------------------------------------------------------------------


def test_markup_is_shown_escaped_on_the_confirm_page(app, client, hostile):
    token = app.extensions["signatory.tokens"].make("confirm", hostile.id, hostile.confirm_nonce)
    response = client.get(f"/confirm/{token}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_no_live_markup(body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Org" in body
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; Name" in body


def test_markup_is_shown_escaped_on_the_public_list(app, client, hostile):
    publish(app, hostile)
    for path in (f"/letters/{SLUG}", f"/letters/{SLUG}/signatories"):
        body = client.get(path).get_data(as_text=True)
        assert_no_live_markup(body)
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Org" in body, path


def test_markup_comes_out_of_the_public_csv_as_plain_text(app, client, hostile):
    publish(app, hostile)
    [row] = csv_records(client.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True))
    assert row["Organization or affiliation"] == MARKUP["organization"]
    assert row["Signer name"] == MARKUP["name"]
    assert row["Website"] == MARKUP["website"]


def test_markup_comes_out_of_the_api_as_json_strings(app, client, hostile):
    publish(app, hostile)
    response = client.get(f"/api/v1/letters/{SLUG}/signatures")
    assert response.mimetype == "application/json"
    [entry] = json.loads(response.get_data(as_text=True))["signatures"]
    assert {key: entry[key] for key in MARKUP} == MARKUP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_markup_is_escaped_in_the_atom_feed(app, client, hostile):
    publish(app, hostile)
    body = client.get(f"/letters/{SLUG}/feed.atom").get_data(as_text=True)
    assert_no_live_markup(body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Org" in body


# --- Formulas ------------------------------------------------------------------------------------

FORMULAS = ["=1+2", 'a",=1+2', "+1", "-1", "@SUM(A1)", "\t=1+2", "\r=1+2", "\n=1+2"]


@pytest.mark.parametrize("formula", FORMULAS, ids=repr)
def test_a_formula_is_neutralised_in_the_public_csv(app, client, letter, formula):
    with app.app_context():
        # Straight into the table: the form refuses tabs and line breaks, older rows may not.
        make_signature(
            db.session, find_letter(db.session, SLUG), organization=formula, name=formula
        )
        db.session.commit()
    rows = csv_rows(client.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True))
    header, [row] = rows[0], rows[1:]
    assert len(row) == len(header)  # a quote in the value did not break the row apart
    cell = row[header.index("Organization or affiliation")]
    if formula[0] in "=+-@\t\r\n":
        assert cell == "'" + formula
    else:
        assert cell == formula  # 'a",=1+2' starts with a letter: nothing to run
    assert row[header.index("Signer name")] == cell


def _coordinator_exports(app, client) -> tuple[list[dict[str, str]], list[tuple]]:
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        for n, formula in enumerate(FORMULAS):
            make_signature(
                db.session,
                the_letter,
                organization=f"{formula} #{n}",
                title=formula,
                status="pending_review" if n % 2 else "published",
                email=f"f{n}@formula.example.org",
            )
        db.session.commit()
    sign_in(client, EDITOR)
    page = f"/manage/letters/{SLUG}/export"
    csv_text = post_form(client, f"{page}.csv", form_page=page).get_data(as_text=True)
    workbook = load_workbook(io.BytesIO(post_form(client, f"{page}.xlsx", form_page=page).data))
    return csv_records(csv_text), list(workbook["Signatures"].iter_rows(values_only=True))


def test_formulas_are_neutralised_in_the_coordinators_csv_and_xlsx(app, client, letter):
    records, sheet = _coordinator_exports(app, client)
    csv_cells = [r["Organization or affiliation"] for r in records] + [r["Title"] for r in records]
    xlsx_cells = [cell for row in sheet[1:] for cell in row if isinstance(cell, str)]
    for cells in (csv_cells, xlsx_cells):
        assert not [c for c in cells if c and c[0] in "=+-@\t\r\n"], "a cell would run"
    for n, formula in enumerate(FORMULAS):
        expected = formula if formula[0] == "a" else "'" + formula
        assert expected in csv_cells and f"{expected} #{n}" in csv_cells


# --- Invisible characters --------------------------------------------------------------------

INVISIBLE = {
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\u200d": "U+200D ZERO WIDTH JOINER",
    "\u2060": "U+2060 WORD JOINER",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u00ad": "U+00AD SOFT HYPHEN",
}


@pytest.mark.parametrize("character", list(INVISIBLE), ids=list(INVISIBLE.values()))
def test_an_invisible_character_in_a_name_is_refused_by_name(app, client, letter, character):
    response = post_sign(client, name=f"Lizzie{character} Signer")
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert f"This contains invisible characters ({INVISIBLE[character]})" in page
    assert stored(app) == [] and queued_mail(app) == []


@pytest.mark.parametrize("field", ["organization", "title", "website"])
def test_a_zero_width_space_is_refused_in_every_free_text_field(app, client, letter, field):
    value = FORM[field][:8] + "\u200b" + FORM[field][8:]
    response = post_sign(client, **{field: value})
    assert response.status_code == 400
    assert "U+200B ZERO WIDTH SPACE" in response.get_data(as_text=True)
    assert stored(app) == []


def test_a_persian_name_keeps_its_zero_width_non_joiner(app, client, letter):
    organization = "کانون مدافعان\u200cحقوق بشر"  # the joiner sits between two Arabic letters
    assert post_sign(client, organization=organization).status_code == 303
    assert [s.organization for s in stored(app)] == [organization]


def test_a_full_width_spelling_of_a_listed_organization_is_the_same_organization(
    app, client, letter
):
    with app.app_context():
        make_signature(db.session, find_letter(db.session, SLUG), organization="EFF")
        db.session.commit()
    response = post_sign(client, organization="ＥＦＦ")
    assert response.status_code == 409
    assert "has already signed this letter" in response.get_data(as_text=True)
    assert len(stored(app)) == 1


# --- Control characters and sizes -------------------------------------------------------------


@pytest.mark.parametrize("field", ["organization", "name", "title", "website", "email"])
@pytest.mark.parametrize("character", ["\x00", "\x07", "\r\n"], ids=["NUL", "BEL", "CRLF"])
def test_control_characters_are_refused_not_a_500(app, client, letter, field, character):
    value = FORM[field][:2] + character + FORM[field][2:]
    response = post_sign(client, **{field: value})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    expected = "Enter a valid email address" if field == "email" else "on one line"
    assert expected in body
    assert stored(app) == [] and queued_mail(app) == []


@pytest.mark.parametrize(
    ("field", "limit"),
    [("organization", 200), ("name", 200), ("title", 200), ("website", 300), ("email", 254)],
)
def test_a_ten_thousand_character_field_gets_a_length_message(app, client, letter, field, limit):
    value = "https://" + "x" * 9992 if field == "website" else "x" * 10_000
    response = post_sign(client, **{field: value})
    assert response.status_code == 400
    assert f"Keep it under {limit} characters." in response.get_data(as_text=True)
    assert stored(app) == []


def test_ten_thousand_wide_characters_exceed_the_request_limit_with_a_413(app, client, letter):
    # 10,000 CJK characters are 90 KB once form-encoded: over MAX_CONTENT_LENGTH (64 KiB),
    # refused before the form is read.
    response = post_sign(client, name="漢" * 10_000)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert stored(app) == []


# --- Email headers -----------------------------------------------------------------------


def test_a_line_break_in_an_organization_cannot_add_an_email_header(app, letter):
    """The form refuses line breaks; a row holding one anyway still makes a one-line subject."""
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        make_member(db.session, the_letter, role="moderator", notify="each")
        signature = make_signature(
            db.session,
            the_letter,
            organization="Evil Org\r\nBcc: victim@example.org\r\nX-Injected: yes",
            status="pending_review",
        )
        notify_review_needed(db.session, signature, now=utcnow())
        db.session.commit()
        message_id = db.session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.template == "review_needed")
        )
    email = render_queued(app, message_id)
    assert email["Bcc"] is None and email["X-Injected"] is None
    assert "\r" not in email["Subject"] and "\n" not in email["Subject"]
    assert "Evil Org Bcc: victim@example.org X-Injected: yes" in email["Subject"]
    # Sent and read back by a mail client, it still has no such header.
    received = message_from_string(email.as_string(), policy=policy.default)
    assert received["Bcc"] is None and received["X-Injected"] is None
