"""Properties that hold for any input (Hypothesis): the sign form never answers 500 and never
stores what it should refuse; tokens read back what they carry and refuse any altered
character; the spreadsheet neutraliser leaves no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from signatory import create_app
from signatory.core.database import MAX_ROW_ID
from signatory.core.errors import InvalidToken
from signatory.core.extensions import db
from signatory.core.spreadsheets import csv_chunk, neutralise
from signatory.core.tokens import Tokens
from signatory.models import OutboxMessage, Signature
from tests.conftest import _config, csrf_token_from, database_copy
from tests.factories import make_letter

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
# Requests that go through the app are costly: a modest number, and no per-example deadline.
# Derandomized: CI tries the same examples every run, so a failure is repeatable.
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _looks_like_a_web_address(value: str) -> bool:
    """What a reader takes for a web address: a scheme, or a word starting "www." and a host.

    Said independently of the form's own pattern (``core.text``), so the two check each
    other: "dwww.igital" or a lone "://" is no address, "www.x" and "ftp://" are.
    """
    words = re.split(r"[^\w.-]+", value.lower())
    return bool(re.search(r"[a-z]://", value.lower())) or any(
        w.startswith("www.") and len(w) > 4 and w[4].isalnum() for w in words
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, migrated_database: str) -> Iterator[Flask]:
    """One app for the module, on its own copy of the migrated database: Hypothesis runs
    many examples per test, and a fresh app per example would cost seconds each."""
    tmp = tmp_path_factory.mktemp("properties")
    with database_copy(migrated_database, tmp) as url:
        yield from _app_on(url, tmp)


def _app_on(url: str, tmp: Path) -> Iterator[Flask]:
    app = create_app(_config(tmp, url, RATELIMIT_ENABLED=False))
    with app.app_context():
        make_letter(db.session, slug=SLUG)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- The sign form ---------------------------------------------------------------------------

# Any character a form can carry (surrogates cannot be encoded), with the hostile ones
# drawn often: invisible, bidi, control, lookalike, markup, formula and URL pieces.
FREE_TEXT = ("organization", "website", "name", "title", "email")
HOSTILE_PIECES = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\x00",
    "\x07", "\r\n", "\t", "\u2028", "\u0430", "\u0391", "ＥＦＦ", "<script>", '">', "=1+2",
    "http://", "www.", ".example/", "@", "+tag", " ", "é", "漢", "ی",
]  # fmt: skip
characters = st.characters(blacklist_categories=("Cs",))
hostile_text = st.lists(
    st.one_of(st.text(characters, max_size=12), st.sampled_from(HOSTILE_PIECES)), max_size=8
).map("".join)


@st.composite
def sign_forms(draw: st.DrawFn) -> dict[str, str]:
    """A sign form whose every field is kept, altered, or replaced by arbitrary text.

    The free-text fields are altered often, the choices (kind, country, type) seldom, so
    that many forms pass and the rows they store get checked too.
    """
    form = {}
    for field, value in FORM.items():
        weights = ["keep"] * (3 if field in FREE_TEXT else 12) + ["insert", "replace"]
        choice = draw(st.sampled_from(weights))
        if choice == "keep":
            form[field] = value
        elif choice == "insert":
            at = draw(st.integers(0, len(value)))
            form[field] = value[:at] + draw(hostile_text) + value[at:]
        else:
            form[field] = draw(hostile_text)
    return form


def _refusable(value: str) -> list[str]:
    """What a stored name, title or website must not hold, judged here independently."""
    problems = []
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            problems.append(f"control {ord(ch):#x}")
        elif category == "Cf" and ch not in "\u200c\u200d":
            problems.append(f"format {ord(ch):#x}")
    return problems


def _latest(app: Flask) -> tuple[int, int, Signature | None]:
    with app.app_context():
        count = db.session.scalar(select(func.count(Signature.id))) or 0
        mail = db.session.scalar(select(func.count(OutboxMessage.id))) or 0
        row = db.session.scalar(select(Signature).order_by(Signature.id.desc()).limit(1))
        db.session.expunge_all()
        return count, mail, row


@settings(BOUNDED, max_examples=100)
@given(form=sign_forms())
@example(form={**FORM, "name": "x" * 10_000})
@example(form={**FORM, "organization": "http://spam.example", "email": "a@b.example.org"})
# Found by a random run: "www." inside a word is no web address, and may be stored.
@example(form={**FORM, "organization": "Dwww.igital Rights Example"})
@example(form={**FORM, "email": "\x00@example.org"})
@example(form={**FORM, "website": "["})  # urlsplit raised on it: a 500 until fixed
def test_the_sign_form_never_fails_and_never_stores_what_it_refuses(app, client, form):
    with app.app_context():
        # Each example on a clean letter: an address or organization kept from an earlier
        # example would only have its link sent again.
        db.session.execute(delete(OutboxMessage))
        db.session.execute(delete(Signature))
        db.session.commit()
    token = csrf_token_from(client.get(f"/letters/{SLUG}").get_data(as_text=True))
    before, mail_before, _ = _latest(app)
    response = client.post(f"/letters/{SLUG}/sign", data={**form, "csrf_token": token})
    after, mail_after, row = _latest(app)
    assert response.status_code in (303, 400, 409, 413), response.status_code
    event(f"answered {response.status_code}{' (new signature)' if after > before else ''}")
    if response.status_code != 303:
        assert (after, mail_after) == (before, mail_before), "a refused form wrote something"
        return
    assert response.headers["Location"] == f"/letters/{SLUG}/signed"
    if after == before:
        return  # the address had signed already: its link was sent again
    assert row is not None and after == before + 1
    for field in ("organization", "name", "title", "website"):
        value = getattr(row, field) or ""
        assert not _refusable(value), (field, value)
        assert len(value) <= (300 if field == "website" else 200)
        assert value == value.strip()
    for field in ("organization", "name", "title"):
        value = (getattr(row, field) or "").lower()
        assert not _looks_like_a_web_address(value), (field, value)
    assert "@" in row.email and row.email.strip() == row.email
    assert row.name and row.status == "unconfirmed"


# --- Tokens ----------------------------------------------------------------------------------

TOKENS = Tokens("a-secret-key-for-the-token-properties-" + "x" * 16, {"confirm": 3600})
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@given(row_id=st.integers(1, MAX_ROW_ID), nonce=st.text(characters, max_size=40))
def test_a_token_reads_back_the_row_and_nonce_it_was_made_with(row_id, nonce):
    payload = TOKENS.read("confirm", TOKENS.make("confirm", row_id, nonce))
    assert (payload.row_id, payload.nonce) == (row_id, nonce)


@given(row_id=st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_ROW_ID + 1)))
def test_a_signed_token_naming_no_possible_row_is_refused(row_id):
    """No row has such an id (PostgreSQL's integer could not even hold it in a query)."""
    token = TOKENS.make("confirm", row_id, "nonce")
    with pytest.raises(InvalidToken):
        TOKENS.read("confirm", token)


@settings(max_examples=300, derandomize=True)
@given(
    row_id=st.integers(0, 2**63 - 1),
    nonce=st.text(characters, min_size=1, max_size=24),
    data=st.data(),
)
def test_a_token_with_any_one_character_changed_is_refused(row_id, nonce, data):
    token = TOKENS.make("confirm", row_id, nonce)
    at = data.draw(st.integers(0, len(token) - 1), label="position")
    replacement = data.draw(
        st.one_of(st.sampled_from(URL_SAFE), characters).filter(lambda ch: ch != token[at]),
        label="replacement",
    )
    altered = token[:at] + replacement + token[at + 1 :]
    with pytest.raises(InvalidToken):
        TOKENS.read("confirm", altered)


# --- The spreadsheet neutraliser ---------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@given(value=st.one_of(st.text(characters), hostile_text))
@example(value='a",=1+2')
@example(value="  =1+2")
@example(value="\n=1+2")
def test_no_neutralised_cell_starts_with_a_formula_trigger(value):
    cell = neutralise(value)
    assert not cell.startswith(TRIGGERS)
    assert not cell.lstrip(" ").startswith(TRIGGERS)
    # Readable: the original text whole, at most behind one apostrophe.
    assert cell in (value, "'" + value)


@given(values=st.lists(st.one_of(st.text(characters), hostile_text), min_size=1, max_size=6))
def test_a_neutralised_row_reads_back_cell_for_cell(values):
    cells = [neutralise(value) for value in values]
    [row] = list(csv.reader(io.StringIO(csv_chunk([cells]), newline="")))
    assert row == cells
