"""Reuse: the embeddable widget, the Atom feed, the JSON download, link previews, and names in
every script kept intact in each of them."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory.core.time import utcnow
from signatory.letters.queries import Counts
from signatory.lists import feeds, share, writers
from signatory.lists import queries as list_queries
from signatory.models import transition
from tests.downloads import csv_rows
from tests.factories import make_letter, make_signature

ATOM = "{http://www.w3.org/2005/Atom}"
SCRIPTS = ["جمعية الحقوق الرقمية", "עמותת חופש המידע", "数字权利中心", "Правозащитный центр"]
PUBLIC_FIELDS = {
    "id",
    "kind",
    "organization",
    "country",
    "country_name",
    "organization_type",
    "website",
    "name",
    "title",
    "domain_verified",
    "signed_at",
    "version",
}


def parse_xml(data: str | bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - the app's own output, parsed to check it


# --- The widget -----------------------------------------------------------------------------


def test_widget_may_be_framed_by_any_site(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/widget")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    # The rest of the policy still holds: no inline script, no other origins.
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "url", ["/letters/civic", "/letters/civic/signatories", "/letters/civic/stats", "/"]
)
def test_every_other_page_refuses_to_be_framed(
    client: FlaskClient, session: Session, url: str
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get(url)

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_widget_shows_the_count_and_the_newest_organizations(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    for n in range(7):
        make_signature(session, letter, organization=f"Org {n}")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    page = client.get("/letters/civic/widget").get_data(as_text=True)

    assert re.search(r'<span class="count"[^>]*>8</span>', page)
    listed = re.findall(r"<li [^>]*><bdi>(.*?)</bdi>", page)
    assert listed == [f"Org {n}" for n in range(6, 1, -1)]
    assert "Amina Diallo" not in page


def test_widget_links_leave_the_frame(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = client.get("/letters/civic/widget").get_data(as_text=True)
    links = re.findall(r"<a [^>]*>", page)

    assert links, "the widget has no links"
    for link in links:
        assert 'target="_blank"' in link and 'rel="noopener"' in link
        assert 'href="http://signatory.test/letters/civic' in link
    assert "Sign the letter" in page


def test_widget_of_a_closed_letter_links_to_read_it(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic", status="closed")
    session.commit()

    page = client.get("/letters/civic/widget").get_data(as_text=True)

    assert "Sign the letter" not in page
    assert "Read the letter" in page


def test_widget_sets_no_cookie_and_may_be_cached(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/widget")

    assert "Set-Cookie" not in response.headers
    assert response.cache_control.public


def test_widget_revalidates_with_its_etag(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()
    etag = client.get("/letters/civic/widget").headers["ETag"]

    response = client.get("/letters/civic/widget", headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_widget_changes_when_signing_closes(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    session.commit()
    etag = client.get("/letters/civic/widget").headers["ETag"]

    letter.status = "closed"
    session.commit()

    assert client.get("/letters/civic/widget", headers={"If-None-Match": etag}).status_code == 200


def test_letter_page_offers_the_embed_snippet_as_text(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic", title='Say "no" <now>')
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)
    match = re.search(r'<textarea id="embed-code"[^>]*>(.*?)</textarea>', page, re.S)

    assert match, "no embed snippet on the letter page"
    snippet = match.group(1)
    assert snippet.startswith("&lt;iframe src=&#34;http://signatory.test/letters/civic/widget&#34;")
    # The title is escaped inside the snippet, then the snippet escaped for the page.
    assert "&amp;#34;no&amp;#34; &amp;lt;now&amp;gt;" in snippet
    assert '<label for="embed-code">' in page


def test_embed_snippet_is_well_formed_html_for_the_other_site(session: Session, app) -> None:
    letter = make_letter(session, slug="civic", title='Say "no" <now> & then')

    with app.test_request_context():
        snippet = share.share_context(letter, Counts(0, 0))["embed_snippet"]

    element = parse_xml(snippet)
    assert element.tag == "iframe"
    assert element.get("title") == 'Say "no" <now> & then: signatories'
    assert element.get("src") == "http://signatory.test/letters/civic/widget"


# --- Link previews --------------------------------------------------------------------------


def test_letter_page_has_open_graph_and_twitter_tags(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic", title="Protect civic space")
    make_signature(session, letter)
    make_signature(session, letter)
    make_signature(session, letter, kind="individual")
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)

    def meta(attribute: str, name: str) -> str:
        match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
        assert match, f"no {name} meta tag"
        return match.group(1)

    assert meta("property", "og:title") == "Protect civic space"
    assert meta("property", "og:url") == "http://signatory.test/letters/civic"
    assert meta("property", "og:type") == "article"
    assert "3 signatures: 2 organizations and 1 individual" in meta("property", "og:description")
    assert meta("name", "twitter:card") == "summary_large_image"
    assert meta("name", "twitter:title") == "Protect civic space"
    assert '<link rel="canonical" href="http://signatory.test/letters/civic">' in page


def test_preview_tags_escape_the_title(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic", title='"><script>alert(1)</script>')
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)

    assert "<script>alert(1)" not in page
    assert 'content="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


# --- The Atom feed --------------------------------------------------------------------------


def feed_of(client: FlaskClient, slug: str = "civic") -> ET.Element:
    response = client.get(f"/letters/{slug}/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    return parse_xml(response.get_data())


def test_feed_is_atom_with_the_required_elements(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Civic Watch")
    session.commit()

    feed = feed_of(client)

    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None, f"feed has no {tag}"
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "http://signatory.test/letters/civic/feed.atom"
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    for tag in ("id", "title", "updated", "summary", "link"):
        assert entry.find(f"{ATOM}{tag}") is not None, f"entry has no {tag}"
    assert entry.findtext(f"{ATOM}id").startswith("tag:signatory.test,")


def test_feed_lists_published_signatories_newest_first(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="First Org")
    make_signature(session, letter, organization="Second Org")
    make_signature(session, letter, kind="individual", name="Third Person")
    make_signature(session, letter, organization="Hidden Org", status="pending_review")
    session.commit()

    titles = [e.findtext(f"{ATOM}title") for e in feed_of(client).iter(f"{ATOM}entry")]

    assert titles == ["Third Person", "Second Org", "First Org"]


def test_feed_drops_a_withdrawn_signatory(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter, organization="Leaving Org")
    session.commit()
    transition(signature, "withdraw", now=utcnow())
    session.commit()

    assert list(feed_of(client).iter(f"{ATOM}entry")) == []


def test_feed_is_limited_to_the_newest_entries(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "ENTRIES", 3)
    letter = make_letter(session, slug="civic")
    for n in range(5):
        make_signature(session, letter, organization=f"Org {n}")
    session.commit()

    assert len(list(feed_of(client).iter(f"{ATOM}entry"))) == 3


def test_feed_escapes_markup_in_names(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="<b>Bold</b> & Sons", name="</name>")
    session.commit()

    raw = client.get("/letters/civic/feed.atom").get_data(as_text=True)
    entry = feed_of(client).find(f"{ATOM}entry")

    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Sons" in raw
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "<b>Bold</b> & Sons"
    assert "</name>" in (entry.findtext(f"{ATOM}summary") or "")


@pytest.mark.parametrize("name", SCRIPTS)
def test_feed_keeps_names_in_every_script(client: FlaskClient, session: Session, name: str) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=name)
    session.commit()

    response = client.get("/letters/civic/feed.atom")

    assert response.content_type == "application/atom+xml; charset=utf-8"
    assert name.encode("utf-8") in response.get_data()
    entry = parse_xml(response.get_data()).find(f"{ATOM}entry")
    assert entry is not None and entry.findtext(f"{ATOM}title") == name


def test_feed_revalidates_with_its_etag(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    etag = client.get("/letters/civic/feed.atom").headers["ETag"]

    unchanged = client.get("/letters/civic/feed.atom", headers={"If-None-Match": etag})
    make_signature(session, letter)
    session.commit()
    changed = client.get("/letters/civic/feed.atom", headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert changed.status_code == 200


def test_feed_drops_characters_xml_cannot_hold(session: Session, app) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Bell\x07 Org")

    with app.test_request_context():
        page = list_queries.find_page(session, letter, list_queries.ListFilters())
        body = feeds.atom_feed(letter, page.items, base_url="http://x.test", updated=utcnow())

    assert parse_xml(body).find(f"{ATOM}entry/{ATOM}title").text == "Bell Org"


def test_letter_page_and_list_advertise_the_feed(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    for url in ("/letters/civic", "/letters/civic/signatories"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*feed.atom', page)


# --- The JSON download ----------------------------------------------------------------------


def download(client: FlaskClient) -> dict:
    response = client.get("/letters/civic/signatories.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    return json.loads(response.get_data())


def test_json_download_holds_public_fields_only(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    make_signature(session, letter, kind="individual", email="amina@home.example")
    session.commit()

    response = client.get("/letters/civic/signatories.json")
    body = response.get_data(as_text=True)
    data = json.loads(body)

    assert "director@civic-watch.example" not in body
    assert "amina@home.example" not in body
    assert all(set(item) == PUBLIC_FIELDS for item in data["signatures"])


def test_json_download_lists_organizations_then_individuals_published_only(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    make_signature(session, letter, organization="Civic Watch")
    make_signature(session, letter, organization="Hidden Org", status="withdrawn")
    session.commit()

    data = download(client)

    assert [item["kind"] for item in data["signatures"]] == ["organization", "individual"]
    assert data["signatures"][0]["organization"] == "Civic Watch"
    assert data["letter"]["url"] == "http://signatory.test/letters/civic"


def test_json_download_is_an_attachment_beside_the_csv(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get("/letters/civic/signatories.json")
    page = client.get("/letters/civic/signatories").get_data(as_text=True)

    assert response.headers["Content-Disposition"] == (
        'attachment; filename="civic-signatories.json"'
    )
    assert json.loads(response.get_data())["signatures"] == []
    assert 'href="/letters/civic/signatories.json"' in page


@pytest.mark.parametrize("name", SCRIPTS)
def test_json_download_keeps_names_in_every_script_as_utf8(
    client: FlaskClient, session: Session, name: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=name, name=name)
    session.commit()

    raw = client.get("/letters/civic/signatories.json").get_data()

    assert name.encode("utf-8") in raw
    assert json.loads(raw)["signatures"][0]["organization"] == name


def test_json_download_streams_in_batches_into_one_document(session: Session, app) -> None:
    letter = make_letter(session)
    for n in range(7):
        make_signature(session, letter, organization=f"Org {n}")
    make_signature(session, letter, kind="individual")

    with app.test_request_context():
        chunks = list(
            writers.iter_json(session, letter, base_url="http://x.test", now=utcnow(), batch_size=3)
        )

    assert len(chunks) > 3
    assert len(json.loads("".join(chunks))["signatures"]) == 8


# --- Every script in the CSV and on the letter page -----------------------------------------


@pytest.mark.parametrize("name", SCRIPTS)
def test_csv_keeps_names_in_every_script(client: FlaskClient, session: Session, name: str) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=name, name=name)
    session.commit()

    rows = csv_rows(client.get("/letters/civic/signatories.csv").get_data(as_text=True))

    assert rows[1][1] == name and rows[1][6] == name


@pytest.mark.parametrize("name", SCRIPTS)
def test_latest_signatories_and_widget_isolate_names_in_bdi(
    client: FlaskClient, session: Session, name: str
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization=name)
    session.commit()

    for url in ("/letters/civic", "/letters/civic/widget"):
        assert f"<bdi>{name}</bdi>" in client.get(url).get_data(as_text=True), url
