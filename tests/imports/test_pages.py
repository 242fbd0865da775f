"""The import pages: upload, the preview with its row errors, the import, the attested
mark on the public list, and who may do it."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signatory.core.extensions import db
from signatory.models import ImportBatch
from tests.conftest import audit_trail, fetch_csrf, queued_mail, sign_in, text_part
from tests.factories import make_letter, make_member
from tests.imports.conftest import GOOD_CSV, HEADER, signatures_of

UPLOAD = "/manage/letters/coalition/import"


def upload(client: FlaskClient, data: bytes | str, *, encoding: str = "utf-8", name="list.csv"):
    body = data.encode() if isinstance(data, str) else data
    return client.post(
        UPLOAD,
        data={
            "csrf_token": fetch_csrf(client, UPLOAD),
            "file": (io.BytesIO(body), name),
            "encoding": encoding,
        },
        content_type="multipart/form-data",
    )


def preview_of(client: FlaskClient, data: bytes | str, **options):
    response = upload(client, data, **options)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"], client.get(response.headers["Location"])


def press(client: FlaskClient, url: str, action: str = "import", **fields: str):
    page = client.get(url).get_data(as_text=True)
    mapping = {}
    for index in range(page.count('name="map-')):
        marker = f'name="map-{index}"'
        block = page.split(marker, 1)[1].split("</select>", 1)[0]
        chosen = block.split(" selected", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
        mapping[f"map-{index}"] = chosen if " selected" in block else ""
    data = {"csrf_token": fetch_csrf(client, url), "action": action, **mapping, **fields}
    return client.post(url, data=data)


@pytest.fixture
def editor(app: Flask, client: FlaskClient, team: dict[str, str]) -> FlaskClient:
    return sign_in(client, team["editor"])


def test_the_upload_page_offers_the_file_and_its_encoding(editor):
    page = editor.get(UPLOAD).get_data(as_text=True)
    assert 'type="file"' in page
    assert "Windows-1252" in page
    assert "At most 5 MB, 20,000 rows and 40 columns." in page


def test_an_upload_shows_the_guessed_columns_and_that_every_row_can_be_imported(editor, app):
    url, response = preview_of(editor, GOOD_CSV)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<option value="email" selected>' in page
    assert "All 3 rows can be imported." in page
    assert signatures_of(app) == []


def test_the_preview_lists_each_problem_by_row_and_field(editor, app):
    text = HEADER + (
        "Good Org,ngo,https://good.example.org,DE,Ada,,ada@good.example.org\n"
        '=HYPERLINK("http://x"),ngo,https://bad.example.org,DE,Bo,,bo@bad.example.org\n'
        "Third Org,ngo,https://third.example.org,DE,Cy,,ada@good.example.org\n"
    )
    url, response = preview_of(editor, text)
    page = response.get_data(as_text=True)
    assert "2 rows have problems." in page
    assert '<th scope="row">3</th><td>Organization</td>' in page
    assert "which a spreadsheet runs as a formula" in page
    assert '<th scope="row">4</th><td>Email</td>' in page
    assert "The same as row 2: each may sign once." in page
    assert "Import 3 signatures" not in page


def test_pressing_import_on_a_file_with_errors_stores_nothing(editor, app):
    text = HEADER + (
        "Good Org,ngo,https://good.example.org,DE,Ada,,ada@good.example.org\n"
        "Bad Org,ngo,https://bad.example.org,DE,Bo,,nowhere\n"
    )
    url, _ = preview_of(editor, text)
    response = press(editor, url)
    assert response.status_code == 422
    assert signatures_of(app) == []
    assert queued_mail(app) == []


def test_a_corrected_mapping_is_checked_again(editor, app):
    text = "Org,Type,Web,Country,Person,Address\n" + (
        "Good Org,ngo,https://good.example.org,DE,Ada,ada@good.example.org\n"
    )
    url, response = preview_of(editor, text)
    assert "Choose the column that holds: Email." in response.get_data(as_text=True)
    response = press(editor, url, action="preview", **{"map-5": "email"})
    assert response.status_code == 200
    assert "All 1 row can be imported." in response.get_data(as_text=True)


def test_import_signs_every_row_unconfirmed_and_emails_its_link(editor, app, smtp_server, runner):
    url, _ = preview_of(editor, GOOD_CSV)
    response = press(editor, url)
    assert response.status_code == 303
    summary = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 3 signatures; 3 confirmation emails queued." in summary
    assert {(s.status, s.source) for s in signatures_of(app)} == {("unconfirmed", "imported")}
    app.config["MAIL_URL"] = smtp_server.url
    assert runner.invoke(args=["mail", "send"]).exit_code == 0
    emails = smtp_server.wait_for(3)
    assert len(emails) == 3
    assert "/confirm/" in text_part(emails[0])
    [event] = audit_trail(app, "letter.imported")
    assert event.actor_id is not None
    assert event.detail["filename"] == "list.csv"


def test_an_imported_upload_cannot_be_imported_twice(editor, app):
    url, _ = preview_of(editor, GOOD_CSV)
    press(editor, url)
    response = press_again = editor.post(
        url, data={"csrf_token": fetch_csrf(editor, UPLOAD), "action": "import"}
    )
    assert press_again.status_code == 303
    assert "expired or was imported already" in editor.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert len(signatures_of(app)) == 3
    with app.app_context():
        assert db.session.scalars(db.select(ImportBatch)).all() == []


def test_attested_rows_are_published_with_the_mark_on_the_public_list(editor, app, client):
    url, _ = preview_of(editor, GOOD_CSV)
    response = press(editor, url, attest="y")
    assert response.status_code == 303
    assert {(s.status, s.source) for s in signatures_of(app)} == {("published", "attested")}
    assert queued_mail(app) == []
    public = client.get("/letters/coalition/signatories").get_data(as_text=True)
    assert "Digital Rights Kenya" in public
    assert public.count("added by the coordinators</span>") == 3


def test_a_signature_made_on_the_form_carries_no_mark(app, client):
    from tests.conftest import add_signature

    with app.app_context():
        make_letter(db.session, slug="plain")
        db.session.commit()
    add_signature(app, "plain", organization="Signed Itself")
    page = client.get("/letters/plain/signatories").get_data(as_text=True)
    assert "Signed Itself" in page
    assert "added by the coordinators" not in page


def test_a_coordinator_of_another_letter_gets_404(app, team):
    with app.app_context():
        other = make_letter(db.session, slug="other")
        stranger = make_member(db.session, other, role="owner").email
        db.session.commit()
    owner = sign_in(app.test_client(), team["owner"])
    url, _ = preview_of(owner, GOOD_CSV)
    intruder = sign_in(app.test_client(), stranger)
    assert intruder.get(UPLOAD).status_code == 404
    assert intruder.get(url).status_code == 404
    token = fetch_csrf(intruder, "/manage/letters/other/")
    assert intruder.post(url, data={"csrf_token": token, "action": "import"}).status_code == 404
    assert signatures_of(app) == []


def test_a_moderator_may_not_import(app, team, client):
    sign_in(client, team["moderator"])
    assert client.get(UPLOAD).status_code == 403


def test_another_coordinators_upload_is_not_theirs_to_import(app, team):
    owner = sign_in(app.test_client(), team["owner"])
    url, _ = preview_of(owner, GOOD_CSV)
    editor = sign_in(app.test_client(), team["editor"])
    response = editor.get(url)
    assert response.status_code == 303
    assert signatures_of(app) == []


def test_an_upload_without_its_csrf_token_is_refused(editor, app):
    response = editor.post(
        UPLOAD,
        data={"file": (io.BytesIO(GOOD_CSV.encode()), "list.csv"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(db.select(ImportBatch)).all() == []


def test_an_expired_upload_must_be_uploaded_again(editor, app):
    from datetime import timedelta

    from signatory.core.time import utcnow

    url, _ = preview_of(editor, GOOD_CSV)
    with app.app_context():
        for batch in db.session.scalars(db.select(ImportBatch)):
            batch.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = editor.get(url)
    assert response.status_code == 303
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "That upload has expired or was imported already." in page
