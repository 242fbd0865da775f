"""The coordinators' logo queue, the served images and their headers, the logo wall."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import SignatureLogo
from signatory.organizations import logos
from signatory.organizations.images import prepare_logo
from signatory.privacy import retention
from tests.conftest import audit_trail, fetch_csrf, sign_in
from tests.databases import sqlite_only
from tests.factories import bulk_publish, find_letter, make_letter, make_member, make_signature
from tests.organizations import logo_files as files

SLUG = "civic"
MODERATOR = "moderator@coalition.example.org"


@dataclass(frozen=True)
class Made:
    signature_id: int
    logo_id: int
    sha256: str

    @property
    def path(self) -> str:
        return f"/letters/{SLUG}/logos/{self.logo_id}-{self.sha256[:8]}.png"


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"RATELIMIT_ENABLED": False, "LOGO_WALL_PAGE_SIZE": 3}


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        the_letter = make_letter(db.session, slug=SLUG)
        make_member(db.session, the_letter, role="moderator", email=MODERATOR)
        db.session.commit()
    return SLUG


def add_logo(
    app: Flask,
    *,
    status: str = "pending",
    signature_status: str = "published",
    organization: str | None = None,
    color: str = "red",
) -> Made:
    """A signature on the letter with a logo made from a real PNG, committed."""
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        assert the_letter is not None
        signature = make_signature(
            db.session, the_letter, status=signature_status, organization=organization
        )
        prepared = prepare_logo(files.png(color=color), max_bytes=1 << 20)
        logo = logos.attach_new(
            db.session,
            signature_id=signature.id,
            letter_id=the_letter.id,
            prepared=prepared,
            now=utcnow(),
        )
        logo.status = status
        db.session.commit()
        return Made(signature.id, logo.id, logo.sha256)


def logo_row(app: Flask, logo_id: int) -> SignatureLogo:
    with app.app_context():
        logo = db.session.get(SignatureLogo, logo_id)
        assert logo is not None
        db.session.expunge(logo)
        return logo


def decide(client: FlaskClient, made: Made, decision: str, sha256: str | None = None):
    csrf = fetch_csrf(client, f"/manage/letters/{SLUG}/logos")
    return client.post(
        f"/manage/letters/{SLUG}/logos/{made.logo_id}",
        data={"csrf_token": csrf, "decision": decision, "sha256": sha256 or made.sha256},
    )


# --- The queue -------------------------------------------------------------------------------


def test_the_queue_shows_pending_logos_of_confirmed_signatures_only(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    listed = add_logo(app, organization="Open Data Kenya")
    held = add_logo(app, signature_status="pending_review", organization="Held Org")
    add_logo(app, signature_status="unconfirmed", organization="Unconfirmed Org")
    add_logo(app, status="approved", organization="Approved Org")
    sign_in(client, MODERATOR)

    html = client.get(f"/manage/letters/{SLUG}/logos").get_data(as_text=True)

    assert "Open Data Kenya" in html and "Held Org" in html
    assert "Unconfirmed Org" not in html and "Approved Org" not in html
    for made in (listed, held):
        assert f"/manage/letters/{SLUG}/logos/{made.logo_id}-{made.sha256[:8]}.png" in html
    assert "Logos (2)" in html, "the letter's tab counts them"


def test_the_moderator_sees_a_pending_logo_never_cached(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app)
    sign_in(client, MODERATOR)

    response = client.get(f"/manage/letters/{SLUG}/logos/{made.logo_id}-{made.sha256[:8]}.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    assert (
        client.get(f"/manage/letters/{SLUG}/logos/{made.logo_id}-00000000.png").status_code == 404
    )


def test_a_coordinator_of_another_letter_cannot_open_the_queue(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    with app.app_context():
        other = make_letter(db.session, slug="other")
        make_member(db.session, other, role="owner", email="stranger@example.org")
        db.session.commit()
    sign_in(client, "stranger@example.org")

    assert client.get(f"/manage/letters/{SLUG}/logos").status_code == 404


def test_approving_shows_the_logo_with_safe_headers_and_is_audited(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app)
    sign_in(client, MODERATOR)

    assert decide(client, made, "approve").status_code == 303

    row = logo_row(app, made.logo_id)
    assert row.status == "approved" and row.decided_at is not None and row.decided_by_id
    [event] = audit_trail(app, "logo.approved")
    assert event.signature_id == made.signature_id and event.actor_id == row.decided_by_id
    served = client.get(made.path)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Set-Cookie" not in served.headers
    assert served.data == row.image


def test_rejecting_keeps_the_logo_off_the_letter_and_is_audited(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app)
    sign_in(client, MODERATOR)

    assert decide(client, made, "reject").status_code == 303

    assert logo_row(app, made.logo_id).status == "rejected"
    assert len(audit_trail(app, "logo.rejected")) == 1
    assert client.get(made.path).status_code == 404


def test_a_decision_on_a_logo_replaced_since_is_refused_with_409(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app)
    sign_in(client, MODERATOR)

    response = decide(client, made, "approve", sha256="0" * 64)

    assert response.status_code == 409
    assert "sent a new logo since you looked" in response.get_data(as_text=True)
    assert logo_row(app, made.logo_id).status == "pending"
    assert audit_trail(app, "logo.approved") == []


def test_a_decision_without_the_form_token_changes_nothing(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app)
    sign_in(client, MODERATOR)

    response = client.post(
        f"/manage/letters/{SLUG}/logos/{made.logo_id}",
        data={"decision": "approve", "sha256": made.sha256},
    )

    assert response.status_code == 400
    assert logo_row(app, made.logo_id).status == "pending"


def test_a_decision_on_another_letters_logo_is_404(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    with app.app_context():
        other = make_letter(db.session, slug="other")
        signature = make_signature(db.session, other)
        prepared = prepare_logo(files.png(), max_bytes=1 << 20)
        foreign = logos.attach_new(
            db.session,
            signature_id=signature.id,
            letter_id=other.id,
            prepared=prepared,
            now=utcnow(),
        )
        db.session.commit()
        made = Made(signature.id, foreign.id, foreign.sha256)
    sign_in(client, MODERATOR)

    assert decide(client, made, "approve").status_code == 404
    assert logo_row(app, made.logo_id).status == "pending"


# --- What the public is served -----------------------------------------------------------


def test_a_pending_logo_is_not_served(app: Flask, client: FlaskClient, letter: str) -> None:
    made = add_logo(app)

    assert client.get(made.path).status_code == 404


def test_an_address_with_another_hash_or_letter_finds_nothing(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    made = add_logo(app, status="approved")
    with app.app_context():
        make_letter(db.session, slug="other")
        db.session.commit()

    assert client.get(made.path).status_code == 200
    assert client.get(f"/letters/{SLUG}/logos/{made.logo_id}-deadbeef.png").status_code == 404
    assert client.get(made.path.replace(f"/{SLUG}/", "/other/")).status_code == 404


@pytest.mark.parametrize("signature_status", ["withdrawn", "rejected", "pending_review"])
def test_an_approved_logo_of_a_signature_off_the_list_is_never_shown(
    app: Flask, client: FlaskClient, letter: str, signature_status: str
) -> None:
    made = add_logo(app, status="approved", signature_status=signature_status, organization="Gone")

    assert client.get(made.path).status_code == 404
    assert "Gone" not in client.get(f"/letters/{SLUG}/logos").get_data(as_text=True)


def test_erasing_an_ended_signature_deletes_its_logo(app: Flask, letter: str) -> None:
    ended = add_logo(app, status="approved", signature_status="withdrawn")
    listed = add_logo(app, status="approved")
    with app.app_context():
        later = utcnow() + timedelta(days=31)
        assert retention.erase_ended(db.session, now=later, days=30) == 1
        db.session.commit()
        left = list(db.session.scalars(select(SignatureLogo.signature_id)))

    assert left == [listed.signature_id] and ended.signature_id not in left


# --- The logo wall ---------------------------------------------------------------------------


def tiles(html: str) -> list[str]:
    return re.findall(r'<img src="/letters/civic/logos/[^"]+" alt="([^"]*)"', html)


def test_the_list_page_links_the_logo_wall(client: FlaskClient, letter: str) -> None:
    html = client.get(f"/letters/{SLUG}/signatories").get_data(as_text=True)

    assert f'href="/letters/{SLUG}/logos"' in html


def test_the_wall_pages_through_approved_logos_with_the_names_as_alt_and_caption(
    app: Flask, client: FlaskClient, letter: str
) -> None:
    names = [f"Org {letter_}" for letter_ in "ABCDEFG"]
    for name in names:
        add_logo(app, status="approved", organization=name)
    add_logo(app, status="pending", organization="Waiting Org")
    add_logo(app, status="rejected", organization="Refused Org")

    seen: list[str] = []
    url: str | None = f"/letters/{SLUG}/logos"
    pages = 0
    while url:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        page = tiles(html)
        assert len(page) <= 3
        for name in page:
            assert f"<figcaption><bdi>{name}</bdi></figcaption>" in html
        seen += page
        pages += 1
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else None

    assert seen == names
    assert pages == 3


def test_a_forged_wall_position_is_answered_400(client: FlaskClient, letter: str) -> None:
    response = client.get(f"/letters/{SLUG}/logos?after=not-a-cursor!")

    assert response.status_code == 400
    assert "first page" in response.get_data(as_text=True)


def test_an_empty_wall_says_logos_appear_once_approved(client: FlaskClient, letter: str) -> None:
    html = client.get(f"/letters/{SLUG}/logos").get_data(as_text=True)

    assert "once the coordinators approve them" in html


def test_the_wall_cursor_round_trips_and_refuses_what_it_did_not_make() -> None:
    assert logos.decode_wall_cursor(logos.encode_wall_cursor(123456)) == 123456
    with pytest.raises(logos.InvalidWallCursor):
        logos.decode_wall_cursor(logos.encode_wall_cursor(123).replace("w", "x") + "AA")


@sqlite_only
def test_a_wall_page_reads_the_logo_index_not_the_letters_signatures(
    app: Flask, letter: str
) -> None:
    add_logo(app, status="approved")
    with app.app_context():
        the_letter = find_letter(db.session, SLUG)
        assert the_letter is not None
        bulk_publish(db.session, the_letter, 300, kind="organization")
        db.session.commit()
        query = logos.wall_query(the_letter.id, after=1, limit=3)
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = " | ".join(
            str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )

    assert "ix_signature_logo_letter" in plan, plan
    assert "SCAN" not in plan, plan
