"""Posting updates: the workspace's forms, the letter page, the updates page and feed, who
may post, bad input and the audit trail."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from sqlalchemy import select

from signatory.core.extensions import db
from signatory.models import Coordinator
from tests.conftest import audit_trail, fetch_csrf, sign_in
from tests.factories import find_letter, make_letter, make_member
from tests.updates.conftest import SLUG, post_update, press, updates

ATOM = "{http://www.w3.org/2005/Atom}"


def parsed(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - the app's own output, parsed to check it


def test_posting_an_update_stores_its_sanitised_text_and_goes_to_its_preview(app, signed_in):
    response = post_update(signed_in, body="On **8 August**. <script>alert(1)</script>")

    [posted] = updates(app)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/manage/letters/{SLUG}/updates/{posted.id}")
    assert posted.title == "The Committee adopted the text"
    assert "<strong>8 August</strong>" in posted.body_html
    assert "<script>" not in posted.body_html


def test_a_posted_update_shows_on_the_letter_page_even_after_the_page_was_kept(
    app, client, signed_in
):
    before = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    post_update(signed_in)

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "The Committee adopted the text" not in before
    assert "The Committee adopted the text" in page
    assert "<strong>8 August</strong>" in page


def test_the_letter_page_shows_the_newest_three_and_links_to_all(app, client, signed_in):
    for n in range(1, 5):
        post_update(signed_in, title=f"Update number {n}")

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "Update number 4" in page and "Update number 2" in page
    assert "Update number 1" not in page
    assert f'href="/letters/{SLUG}/updates"' in page


def test_the_updates_page_lists_every_update_newest_first(client, signed_in):
    post_update(signed_in, title="First news")
    post_update(signed_in, title="Second news")

    page = client.get(f"/letters/{SLUG}/updates").get_data(as_text=True)
    assert page.index("Second news") < page.index("First news")


def test_the_letter_page_links_the_updates_feed_as_an_alternate(client, letter):
    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert (
        f'<link rel="alternate" type="application/atom+xml" title="Updates" '
        f'href="/letters/{SLUG}/updates.atom">' in page
    )


def test_the_feed_is_an_atom_document_with_an_entry_per_update(client, signed_in):
    post_update(signed_in, title="First news", body="Text & <b>more</b>")
    post_update(signed_in, title="Second news")

    response = client.get(f"/letters/{SLUG}/updates.atom")
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    feed = parsed(response.data)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    [self_link] = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link.get("href") == f"http://signatory.test/letters/{SLUG}/updates.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Second news", "First news"]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 2 and all(i.startswith("tag:signatory.test,") for i in ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}updated")
        assert entry.find(f"{ATOM}content").get("type") == "html"
    # Markup in the source was escaped by the parser, then the HTML escaped again as text.
    assert "&lt;b&gt;" in entries[1].findtext(f"{ATOM}content")


def test_the_feed_of_a_letter_without_updates_is_still_valid(client, letter):
    feed = parsed(client.get(f"/letters/{SLUG}/updates.atom").data)
    assert feed.findtext(f"{ATOM}updated")
    assert feed.findall(f"{ATOM}entry") == []


def test_a_draft_letters_updates_are_not_public(app, client):
    with app.app_context():
        make_letter(db.session, slug="draft", status="draft")
        db.session.commit()
    assert client.get("/letters/draft/updates").status_code == 404
    assert client.get("/letters/draft/updates.atom").status_code == 404


def test_editing_changes_the_text_until_it_is_sent(app, signed_in):
    post_update(signed_in)
    [posted] = updates(app)
    path = f"/manage/letters/{SLUG}/updates/{posted.id}/edit"
    form_page = signed_in.get(path).get_data(as_text=True)
    assert "On **8 August**." in form_page

    response = signed_in.post(
        path, data={"csrf_token": fetch_csrf(signed_in, path), "title": "Adopted", "body": "Yes."}
    )

    [edited] = updates(app)
    assert response.status_code == 303
    assert (edited.title, edited.body_html.strip()) == ("Adopted", "<p>Yes.</p>")
    assert edited.edited_at is not None


def test_an_update_being_emailed_can_no_longer_be_edited(app, signed_in):
    post_update(signed_in)
    [posted] = updates(app)
    press(signed_in, posted.id, "send")
    path = f"/manage/letters/{SLUG}/updates/{posted.id}/edit"

    response = signed_in.post(
        path, data={"csrf_token": fetch_csrf(signed_in, "/manage/"), "title": "New", "body": "X"}
    )

    assert response.status_code == 409
    assert "its text stays as the signatories got it" in response.get_data(as_text=True)
    assert updates(app)[0].title == "The Committee adopted the text"


def test_an_empty_title_is_refused_with_a_message_and_nothing_stored(app, signed_in):
    response = post_update(signed_in, title="   ")
    assert response.status_code == 400
    assert "Give the update a title." in response.get_data(as_text=True)
    assert updates(app) == []


def test_an_oversized_body_is_refused_with_a_message_and_nothing_stored(app, signed_in):
    response = post_update(signed_in, body="x" * 20_001)
    assert response.status_code == 400
    assert "At most 20,000 characters." in response.get_data(as_text=True)
    assert updates(app) == []


def test_an_update_is_not_found_under_another_letter_of_the_same_coordinator(
    app, signed_in, editor
):
    post_update(signed_in)
    [posted] = updates(app)
    with app.app_context():
        me = db.session.scalar(select(Coordinator).where(Coordinator.email == editor))
        make_member(db.session, make_letter(db.session, slug="other"), coordinator=me)
        db.session.commit()

    assert signed_in.get(f"/manage/letters/other/updates/{posted.id}").status_code == 404
    assert signed_in.get(f"/manage/letters/other/updates/{posted.id}/edit").status_code == 404


def test_a_coordinator_of_another_letter_gets_404(app, signed_in):
    post_update(signed_in)
    [posted] = updates(app)
    with app.app_context():
        stranger = make_member(db.session, make_letter(db.session, slug="theirs")).email
        db.session.commit()
    client = sign_in(app.test_client(), stranger)

    for path in ("", "/new", f"/{posted.id}", f"/{posted.id}/edit"):
        assert client.get(f"/manage/letters/{SLUG}/updates{path}").status_code == 404, path
    assert press_as(client, posted.id, "send").status_code == 404


def press_as(client, update_id, action):
    return client.post(
        f"/manage/letters/{SLUG}/updates/{update_id}/{action}",
        data={"csrf_token": fetch_csrf(client, "/manage/")},
    )


def test_a_moderator_may_not_post_or_send_updates(app, client, letter):
    with app.app_context():
        moderator = make_member(db.session, find_letter(db.session, letter), role="moderator")
        db.session.commit()
        email = moderator.email
    sign_in(client, email)
    assert client.get(f"/manage/letters/{SLUG}/updates").status_code == 403
    assert client.get(f"/manage/letters/{SLUG}/updates/new").status_code == 403


def test_posting_and_editing_are_audited(app, signed_in):
    post_update(signed_in)
    [posted] = updates(app)
    path = f"/manage/letters/{SLUG}/updates/{posted.id}/edit"
    signed_in.post(
        path, data={"csrf_token": fetch_csrf(signed_in, path), "title": "Adopted", "body": "Y"}
    )

    [created] = audit_trail(app, "update.posted")
    [edited] = audit_trail(app, "update.edited")
    assert created.detail == {"update_id": posted.id, "title": "The Committee adopted the text"}
    assert edited.detail == {"update_id": posted.id, "title": "Adopted"}
    assert created.actor_id is not None and edited.actor_id == created.actor_id


def letter_revision(app) -> int:
    with app.app_context():
        found = find_letter(db.session, SLUG)
        assert found is not None
        return found.revision


def test_posting_and_editing_move_the_letter_revision_and_sending_does_not(app, signed_in):
    # The kept letter page is keyed by the revision: the database's triggers move it.
    start = letter_revision(app)
    post_update(signed_in)
    posted = letter_revision(app)
    [update] = updates(app)
    path = f"/manage/letters/{SLUG}/updates/{update.id}/edit"
    signed_in.post(
        path, data={"csrf_token": fetch_csrf(signed_in, path), "title": "Adopted", "body": "Y"}
    )
    edited = letter_revision(app)
    press(signed_in, update.id, "send")

    assert start < posted < edited
    assert letter_revision(app) == edited
