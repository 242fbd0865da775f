"""Letters in the browser: a new draft, its text and preview, its settings and its status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LetterVersion, Membership
from tests.conftest import (
    add_signature,
    audit_trail,
    csrf_token_from,
    fetch_csrf,
    post_form,
    sign_in,
)
from tests.factories import find_letter, make_coordinator, make_letter, make_member, make_team

SLUG = "civic-space"


@pytest.fixture
def team(app):
    """A draft with an owner, an editor and a moderator; returns their emails by role."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, status="draft")
        emails = make_team(db.session, letter)
        db.session.commit()
    return emails


def the_letter(app, slug=SLUG) -> Letter:
    with app.app_context():
        letter = find_letter(db.session, slug)
        letter.versions  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return letter


def update_letter(app, slug=SLUG, **values) -> None:
    with app.app_context():
        letter = find_letter(db.session, slug)
        for name, value in values.items():
            setattr(letter, name, value)
        db.session.commit()


def coordinator_id(app, email: str) -> int:
    from signatory.models import Coordinator

    with app.app_context():
        return db.session.scalar(select(Coordinator.id).where(Coordinator.email == email))


def post_text(client, slug=SLUG, **data):
    edit = f"/manage/letters/{slug}/edit"
    return post_form(client, edit, form_page=edit, **data)


def post_settings(client, slug=SLUG, **overrides):
    data = {
        "title": "Protect civic space in the treaty",
        "recipient": "Chair of the Ad Hoc Committee",
        "deadline": "",
        "allow_individuals": "y",
        "moderation": "none",
        **overrides,
    }
    return post_form(
        client, f"/manage/letters/{slug}/settings", form_page=f"/manage/letters/{slug}/edit", **data
    )


def post_action(client, action: str, slug=SLUG):
    return post_form(
        client, f"/manage/letters/{slug}/{action}", form_page=f"/manage/letters/{slug}/edit"
    )


# --- A new draft -------------------------------------------------------------------------


NEW = {
    "slug": "open-data-now",
    "title": "Open data now",
    "recipient": "The Minister",
    "body": "We ask for **open data**.",
}


def test_a_coordinator_creates_a_draft_with_version_1_and_becomes_its_owner(app, client):
    with app.app_context():
        email = make_coordinator(db.session).email
        db.session.commit()
    sign_in(client, email)
    token = fetch_csrf(client, "/manage/letters/new")

    response = client.post("/manage/letters/new", data={"csrf_token": token, **NEW})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/manage/letters/open-data-now/edit")
    letter = the_letter(app, "open-data-now")
    assert letter.status == "draft"
    assert [v.number for v in letter.versions] == [1]
    assert letter.versions[0].body_markdown == "We ask for **open data**."
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(Membership.letter_id == letter.id))
        owner = (membership.coordinator_id, membership.role)
    assert owner == (coordinator_id(app, email), "owner")
    [event] = audit_trail(app, "letter.created")
    assert (event.actor_label, event.actor_id) == ("coordinator", coordinator_id(app, email))


def test_the_new_letter_form_refuses_a_taken_address_next_to_the_field(app, client, team):
    sign_in(client, team["owner"])
    token = fetch_csrf(client, "/manage/letters/new")

    response = client.post("/manage/letters/new", data={"csrf_token": token, **NEW, "slug": SLUG})

    assert response.status_code == 400
    assert "Another letter already uses this address" in response.get_data(as_text=True)


def test_the_new_letter_form_refuses_a_malformed_address(app, client, team):
    sign_in(client, team["owner"])
    token = fetch_csrf(client, "/manage/letters/new")

    response = client.post(
        "/manage/letters/new", data={"csrf_token": token, **NEW, "slug": "Not A Slug!"}
    )

    assert response.status_code == 400
    assert "lowercase letters, digits and single hyphens" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 1


def test_previewing_a_new_letter_shows_sanitised_html_and_saves_nothing(app, client, team):
    sign_in(client, team["owner"])
    token = fetch_csrf(client, "/manage/letters/new")
    body = "**Bold** <script>alert(1)</script>"

    response = client.post(
        "/manage/letters/new",
        data={"csrf_token": token, **NEW, "body": body, "action": "preview"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 1


# --- The text ----------------------------------------------------------------------------


def test_an_unsigned_draft_is_edited_in_place_and_audited(app, client, team):
    sign_in(client, team["editor"])

    response = post_text(client, body="A better first text.", based_on="1")

    assert response.status_code == 303
    letter = the_letter(app)
    assert [(v.number, v.body_markdown) for v in letter.versions] == [(1, "A better first text.")]
    [event] = audit_trail(app, "letter.text_changed")
    assert event.detail == {"version": 1, "kind": "initial", "in_place": True}
    assert event.actor_id == coordinator_id(app, team["editor"])


def test_windows_line_endings_from_the_browser_are_stored_as_plain_newlines(app, client, team):
    sign_in(client, team["editor"])

    post_text(client, body="One.\r\n\r\nTwo.\r\n")

    assert the_letter(app).versions[0].body_markdown == "One.\n\nTwo."


def test_saving_an_unchanged_text_creates_no_version_and_no_audit_event(app, client, team):
    sign_in(client, team["editor"])
    body = the_letter(app).versions[0].body_markdown

    response = post_text(client, body=body.replace("\n", "\r\n"))

    assert response.status_code == 303
    assert len(the_letter(app).versions) == 1
    assert audit_trail(app, "letter.text_changed") == []


def test_a_signed_letter_refuses_a_change_without_kind_and_note(app, client, team):
    update_letter(app, status="open")
    add_signature(app, SLUG)
    sign_in(client, team["editor"])

    response = post_text(client, body="A changed text.")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Say what kind of change this is" in page
    assert [v.number for v in the_letter(app).versions] == [1]


def test_a_signed_letter_refuses_a_change_without_a_note(app, client, team):
    update_letter(app, status="open")
    add_signature(app, SLUG)
    sign_in(client, team["editor"])

    response = post_text(client, body="A changed text.", kind="correction", change_note="  ")

    assert response.status_code == 400
    assert "Write a short note saying what changed" in response.get_data(as_text=True)
    assert [v.number for v in the_letter(app).versions] == [1]


def test_a_signed_letter_publishes_a_new_version_and_keeps_the_old_one(app, client, team):
    update_letter(app, status="open")
    add_signature(app, SLUG)
    original = the_letter(app).versions[0].body_markdown
    sign_in(client, team["editor"])

    response = post_text(
        client,
        body="A changed text.",
        kind="substantive",
        change_note="Asks for more.",
        based_on="1",
    )

    assert response.status_code == 303
    versions = the_letter(app).versions
    assert [(v.number, v.kind) for v in versions] == [(1, "initial"), (2, "substantive")]
    assert versions[0].body_markdown == original
    assert versions[1].change_note == "Asks for more."
    [event] = audit_trail(app, "letter.text_changed")
    assert event.detail["version"] == 2 and event.detail["kind"] == "substantive"


def test_an_open_letter_nobody_signed_still_gets_a_new_version(app, client, team):
    update_letter(app, status="open")
    sign_in(client, team["editor"])

    post_text(client, body="Reworded.", kind="correction", change_note="Typo.")

    assert [v.number for v in the_letter(app).versions] == [1, 2]


def test_a_save_based_on_an_older_version_is_refused_with_the_text_kept(app, client, team):
    update_letter(app, status="open")
    sign_in(client, team["editor"])
    post_text(client, body="Version two.", kind="correction", change_note="Typo.", based_on="1")

    response = post_text(
        client, body="My stale edit.", kind="correction", change_note="Mine.", based_on="1"
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone published version 2" in page
    assert "My stale edit." in page
    assert [v.number for v in the_letter(app).versions] == [1, 2]


def test_the_preview_button_renders_the_text_without_saving(app, client, team):
    sign_in(client, team["editor"])

    response = post_text(client, body="# Heading\n\n<img src=x onerror=alert(1)>", action="preview")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Heading</h1>" in page
    assert "<img" not in page
    assert the_letter(app).versions[0].body_markdown != "# Heading\n\n<img src=x onerror=alert(1)>"


def test_a_moderator_gets_403_on_the_editor_and_an_editor_may_use_it(app, client, team):
    sign_in(client, team["moderator"])
    assert client.get(f"/manage/letters/{SLUG}/edit").status_code == 403
    client.post("/manage/logout", data={"csrf_token": fetch_csrf(client, "/manage/")})

    sign_in(client, team["editor"])
    assert client.get(f"/manage/letters/{SLUG}/edit").status_code == 200


# --- The live preview endpoint -----------------------------------------------------------


def test_the_preview_endpoint_returns_sanitised_html(app, client, team):
    sign_in(client, team["editor"])
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/edit")

    response = client.post(
        f"/manage/letters/{SLUG}/preview",
        data={"body": "*Hi* <script>x()</script> [a](javascript:alert(1))"},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<em>Hi</em>" in html
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert response.headers["Cache-Control"] == "no-store"


def test_the_preview_endpoint_needs_a_csrf_token(app, client, team):
    sign_in(client, team["editor"])

    response = client.post(f"/manage/letters/{SLUG}/preview", data={"body": "x"})

    assert response.status_code == 400


def test_the_preview_endpoint_needs_the_editor_role(app, client, team):
    sign_in(client, team["moderator"])
    token = fetch_csrf(client, "/manage/")

    response = client.post(
        f"/manage/letters/{SLUG}/preview", data={"body": "x"}, headers={"X-CSRFToken": token}
    )

    assert response.status_code == 403


def test_the_edit_page_loads_the_live_preview_script_and_names_its_endpoint(app, client, team):
    sign_in(client, team["editor"])

    page = client.get(f"/manage/letters/{SLUG}/edit").get_data(as_text=True)

    assert "/static/manage.js" in page
    assert f'data-preview-url="/manage/letters/{SLUG}/preview"' in page


# --- Settings ----------------------------------------------------------------------------


def test_settings_are_saved_and_audited_with_what_changed(app, client, team):
    sign_in(client, team["editor"])

    response = post_settings(
        client,
        title="A new title",
        recipient="The Secretary-General",
        deadline="2099-06-30T17:00",
        moderation="mismatch",
        require_domain_match="y",
        allow_individuals="",
    )

    assert response.status_code == 303
    letter = the_letter(app)
    assert (letter.title, letter.recipient) == ("A new title", "The Secretary-General")
    assert letter.deadline == datetime(2099, 6, 30, 17, 0, tzinfo=UTC)
    assert (letter.moderation, letter.require_domain_match) == ("mismatch", True)
    assert letter.allow_individuals is False
    [event] = audit_trail(app, "letter.settings_changed")
    assert event.detail["changes"]["deadline"] == {"from": None, "to": "2099-06-30T17:00:00+00:00"}
    assert event.actor_id == coordinator_id(app, team["editor"])


def test_an_empty_deadline_clears_it(app, client, team):
    update_letter(app, deadline=utcnow() + timedelta(days=3))
    sign_in(client, team["editor"])

    post_settings(client, deadline="")

    assert the_letter(app).deadline is None


def test_a_new_deadline_in_the_past_is_refused_next_to_the_field(app, client, team):
    sign_in(client, team["editor"])

    response = post_settings(client, deadline="2001-01-01T00:00")

    assert response.status_code == 400
    assert "That deadline has already passed" in response.get_data(as_text=True)
    assert the_letter(app).deadline is None


def test_a_malformed_deadline_gets_a_clear_message(app, client, team):
    sign_in(client, team["editor"])

    response = post_settings(client, deadline="next tuesday")

    assert response.status_code == 400
    assert "Give a date and time such as" in response.get_data(as_text=True)


def test_an_old_deadline_left_alone_does_not_block_other_settings(app, client, team):
    past = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    update_letter(app, status="open", deadline=past)
    sign_in(client, team["editor"])

    response = post_settings(client, title="Renamed", deadline=past.strftime("%Y-%m-%dT%H:%M"))

    assert response.status_code == 303
    assert the_letter(app).title == "Renamed"


def test_the_deadline_closes_signing_by_itself(app, client, team):
    update_letter(app, status="open")
    sign_in(client, team["editor"])
    post_settings(client, deadline="2099-01-01T00:00")

    letter = the_letter(app)
    assert letter.accepts_signatures(datetime(2098, 12, 31, 23, 59, tzinfo=UTC))
    assert not letter.accepts_signatures(datetime(2099, 1, 1, 0, 0, tzinfo=UTC))


# --- Status ------------------------------------------------------------------------------


def test_opening_a_draft_makes_it_open_and_is_audited(app, client, team):
    sign_in(client, team["editor"])

    response = post_action(client, "open")

    assert response.status_code == 303
    assert the_letter(app).status == "open"
    [event] = audit_trail(app, "letter.status_changed")
    assert event.detail == {"from": "draft", "to": "open"}
    assert (event.actor_label, event.actor_id) == (
        "coordinator",
        coordinator_id(app, team["editor"]),
    )


def test_closing_and_reopening_an_open_letter(app, client, team):
    update_letter(app, status="open")
    sign_in(client, team["editor"])

    post_action(client, "close")
    assert the_letter(app).status == "closed"
    post_action(client, "reopen")
    assert the_letter(app).status == "open"
    assert [e.detail["to"] for e in audit_trail(app, "letter.status_changed")] == [
        "closed",
        "open",
    ]


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("open", "open", "Only a draft can be opened"),
        ("draft", "close", "Only an open letter can be closed"),
        ("open", "reopen", "Only a closed letter can be reopened"),
    ],
)
def test_a_status_change_from_the_wrong_status_is_refused(
    app, client, team, status, action, message
):
    update_letter(app, status=status)
    sign_in(client, team["editor"])

    response = post_action(client, action)

    assert response.status_code == 303
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert the_letter(app).status == status
    assert audit_trail(app, "letter.status_changed") == []


def test_opening_refuses_a_deadline_that_has_passed(app, client, team):
    update_letter(app, deadline=utcnow() - timedelta(hours=1))
    sign_in(client, team["editor"])

    response = post_action(client, "open")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "has passed, so the letter would take no signatures" in page
    assert the_letter(app).status == "draft"


def test_a_delivered_letter_cannot_be_reopened(app, client, team):
    update_letter(app, status="delivered")
    sign_in(client, team["editor"])

    response = post_action(client, "reopen")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signing stays closed for good" in page
    assert the_letter(app).status == "delivered"


def test_a_delivered_letter_cannot_be_edited(app, client, team):
    update_letter(app, status="delivered")
    sign_in(client, team["editor"])
    page = client.get(f"/manage/letters/{SLUG}/edit")
    token = csrf_token_from(page.get_data(as_text=True))

    text = client.post(
        f"/manage/letters/{SLUG}/edit",
        data={"csrf_token": token, "body": "New", "kind": "correction", "change_note": "x"},
    )
    settings = client.post(
        f"/manage/letters/{SLUG}/settings",
        data={"csrf_token": token, "title": "T", "recipient": "R", "moderation": "none"},
    )

    assert "the letter is frozen" in page.get_data(as_text=True)
    assert text.status_code == 409 and settings.status_code == 409
    assert "delivered" in text.get_data(as_text=True)
    assert len(the_letter(app).versions) == 1


def test_a_stranger_gets_404_on_every_action(app, client, team):
    with app.app_context():
        other = make_letter(db.session, slug="other")
        stranger = make_member(db.session, other, role="owner").email
        db.session.commit()
    sign_in(client, stranger)
    token = fetch_csrf(client, "/manage/")

    for path in ("edit", "settings", "open", "close", "reopen", "preview", "versions/1/notify"):
        response = client.post(f"/manage/letters/{SLUG}/{path}", data={"csrf_token": token})
        assert response.status_code == 404, path


def test_versions_are_never_deleted_by_editing(app, client, team):
    update_letter(app, status="open")
    add_signature(app, SLUG)
    sign_in(client, team["editor"])
    for n in range(2, 5):
        post_text(client, body=f"Text {n}.", kind="correction", change_note=f"Edit {n}.")

    with app.app_context():
        bodies = db.session.scalars(select(LetterVersion.body_markdown).order_by("number")).all()
    assert bodies[1:] == ["Text 2.", "Text 3.", "Text 4."]


def test_a_deadline_left_as_shown_keeps_its_seconds_and_is_not_a_change(app, client, team):
    deadline = datetime(2099, 5, 1, 12, 30, 45, tzinfo=UTC)
    update_letter(app, deadline=deadline)
    sign_in(client, team["editor"])

    post_settings(client, title="Renamed", deadline="2099-05-01T12:30")

    assert the_letter(app).deadline == deadline
    [event] = audit_trail(app, "letter.settings_changed")
    assert set(event.detail["changes"]) == {"title"}
