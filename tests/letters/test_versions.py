"""Versions, honestly: new versions never rewrite old ones, signatures stay on what they
signed, anyone can compare two versions, and earlier signatories can be told of a change."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.letters import service, versions
from signatory.mail.registry import Undeliverable
from signatory.mail.worker import render_message
from signatory.models import AuditEvent, LetterVersion, OutboxMessage, Signature, transition
from signatory.signatures import changes
from tests.conftest import add_signature, fetch_csrf, html_part, sign_in, text_part
from tests.factories import (
    find_letter,
    make_coordinator,
    make_letter,
    make_member,
    make_signature,
    make_team,
    outbox_messages,
)

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
SLUG = "civic-space"
V1 = "We ask the Committee to **protect** civic space.\n\nKeep negotiations open."
V2 = "We urge the Committee to **protect** civic space.\n\nKeep negotiations open."


def publish(session, letter, body=V2, kind="substantive", note="Stronger wording.", author=None):
    return service.publish_version(
        session,
        letter,
        body_markdown=body,
        kind=kind,
        change_note=note,
        author=author,
        now=NOW,
    )


@pytest.fixture
def letter(session):
    return make_letter(session, slug=SLUG, body=V1)


# --- Publishing versions -----------------------------------------------------------------


def test_a_new_version_leaves_the_old_one_and_its_signatures_untouched(session, letter):
    signature = make_signature(session, letter)
    first = letter.current_version

    second = publish(session, letter)

    assert [v.number for v in letter.versions] == [1, 2]
    assert letter.current_version is second
    assert first.body_markdown == V1
    session.expire_all()
    assert session.get(Signature, signature.id).version_id == first.id


def test_a_new_signature_is_made_against_the_new_version(session, letter):
    second = publish(session, letter)

    signature = make_signature(session, letter)

    assert signature.version_id == second.id


def test_publishing_renders_sanitised_html_for_the_new_version(session, letter):
    version = publish(session, letter, body="Hello <script>x()</script> **world**")

    assert "<strong>world</strong>" in version.body_html
    assert "<script>" not in version.body_html


def test_publishing_is_audited_with_the_number_kind_and_author(session, letter):
    author = make_member(session, letter, role="editor")

    publish(session, letter, kind="correction", note="Typo.", author=author)

    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "letter.text_changed"))
    assert event.detail == {"version": 2, "kind": "correction", "change_note": "Typo."}
    assert (event.actor_label, event.actor_id) == ("coordinator", author.id)


@pytest.mark.parametrize(
    ("kind", "note", "field"),
    [("", "A note.", "kind"), ("major", "A note.", "kind"), ("correction", "   ", "change_note")],
)
def test_a_version_needs_a_kind_and_a_note(session, letter, kind, note, field):
    with pytest.raises(service.LetterError) as refused:
        publish(session, letter, kind=kind, note=note)

    assert refused.value.field == field
    assert len(letter.versions) == 1


def test_an_unchanged_text_publishes_nothing(session, letter):
    with pytest.raises(service.LetterError, match="nothing to publish"):
        publish(session, letter, body=V1 + "\r\n")


def test_a_delivered_letter_takes_no_new_version(session, letter):
    letter.status = "delivered"

    with pytest.raises(service.LetterDelivered):
        publish(session, letter)


def test_an_unsigned_draft_is_changed_in_place_but_a_signed_one_is_not(session):
    draft = make_letter(session, status="draft", body=V1)
    editor = make_member(session, draft, role="editor")

    in_place = service.change_text(
        session, draft, body_markdown=V2, kind=None, change_note=None, author=editor, now=NOW
    )
    make_signature(session, draft, status="unconfirmed")
    versioned = service.change_text(
        session,
        draft,
        body_markdown=V1,
        kind="correction",
        change_note="Back.",
        author=editor,
        now=NOW,
    )

    assert (in_place.new_version, in_place.version.number) == (False, 1)
    assert (versioned.new_version, versioned.version.number) == (True, 2)
    assert draft.versions[0].body_markdown == V2


def test_version_summaries_count_signatures_per_version_newest_first(session, letter):
    make_signature(session, letter)
    make_signature(session, letter, status="pending_review")
    make_signature(session, letter, status="withdrawn")
    publish(session, letter)
    make_signature(session, letter)

    summaries = versions.version_summaries(session, letter)

    assert [s.version.number for s in summaries] == [2, 1]
    assert (summaries[0].published, summaries[1].published) == (1, 1)
    assert summaries[1].pending_review == 1
    assert summaries[0].earlier_signatories == 2  # the published and the pending one


# --- The public history ------------------------------------------------------------------


@pytest.fixture
def two_versions(app):
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body=V1)
        make_signature(db.session, letter)
        publish(db.session, letter, note="Stronger <em>wording</em>.")
        db.session.commit()


def test_the_public_letter_links_its_version_history(client, two_versions):
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert f'href="/letters/{SLUG}/versions"' in page


def test_the_public_history_lists_every_version_with_its_note(client, two_versions):
    response = client.get(f"/letters/{SLUG}/versions")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Version 1" in page and "Version 2" in page
    assert "Stronger &lt;em&gt;wording&lt;/em&gt;." in page
    assert f'action="/letters/{SLUG}/versions/compare"' in page


def test_the_public_comparison_marks_the_change(client, two_versions):
    response = client.get(f"/letters/{SLUG}/versions/compare?from=1&to=2")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<del>ask</del><ins>urge</ins>" in page


def test_the_public_comparison_escapes_markup_in_the_text(app, client):
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body="Plain.")
        publish(db.session, letter, body='Plain <script>alert("x")</script>.')
        db.session.commit()

    page = client.get(f"/letters/{SLUG}/versions/compare?from=1&to=2").get_data(as_text=True)

    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Say which two versions to compare"),
        ("?from=1", "Say which two versions to compare"),
        ("?from=one&to=2", "Versions are given by their number"),
        ("?from=-1&to=2", "Versions are given by their number"),
        ("?from=%C2%B2&to=2", "Versions are given by their number"),
        ("?from=1&to=99999999999", "Versions are given by their number"),
        ("?from=1&to=3", "there is no version 3"),
        ("?from=0&to=2", "there is no version 0"),
    ],
)
def test_the_public_comparison_refuses_bad_parameters_with_400(
    client, two_versions, query, message
):
    response = client.get(f"/letters/{SLUG}/versions/compare{query}")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_earlier_version_can_be_read_in_full(client, two_versions):
    response = client.get(f"/letters/{SLUG}/versions/1")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We ask the Committee" in page
    assert "This is an earlier text" in page
    assert client.get(f"/letters/{SLUG}/versions/7").status_code == 404


@pytest.mark.parametrize("path", ["versions", "versions/compare?from=1&to=1", "versions/1"])
def test_a_drafts_history_is_not_public(app, client, path):
    with app.app_context():
        make_letter(db.session, slug="secret-draft", status="draft")
        db.session.commit()

    assert client.get(f"/letters/secret-draft/{path}").status_code == 404


# --- The workspace's versions page -------------------------------------------------------


@pytest.fixture
def team(app):
    """An open letter signed on version 1, now at version 2; its members' emails by role."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body=V1)
        emails = make_team(db.session, letter)
        make_signature(db.session, letter, name="Early Signer")
        publish(db.session, letter)
        db.session.commit()
    return emails


def test_a_moderator_sees_versions_with_counts_and_the_latest_change(client, team):
    sign_in(client, team["moderator"])

    response = client.get(f"/manage/letters/{SLUG}/versions")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Stronger wording." in page
    assert "1 published" in page
    assert "<del>ask</del><ins>urge</ins>" in page
    # Only editors may notify; a moderator is told so instead of given the button.
    assert "/notify" not in page


def test_the_versions_page_names_an_author_who_is_not_the_reader(app, client, team):
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        author = make_coordinator(db.session, name="Ana Author")
        publish(db.session, letter, body=V2 + "\n\nA third text.", author=author)
        db.session.commit()
    sign_in(client, team["moderator"])

    response = client.get(f"/manage/letters/{SLUG}/versions")

    assert response.status_code == 200
    assert "Ana Author" in response.get_data(as_text=True)


def test_the_workspace_comparison_refuses_bad_parameters_with_400(client, team):
    sign_in(client, team["moderator"])

    response = client.get(f"/manage/letters/{SLUG}/versions?from=1&to=5")

    assert response.status_code == 400
    assert "there is no version 5" in response.get_data(as_text=True)


# --- Telling earlier signatories ---------------------------------------------------------


@pytest.fixture
def signed(session):
    """Signatures on version 1 in every status, then substantive version 2 and one signer of it."""
    letter = make_letter(session, slug=SLUG, body=V1)
    editor = make_member(session, letter, role="editor")
    by_status = {
        status: make_signature(session, letter, status=status, name=f"Signer {status}")
        for status in ("published", "pending_review", "unconfirmed", "withdrawn", "rejected")
    }
    version = publish(session, letter)
    by_status["current"] = make_signature(session, letter, name="Signer of version 2")
    return letter, editor, version, by_status


def test_notifying_queues_one_email_per_earlier_live_signature(session, signed):
    letter, editor, version, by_status = signed

    count = changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    messages = outbox_messages(session, "version_changed")
    assert count == 2
    assert sorted(m.signature_id for m in messages) == sorted(
        [by_status["published"].id, by_status["pending_review"].id]
    )
    assert {m.to_addr for m in messages} == {
        by_status["published"].email,
        by_status["pending_review"].email,
    }
    assert version.notified_at == NOW


def test_notifying_moves_no_signature_to_the_new_version(session, signed):
    letter, editor, _, by_status = signed
    first = letter.versions[0]

    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    session.expire_all()
    assert session.get(Signature, by_status["published"].id).version_id == first.id
    assert session.get(Signature, by_status["pending_review"].id).version_id == first.id


def test_notifying_is_audited_with_the_count(session, signed):
    letter, editor, _, _ = signed

    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "letter.signatories_notified")
    )
    assert event.detail == {"version": 2, "count": 2}
    assert event.actor_id == editor.id


def test_signatories_are_told_only_once_per_version(session, signed):
    letter, editor, _, _ = signed
    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    with pytest.raises(changes.AlreadyNotified):
        changes.notify_signatories(session, letter, 2, actor=editor, now=NOW + timedelta(hours=1))

    assert len(outbox_messages(session, "version_changed")) == 2


def test_a_correction_is_not_notified(session, signed):
    letter, editor, _, _ = signed
    publish(session, letter, body=V2 + "\n\nP.S.", kind="correction", note="Postscript.")

    with pytest.raises(service.LetterError, match="substantive changes only"):
        changes.notify_signatories(session, letter, 3, actor=editor, now=NOW)

    assert outbox_messages(session, "version_changed") == []


def test_nobody_to_tell_is_refused_and_leaves_the_version_unmarked(session):
    letter = make_letter(session, body=V1)
    editor = make_member(session, letter, role="editor")
    version = publish(session, letter)

    with pytest.raises(service.LetterError, match="Nobody to tell"):
        changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    assert version.notified_at is None


def test_the_email_carries_the_diff_and_the_signers_own_withdrawal_link(app, session, signed):
    letter, editor, _, by_status = signed
    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)
    signature = by_status["published"]
    message = next(
        m for m in outbox_messages(session, "version_changed") if m.signature_id == signature.id
    )

    email = render_message(session, message, now=NOW)

    text, html = text_part(email), html_part(email)
    assert email["Subject"] == f"The text of “{letter.title}” has changed since you signed"
    assert "[-ask-]{+urge+}" in text
    assert "Stronger wording." in text
    assert "<del" in html and ">ask</del>" in html and ">urge</ins>" in html
    [link] = re.findall(r"http://signatory\.test/withdraw/\S+", text)
    payload = app.extensions["signatory.tokens"].read("withdraw", link.rsplit("/", 1)[1])
    assert (payload.row_id, payload.nonce) == (signature.id, signature.withdraw_nonce)
    assert link in html


def test_the_email_escapes_markup_from_the_text_in_its_html_part(session):
    letter = make_letter(session, body="Plain.")
    editor = make_member(session, letter, role="editor")
    make_signature(session, letter)
    publish(session, letter, body="Plain <img src=x onerror=alert(1)>.")
    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)

    html = html_part(
        render_message(session, outbox_messages(session, "version_changed")[0], now=NOW)
    )

    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_signature_withdrawn_before_the_email_is_sent_gets_none(session, signed):
    letter, editor, _, by_status = signed
    changes.notify_signatories(session, letter, 2, actor=editor, now=NOW)
    signature = by_status["published"]
    transition(signature, "withdraw", now=NOW)
    message = next(
        m for m in outbox_messages(session, "version_changed") if m.signature_id == signature.id
    )

    with pytest.raises(Undeliverable, match="withdrawn"):
        render_message(session, message, now=NOW)


def test_notifying_through_the_page_sends_once_and_says_how_many(app, client):
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body=V1)
        editor = make_member(db.session, letter, role="editor").email
        make_signature(db.session, letter)
        make_signature(db.session, letter, status="withdrawn")
        publish(db.session, letter)
        db.session.commit()
    sign_in(client, editor)
    page = client.get(f"/manage/letters/{SLUG}/versions").get_data(as_text=True)
    assert "Email 1 earlier signatory" in page
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/versions")

    first = client.post(f"/manage/letters/{SLUG}/versions/2/notify", data={"csrf_token": token})
    second = client.post(f"/manage/letters/{SLUG}/versions/2/notify", data={"csrf_token": token})

    assert first.status_code == second.status_code == 303
    assert "already told" in client.get(second.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_moderator_may_not_notify(app, client, team):
    sign_in(client, team["moderator"])
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/versions")

    response = client.post(f"/manage/letters/{SLUG}/versions/2/notify", data={"csrf_token": token})

    assert response.status_code == 403


def test_notifying_an_unknown_version_is_404(app, client, team):
    sign_in(client, team["editor"])
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/versions")

    response = client.post(f"/manage/letters/{SLUG}/versions/9/notify", data={"csrf_token": token})

    assert response.status_code == 404


def test_a_substantive_change_through_the_editor_keeps_each_signature_on_its_version(app, client):
    """Driven through HTTP: sign on v1, publish v2, sign on v2; the history shows both."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG, body=V1)
        editor = make_member(db.session, letter, role="editor").email
        early = make_signature(db.session, letter).id
        db.session.commit()
    sign_in(client, editor)
    token = fetch_csrf(client, f"/manage/letters/{SLUG}/edit")
    client.post(
        f"/manage/letters/{SLUG}/edit",
        data={
            "csrf_token": token,
            "body": V2,
            "kind": "substantive",
            "change_note": "Stronger wording.",
            "based_on": "1",
        },
    )
    late = add_signature(app, SLUG)

    with app.app_context():
        version_of = dict(
            db.session.execute(
                select(Signature.id, LetterVersion.number).join(
                    LetterVersion, LetterVersion.id == Signature.version_id
                )
            ).all()
        )
    assert version_of == {early: 1, late: 2}
    history = client.get(f"/letters/{SLUG}/versions").get_data(as_text=True)
    # One published signature on each version.
    assert history.count(">1</td>") == 2


def test_stranger_gets_404_on_the_workspace_versions_page(app, client, team):
    with app.app_context():
        stranger = make_coordinator(db.session).email
        db.session.commit()
    sign_in(client, stranger)

    assert client.get(f"/manage/letters/{SLUG}/versions").status_code == 404
