"""Hostile and broken files: each refused with a clear message, and nothing stored."""

from __future__ import annotations

import pytest
from flask import Flask

from signatory.core.extensions import db
from signatory.models import ImportBatch
from tests.conftest import sign_in
from tests.imports.conftest import GOOD_CSV, GOOD_ROWS, HEADER, signatures_of
from tests.imports.test_pages import preview_of, upload


@pytest.fixture
def app_config():
    # Small limits, so the tests need no megabytes.
    return {"IMPORT_MAX_BYTES": 2000, "IMPORT_MAX_ROWS": 5, "IMPORT_MAX_COLUMNS": 9}


@pytest.fixture
def editor(app: Flask, client, team):
    return sign_in(client, team["editor"])


def refused(editor, app, data, *, status=422, **options) -> str:
    response = upload(editor, data, **options)
    assert response.status_code == status, response.status_code
    with app.app_context():
        assert db.session.scalars(db.select(ImportBatch)).all() == []
    assert signatures_of(app) == []
    return response.get_data(as_text=True)


def test_a_file_over_the_size_limit_is_refused_with_the_limit(editor, app):
    page = refused(editor, app, HEADER + "x" * 2100, status=413)
    assert "The file is larger than 2 KB. Split it into smaller files." in page


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(editor, app):
    page = refused(editor, app, b"a,b\n" + b"x" * (200 * 1024), status=413)
    assert "The file is larger than" in page


def test_too_many_rows_are_refused_with_the_limit(editor, app):
    rows = "".join(
        f"Org {n},ngo,https://o{n}.example.org,DE,P{n},,p{n}@o{n}.example.org\n" for n in range(6)
    )
    assert "more than 5 rows" in refused(editor, app, HEADER + rows)


def test_too_many_columns_are_refused(editor, app):
    assert "The file has 10 columns; at most 9" in refused(
        editor, app, ",".join(f"c{n}" for n in range(10)) + "\n" + "x," * 9 + "x\n"
    )


def test_a_workbook_is_refused_as_not_a_csv(editor, app):
    page = refused(editor, app, b"PK\x03\x04\x14\x00\x06\x00rest of a zip", name="list.xlsx")
    assert "This file is an Excel workbook or a ZIP archive, not a CSV." in page


def test_a_binary_file_with_nul_bytes_is_refused(editor, app):
    page = refused(editor, app, HEADER.encode() + b"Org\x00,ngo\n")
    assert "holds a NUL byte (line 2, byte 55)" in page


def test_an_empty_file_is_refused(editor, app):
    assert "The file is empty." in refused(editor, app, b"\xef\xbb\xbf\r\n\r\n")


def test_a_header_without_rows_is_refused(editor, app):
    assert "a header row but no signatories" in refused(editor, app, HEADER + ",,,\n")


def test_duplicate_column_names_are_refused(editor, app):
    page = refused(editor, app, "Name,Email,E-mail\nAda,a@x.org,b@x.org\n")
    assert "Columns 2 and 3 are both named “E-mail”." in page


def test_a_file_not_in_utf8_names_the_line_and_byte(editor, app):
    data = (HEADER + "Café,ngo,https://c.example.fr,FR,Luc,,luc@c.example.fr\n").encode("cp1252")
    page = refused(editor, app, data)
    assert "Line 2 is not UTF-8 (byte 55)" in page
    assert "Windows-1252" in page


def test_windows_1252_is_read_when_chosen(editor, app):
    data = (HEADER + "Café,ngo,https://c.example.fr,FR,Luc,,luc@c.example.fr\n").encode("cp1252")
    _, response = preview_of(editor, data, encoding="windows-1252")
    assert "Café" in response.get_data(as_text=True)
    assert "All 1 row can be imported." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        ("\ufeff" + GOOD_CSV).encode("utf-8"),
        GOOD_CSV.encode("utf-16"),  # with its byte-order mark
        GOOD_CSV.replace(",", ";").replace("Président;", "Président;").encode(),
    ],
    ids=["utf-8 with BOM", "utf-16 with BOM", "semicolons"],
)
def test_the_encodings_and_separators_spreadsheets_write_are_read(editor, app, data):
    _, response = preview_of(editor, data)
    assert "All 3 rows can be imported." in response.get_data(as_text=True)


def test_a_ragged_row_is_refused_and_named(editor, app):
    text = HEADER + GOOD_ROWS + "Short Org,ngo,https://s.example.org\n"
    _, response = preview_of(editor, text)
    page = response.get_data(as_text=True)
    assert "This row has 3 cells where the header has 7" in page
    assert '<th scope="row">5</th><td>the whole row</td>' in page


@pytest.mark.parametrize("sign", ["=", "+", "-", "@"])
def test_a_cell_a_spreadsheet_would_run_refuses_its_row(editor, app, sign):
    text = HEADER + f"Org,ngo,https://o.example.org,DE,{sign}cmd|' /C calc'!A0,,p@o.example.org\n"
    _, response = preview_of(editor, text)
    page = response.get_data(as_text=True)
    assert f"This cell starts with “{sign}”, which a spreadsheet runs as a formula." in page
    assert '<th scope="row">2</th><td>Signer name</td>' in page
