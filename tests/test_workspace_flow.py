"""Issue 3's acceptance flow, driven through HTTP only (the Flask client) with real emails.

A coordinator signs in, creates and opens a letter with moderation, a signature arrives
for review and is approved, it appears publicly; a moderator invited by email can
moderate but not edit; a coordinator of another letter is refused everywhere with 404;
the full export has emails while the public CSV does not; a substantive change leaves
earlier signatures on the version they signed; delivering freezes a file whose SHA-256
matches what the public page shows.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.mail.worker import render_message
from signatory.models import AuditEvent, OutboxMessage
from tests.conftest import csrf_token_from, fetch_csrf, post_form, sign_in, text_part
from tests.downloads import csv_records
from tests.factories import make_coordinator, make_letter, make_member

OWNER = "olive@coalition.example.org"
STRANGER = "sam@other-coalition.example.org"
MODERATOR = "mo@partner.example.org"
SIGNER = "rosa@transparency.example.org"
SLUG = "open-the-room"


def emails_to(app, address: str) -> list[str]:
    """Render every queued email to ``address`` as the worker would; return the text parts."""
    with app.app_context():
        ids = db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.to_addr == address)
        ).all()
        texts = []
        for message_id in ids:
            message = db.session.get(OutboxMessage, message_id)
            texts.append(text_part(render_message(db.session, message, now=utcnow())))
        db.session.rollback()
        return texts


def link(text: str, kind: str) -> str:
    match = re.search(rf"http://signatory\.test(/(?:manage/)?{kind}/[A-Za-z0-9._\-]+)", text)
    assert match, f"no {kind} link in:\n{text}"
    return match.group(1)


def sign_and_confirm(client, app, email: str, organization: str) -> None:
    token = fetch_csrf(client, f"/letters/{SLUG}")
    response = client.post(
        f"/letters/{SLUG}/sign",
        data={
            "csrf_token": token,
            "kind": "organization",
            "organization": organization,
            "country": "CL",
            "organization_type": "ngo",
            "website": "https://transparency.example.org",
            "name": "Rosa Signer",
            "title": "Directora",
            "email": email,
            "authorised": "y",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    confirm = link(emails_to(app, email)[-1], "confirm")
    page = client.get(confirm).get_data(as_text=True)
    response = client.post(confirm, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 200


def test_the_workspace_from_first_letter_to_delivery(app):
    with app.app_context():
        make_coordinator(db.session, email=OWNER, name="Olive Owner")
        other = make_letter(db.session, slug="another-letter")
        make_member(db.session, other, role="owner", email=STRANGER)
        db.session.commit()
    owner = app.test_client()
    sign_in(owner, OWNER)

    # Create and open a letter that reviews every signature.
    response = post_form(
        owner,
        "/manage/letters/new",
        form_page="/manage/letters/new",
        slug=SLUG,
        title="Open the room",
        recipient="Chair of the Ad Hoc Committee",
        body="We ask the Committee to keep its sessions **open**.",
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    edit_page = f"/manage/letters/{SLUG}/edit"
    response = post_form(
        owner,
        f"/manage/letters/{SLUG}/settings",
        form_page=edit_page,
        title="Open the room",
        recipient="Chair of the Ad Hoc Committee",
        allow_individuals="y",
        moderation="all",
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    assert post_form(owner, f"/manage/letters/{SLUG}/open", form_page=edit_page).status_code in (
        302,
        303,
    )

    # A signature arrives, is confirmed, and waits for review: not public yet.
    public = app.test_client()
    sign_and_confirm(public, app, SIGNER, "Transparency Example")
    assert "Transparency Example" not in public.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )
    queue = owner.get(f"/manage/letters/{SLUG}/moderation").get_data(as_text=True)
    assert "Transparency Example" in queue
    signature_id = re.search(r'name="signature" value="(\d+)"', queue).group(1)

    # Invite a moderator by email; they join with a new account.
    team_page = f"/manage/letters/{SLUG}/team"
    response = post_form(
        owner, f"{team_page}/invite", form_page=team_page, email=MODERATOR, role="moderator"
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    invitation = link(emails_to(app, MODERATOR)[-1], "invite")
    moderator = app.test_client()
    page = moderator.get(invitation).get_data(as_text=True)
    response = moderator.post(
        invitation,
        data={
            "csrf_token": csrf_token_from(page),
            "name": "Mo Moderator",
            "password": "a long moderator passphrase",
            "password_again": "a long moderator passphrase",
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)

    # The moderator approves; the signature is public at once. Editing is refused.
    queue_page = f"/manage/letters/{SLUG}/moderation"
    response = post_form(
        moderator, queue_page, form_page=queue_page, signature=signature_id, decision="approve"
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    assert "Transparency Example" in public.get(f"/letters/{SLUG}/signatories").get_data(
        as_text=True
    )
    assert moderator.get(edit_page).status_code == 403

    # A coordinator of another letter is refused with 404.
    stranger = app.test_client()
    sign_in(stranger, STRANGER)
    for path in (f"/manage/letters/{SLUG}/", queue_page, team_page, edit_page):
        assert stranger.get(path).status_code == 404, path

    # The full export has the email; the public CSV never does.
    export_page = f"/manage/letters/{SLUG}/export"
    full = post_form(owner, f"{export_page}.csv", form_page=export_page)
    assert full.status_code == 200
    assert full.headers["Cache-Control"] == "no-store"
    assert SIGNER in full.get_data(as_text=True)
    assert SIGNER not in public.get(f"/letters/{SLUG}/signatories.csv").get_data(as_text=True)

    # A substantive change: the earlier signature keeps the version it signed.
    page = owner.get(edit_page).get_data(as_text=True)
    based_on = re.search(r'name="based_on"[^>]*value="(\d+)"', page)
    response = owner.post(
        edit_page,
        data={
            "csrf_token": csrf_token_from(page),
            "body": "We ask the Committee to keep its sessions **open** and its drafts public.",
            "kind": "substantive",
            "change_note": "Adds the drafts.",
            **({"based_on": based_on.group(1)} if based_on else {}),
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    exported = csv_records(
        post_form(owner, f"{export_page}.csv", form_page=export_page).get_data(as_text=True)
    )
    version_column = next(name for name in exported[0] if "version" in name.lower())
    assert [row[version_column] for row in exported] == ["1"]

    # Delivery freezes the list; the public page shows the hash of exactly what is served.
    delivery_page = f"/manage/letters/{SLUG}/delivery"
    response = post_form(
        owner,
        delivery_page,
        form_page=delivery_page,
        delivered_to="Chair of the Ad Hoc Committee",
        delivered_at=utcnow().strftime("%Y-%m-%dT%H:%M"),
        method="by email to the secretariat",
        confirm="y",
    )
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)
    frozen = public.get(f"/letters/{SLUG}/delivered.csv").get_data()
    letter_page = public.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert hashlib.sha256(frozen).hexdigest() in letter_page
    assert "Transparency Example" in frozen.decode("utf-8")
    assert SIGNER.encode() not in frozen

    # Every coordinator action above left an audit event, and the audit page shows them.
    assert owner.get(f"/manage/letters/{SLUG}/audit").status_code == 200
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    for action in (
        "letter.created",
        "letter.settings_changed",
        "letter.status_changed",
        "team.invited",
        "team.joined",
        "signature.approved",
        "letter.exported",
        "letter.text_changed",
        "letter.delivered",
    ):
        assert action in actions, f"{action} missing from the audit trail"
