"""Uploading a logo: with the signature on the sign form, or later from the signer's own page."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.models import Signature, SignatureLogo
from tests.conftest import add_signature, audit_trail, fetch_csrf
from tests.factories import make_letter
from tests.organizations import logo_files as files

SLUG = "civic"
FORM = {
    "kind": "organization",
    "organization": "Digital Rights Watch",
    "country": "AU",
    "organization_type": "ngo",
    "website": "https://digitalrights.example.org",
    "name": "Lizzie Signer",
    "title": "Chair",
    "email": "lizzie@digitalrights.example.org",
    # The statement an organization's signer must tick (organizations.leads' part).
    "authorised": "y",
}
HOSTILE = [
    pytest.param(
        files.SVG_SCRIPT, "logo.svg", "contains a &lt;script&gt; element", id="svg-script"
    ),
    pytest.param(files.SVG_ONLOAD, "logo.svg", "event attribute (onload)", id="svg-onload"),
    pytest.param(files.SVG_EXTERNAL, "logo.svg", "refers to another file", id="svg-external"),
    pytest.param(files.SVG_ENTITY, "logo.svg", "DOCTYPE or entities", id="svg-entity"),
    pytest.param(b"not an image at all", "logo.png", "not an image we accept", id="text-as-png"),
    pytest.param(files.png()[:40], "logo.png", "could not be read", id="truncated"),
    pytest.param(files.png_bomb(), "logo.png", "too large in pixels", id="bomb"),
    pytest.param(
        b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 + 10), "big.jpg", "too large", id="oversized"
    ),
    pytest.param(files.raster("GIF"), "logo.gif", "GIF images are not accepted", id="gif"),
]


@pytest.fixture
def app_config() -> dict[str, object]:
    # A 1 MB limit keeps the oversized files small; no rate limits between the posts.
    return {"RATELIMIT_ENABLED": False, "LOGO_MAX_BYTES": 1024 * 1024}


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug=SLUG)
        db.session.commit()
    return SLUG


def upload(data: bytes, name: str, content_type: str = "image/png") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=content_type)


def multipart(client: FlaskClient, path: str, data: dict[str, object]):
    """POST ``data`` as multipart/form-data, encoded here in memory.

    (The test client spools a body over 500 KB to a temporary file it never closes.)
    """
    boundary, body = encode_multipart(data)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def post_sign(client: FlaskClient, logo: FileStorage | None, **overrides: str):
    data: dict[str, object] = {**FORM, "csrf_token": fetch_csrf(client, f"/letters/{SLUG}")}
    data.update(overrides)
    if logo is not None:
        data["logo"] = logo
    return multipart(client, f"/letters/{SLUG}/sign", data)


def rows(app: Flask) -> tuple[list[Signature], list[SignatureLogo]]:
    with app.app_context():
        signatures = list(db.session.scalars(select(Signature).order_by(Signature.id)))
        logos = list(db.session.scalars(select(SignatureLogo).order_by(SignatureLogo.id)))
        db.session.expunge_all()
        return signatures, logos


def manage_token(app: Flask, signature_id: int) -> str:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        return current_tokens().make("manage", signature.id, signature.manage_nonce)


def post_logo(client: FlaskClient, token: str, logo: FileStorage):
    csrf = fetch_csrf(client, f"/my-signature/{token}")
    return multipart(client, f"/my-signature/{token}/logo", {"csrf_token": csrf, "logo": logo})


# --- On the sign form ------------------------------------------------------------------------


def test_the_sign_form_is_multipart_with_an_optional_logo_field(
    client: FlaskClient, letter: str
) -> None:
    html = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" id="logo" name="logo"' in html
    assert 'accept="image/png,image/jpeg,image/webp,image/svg+xml"' in html


def test_a_logo_sent_with_a_signature_is_stored_re_encoded_and_pending(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    response = post_sign(client, upload(files.jpeg_with_exif(), "logo.jpg", "image/jpeg"))

    assert response.status_code == 303
    [signature], [logo] = rows(app)
    assert logo.signature_id == signature.id and logo.letter_id == signature.letter_id
    assert logo.status == "pending" and logo.source_type == "jpeg"
    assert logo.image.startswith(b"\x89PNG") and files.SECRET_MAKE.encode() not in logo.image
    assert [event.signature_id for event in audit_trail(app, "logo.uploaded")] == [signature.id]


def test_signing_without_a_logo_stores_none(app: Flask, client: FlaskClient, letter: str) -> None:
    assert post_sign(client, None).status_code == 303

    signatures, logos = rows(app)
    assert len(signatures) == 1 and logos == []


def test_a_png_named_svg_is_taken_as_the_png_it_is(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    response = post_sign(client, upload(files.png(), "logo.svg", "image/svg+xml"))

    assert response.status_code == 303
    _, [logo] = rows(app)
    assert logo.source_type == "png"


@pytest.mark.parametrize(("data", "name", "says"), HOSTILE)
def test_a_hostile_logo_sends_the_form_back_with_its_message_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient, letter: str, data: bytes, name: str, says: str
) -> None:
    response = post_sign(client, upload(data, name))

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert says in html
    assert (
        'value="Digital Rights Watch"' in html
        and 'value="lizzie@digitalrights.example.org"' in html
    )
    assert "Choose the file again" in html
    assert rows(app) == ([], [])


def test_a_file_far_over_the_limit_is_refused_whole_with_413(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    response = post_sign(client, upload(b"\x89PNG" + b"\x00" * (3 * 1024 * 1024), "huge.png"))

    assert response.status_code == 413
    assert rows(app) == ([], [])


def test_a_file_sent_with_an_individual_signature_is_ignored(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    response = post_sign(
        client,
        upload(files.SVG_SCRIPT, "logo.svg"),
        kind="individual",
        organization="",
        organization_type="",
        website="",
    )

    assert response.status_code == 303
    signatures, logos = rows(app)
    assert [s.kind for s in signatures] == ["individual"] and logos == []


def test_signing_again_with_the_same_address_does_not_attach_a_logo(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    assert post_sign(client, None).status_code == 303

    assert post_sign(client, upload(files.png(), "logo.png")).status_code == 303

    signatures, logos = rows(app)
    assert len(signatures) == 1 and logos == []


# --- From the signer's own page ------------------------------------------------------------


def test_the_manage_page_offers_an_organization_the_upload_form(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    token = manage_token(app, add_signature(app, SLUG, organization="Open Data Kenya"))

    html = client.get(f"/my-signature/{token}").get_data(as_text=True)

    assert (
        f'action="/my-signature/{token}/logo"' in html and 'enctype="multipart/form-data"' in html
    )
    assert "You have not sent a logo" in html


def test_an_individual_is_not_offered_a_logo(app: Flask, client: FlaskClient, letter: str) -> None:
    token = manage_token(app, add_signature(app, SLUG, kind="individual"))

    html = client.get(f"/my-signature/{token}").get_data(as_text=True)

    assert "/logo" not in html


def test_a_logo_uploaded_from_the_manage_page_is_pending_and_the_link_moves_on(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    signature_id = add_signature(app, SLUG)
    token = manage_token(app, signature_id)

    response = post_logo(client, token, upload(files.raster("WEBP"), "logo.webp", "image/webp"))

    assert response.status_code == 303
    fresh = response.headers["Location"].rsplit("/", 1)[-1]
    assert fresh != token
    _, [logo] = rows(app)
    assert logo.signature_id == signature_id and logo.status == "pending"
    page = client.get(f"/my-signature/{fresh}").get_data(as_text=True)
    assert "Awaiting the coordinators" in page and f"/my-signature/{fresh}/logo.png" in page
    assert client.get(f"/my-signature/{token}").status_code == 409, "the used link is retired"


def test_a_new_upload_replaces_an_approved_logo_and_goes_back_to_pending(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    signature_id = add_signature(app, SLUG)
    assert (
        post_logo(client, manage_token(app, signature_id), upload(files.png(), "a.png")).status_code
        == 303
    )
    with app.app_context():
        db.session.execute(SignatureLogo.__table__.update().values(status="approved"))
        db.session.commit()
    _, [before] = rows(app)

    response = post_logo(
        client, manage_token(app, signature_id), upload(files.png(color="blue"), "b.png")
    )

    assert response.status_code == 303
    _, [after] = rows(app)
    assert after.id == before.id and after.status == "pending"
    assert after.sha256 != before.sha256 and after.decided_at is None


@pytest.mark.parametrize(("data", "name", "says"), HOSTILE)
def test_a_hostile_logo_on_the_manage_page_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, letter: str, data: bytes, name: str, says: str
) -> None:
    signature_id = add_signature(app, SLUG)
    token = manage_token(app, signature_id)

    response = post_logo(client, token, upload(data, name))

    html = response.get_data(as_text=True)
    assert response.status_code in (413, 422)
    assert says in html and "Nothing was changed" in html
    assert rows(app)[1] == []
    assert client.get(f"/my-signature/{token}").status_code == 200, "the link still works"


def test_an_oversized_logo_on_the_manage_page_answers_413(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    token = manage_token(app, add_signature(app, SLUG))

    response = post_logo(
        client, token, upload(b"\xff\xd8\xff" + b"\x00" * (1024 * 1024 + 10), "a.jpg")
    )

    assert response.status_code == 413


def test_an_upload_without_a_file_asks_for_one(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    token = manage_token(app, add_signature(app, SLUG))
    csrf = fetch_csrf(client, f"/my-signature/{token}")

    response = multipart(client, f"/my-signature/{token}/logo", {"csrf_token": csrf})

    assert response.status_code == 400
    assert "Choose the image file" in response.get_data(as_text=True)


def test_a_withdrawn_signature_cannot_take_a_logo(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    token = manage_token(app, add_signature(app, SLUG, status="withdrawn"))
    # Its page offers no form any more; a crafted post carries a token from another page.
    csrf = fetch_csrf(client, "/my-signature")

    response = multipart(
        client,
        f"/my-signature/{token}/logo",
        {"csrf_token": csrf, "logo": upload(files.png(), "a.png")},
    )

    assert response.status_code == 409
    assert rows(app)[1] == []


def test_an_upload_with_a_forged_link_is_refused(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    token = manage_token(app, add_signature(app, SLUG))
    csrf = fetch_csrf(client, f"/my-signature/{token}")

    response = multipart(
        client,
        "/my-signature/forged.token/logo",
        {"csrf_token": csrf, "logo": upload(files.png(), "a.png")},
    )

    assert response.status_code == 400
    assert rows(app)[1] == []


def test_the_signer_sees_their_own_pending_logo_never_cached(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    signature_id = add_signature(app, SLUG)
    response = post_logo(client, manage_token(app, signature_id), upload(files.png(), "a.png"))
    fresh = response.headers["Location"].rsplit("/", 1)[-1]

    image = client.get(f"/my-signature/{fresh}/logo.png")

    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Cache-Control"] == "no-store"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
