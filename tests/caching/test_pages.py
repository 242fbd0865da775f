"""Rendered public pages are kept per state of the letter and its list (``signatory.caching``)
and never outlive it: whatever changes the letter, its text or its list, by any path, the
next visitor gets a page rendered again."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text, update

from signatory import create_app
from signatory.caching.stores import MemoryStore
from signatory.core.config import ConfigError
from signatory.core.extensions import db
from signatory.core.time import utcnow
from signatory.models import Letter, LetterVersion
from tests.conftest import free_port, sign_in
from tests.databases import REDIS_URL, redis_only
from tests.factories import make_letter, make_member, make_signature

SLUG = "civic"
LIST = f"/letters/{SLUG}/signatories"
STATS = f"/letters/{SLUG}/stats"
CACHE = "X-Signatory-Cache"


@pytest.fixture
def letter(app: Flask) -> int:
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        make_signature(db.session, letter, organization="First Example")
        db.session.commit()
        return letter.id


def get(client, path: str = LIST, **options: Any):
    response = client.get(path, **options)
    assert response.status_code == 200
    return response


@pytest.mark.usefixtures("letter")
@pytest.mark.parametrize("path", [LIST, STATS, f"{LIST}?country=DE&sort=name"])
def test_a_page_is_rendered_once_and_then_served_as_kept(client, path):
    first = get(client, path)
    second = get(client, path)

    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert second.get_data() == first.get_data()
    assert second.content_type == first.content_type == "text/html; charset=utf-8"
    # Headers are the request's own, not kept: each answer has its own request id.
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert second.headers["X-Frame-Options"] == first.headers["X-Frame-Options"]


def test_a_signature_published_by_a_plain_sql_statement_shows_at_once(app, client, letter):
    get(client)
    with app.app_context():
        waiting = make_signature(
            db.session, db.session.get(Letter, letter), organization="Second Example",
            status="pending_review", email="second@example.org",
        )  # fmt: skip
        db.session.commit()
        # Outside the ORM: the database's triggers move the list's revision on.
        db.session.execute(
            text("UPDATE signature SET status = 'published', published_at = :now WHERE id = :id"),
            {"id": waiting.id, "now": utcnow().replace(tzinfo=None)},
        )
        db.session.commit()

    page = get(client)

    assert page.headers[CACHE] == "miss"
    assert "Second Example" in page.get_data(as_text=True)


def test_a_new_title_shows_at_once(app, client, letter):
    get(client)
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.id == letter).values(title="A New Title"))
        db.session.commit()

    page = get(client)

    assert page.headers[CACHE] == "miss"
    assert "A New Title" in page.get_data(as_text=True)


def test_a_new_version_of_the_text_renders_the_page_again(app, client, letter):
    get(client, STATS)
    with app.app_context():
        before = db.session.get(Letter, letter).revision
        db.session.add(
            LetterVersion(letter_id=letter, number=2, body_markdown="x", body_html="<p>x</p>")
        )
        db.session.commit()
        assert db.session.get(Letter, letter).revision > before

    assert get(client, STATS).headers[CACHE] == "miss"


def test_the_deadline_passing_renders_the_page_again(app, client, letter):
    with app.app_context():
        db.session.execute(
            update(Letter).where(Letter.id == letter).values(deadline=utcnow() + timedelta(hours=1))
        )
        db.session.commit()
    get(client)
    assert get(client).headers[CACHE] == "hit"
    with app.app_context():
        # As if the hour had passed: the page's state says signing has closed.
        db.session.execute(
            update(Letter).where(Letter.id == letter).values(deadline=utcnow() - timedelta(days=1))
        )
        db.session.commit()

    assert get(client).headers[CACHE] == "miss"


@pytest.mark.usefixtures("letter")
def test_each_language_has_its_own_page(client):
    english = get(client, headers={"Accept-Language": "en"})
    french = get(client, headers={"Accept-Language": "fr"})

    assert french.headers[CACHE] == "miss"
    assert 'lang="fr"' in french.get_data(as_text=True)
    assert english.get_data() != french.get_data()
    assert get(client, headers={"Accept-Language": "fr"}).headers[CACHE] == "hit"


def test_a_signed_in_coordinator_always_gets_a_page_of_their_own(app, client, letter):
    get(client)
    with app.app_context():
        email = make_member(db.session, db.session.get(Letter, letter), role="owner").email
        db.session.commit()
    sign_in(client, email)

    page = get(client)

    assert page.headers[CACHE] == "bypass"
    assert "Workspace" in page.get_data(as_text=True)


@pytest.mark.usefixtures("letter")
def test_a_bad_query_is_answered_and_nothing_is_kept(client):
    for _ in range(2):
        response = client.get(f"{LIST}?after=not-a-cursor&section=organization")
        assert response.status_code == 400
        assert CACHE not in response.headers


def test_the_memory_store_lets_the_least_recent_pages_go_past_its_size():
    store = MemoryStore(max_bytes=1000)
    for name in ("a", "b", "c"):
        store.set(name, b"x" * 240)
    store.get("a")  # used: b is now the least recent
    store.set("d", b"x" * 240)
    store.set("e", b"x" * 240)

    assert store.get("b") is None
    assert all(store.get(name) is not None for name in ("a", "d", "e"))
    store.set("huge", b"x" * 600)  # more than a quarter of the store: not kept
    assert store.get("huge") is None


@pytest.mark.parametrize("value", ["memcached://x", "redis", "http://cache"])
def test_a_cache_url_that_is_no_store_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="SIGNATORY_CACHE_URL"):
        create_app({"INSTANCE_PATH": str(tmp_path), "CACHE_URL": value})


@pytest.mark.parametrize("app_config", [{"CACHE_URL": "none"}])
@pytest.mark.usefixtures("letter")
def test_with_the_cache_off_every_page_is_rendered(client):
    assert [get(client).headers[CACHE] for _ in range(2)] == ["bypass", "bypass"]


@pytest.mark.parametrize("app_config", [{"CACHE_URL": f"redis://127.0.0.1:{free_port()}/0"}])
@pytest.mark.usefixtures("letter")
def test_with_redis_down_pages_are_still_served(client, caplog):
    with caplog.at_level(logging.WARNING):
        pages = [get(client) for _ in range(2)]

    assert [page.headers[CACHE] for page in pages] == ["miss", "miss"]
    assert "First Example" in pages[1].get_data(as_text=True)
    assert "page cache unavailable" in caplog.text


# --- Shared by every node, in Redis ----------------------------------------------------------


@pytest.fixture
def redis_nodes(app: Flask) -> Iterator[tuple[Flask, Flask]]:
    node = create_app({**app.config, "INSTANCE_PATH": app.instance_path})
    yield app, node
    with node.app_context():
        db.engine.dispose()


@redis_only
@pytest.mark.parametrize(
    "app_config",
    # A key of this test's own: pages are named with it, so no other run (on SQLite or
    # PostgreSQL, with the same letter ids and revisions) shares them.
    [{"CACHE_URL": REDIS_URL, "SECRET_KEY": secrets.token_urlsafe(40)}],
)
def test_a_page_rendered_on_one_node_is_served_by_the_other(redis_nodes, letter):
    first, second = redis_nodes

    rendered = get(first.test_client())
    served = get(second.test_client())

    assert (rendered.headers[CACHE], served.headers[CACHE]) == ("miss", "hit")
    assert served.get_data() == rendered.get_data()


@redis_only
@pytest.mark.parametrize("app_config", [{"CACHE_URL": REDIS_URL}])
@pytest.mark.usefixtures("letter")
def test_two_sites_on_one_redis_never_serve_each_others_pages(app, client):
    get(client)  # this site's page kept, perhaps already by another run with the same key
    other = create_app({**app.config, "SECRET_KEY": secrets.token_urlsafe(40)})
    try:
        assert get(other.test_client()).headers[CACHE] == "miss"
    finally:
        with other.app_context():
            db.engine.dispose()


# --- The letter page: kept, with each visitor's own form tokens -------------------------------

LETTER = f"/letters/{SLUG}"


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page) or re.search(
        rf'value="([^"]+)"[^>]*name="{name}"', page
    )
    assert match, f"no {name} on the page"
    return match.group(1)


@pytest.mark.usefixtures("letter")
def test_the_letter_page_is_kept_but_each_visitor_gets_their_own_form_tokens(app):
    first, second = app.test_client(), app.test_client()
    one = get(first, LETTER)
    two = get(second, LETTER)

    assert (one.headers[CACHE], two.headers[CACHE]) == ("miss", "hit")
    page_one, page_two = one.get_data(as_text=True), two.get_data(as_text=True)
    assert hidden(page_one, "csrf_token") != hidden(page_two, "csrf_token")
    assert "signatory-hole" not in page_two and "\x00" not in page_two
    # Apart from the tokens the two pages are the same.
    strip = lambda page: re.sub(r'value="[^"]{16,}"', "", page)  # noqa: E731
    assert strip(page_one) == strip(page_two)


@pytest.mark.usefixtures("letter")
def test_a_visitor_served_the_kept_page_can_sign_with_its_form(app):
    get(app.test_client(), LETTER)  # kept by someone else's visit
    visitor = app.test_client()
    page = get(visitor, LETTER)
    assert page.headers[CACHE] == "hit"
    html = page.get_data(as_text=True)
    form = {
        "csrf_token": hidden(html, "csrf_token"), "started": hidden(html, "started"),
        "kind": "individual", "name": "Ada Example", "country": "FR",
        "organization_type": "", "email": "ada@example.org",
    }  # fmt: skip

    response = visitor.post(f"{LETTER}/sign", data=form)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{LETTER}/signed")


def test_a_closed_letter_page_is_kept_without_a_form(app, client, letter):
    with app.app_context():
        db.session.execute(update(Letter).where(Letter.id == letter).values(status="closed"))
        db.session.commit()

    pages = [get(client, LETTER) for _ in range(2)]

    assert [page.headers[CACHE] for page in pages] == ["miss", "hit"]
    assert 'name="csrf_token"' not in pages[1].get_data(as_text=True)
