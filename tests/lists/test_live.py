"""The live endpoint: counts and the newest signatories, an ETag that moves exactly when the
published list does, 304 with an empty body otherwise, and headers a shared cache can use."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import request_started
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from signatory.core.time import utcnow
from signatory.core.tokens import TokenPayload
from signatory.lists import live
from signatory.models import Letter, LetterStatus, Signature, new_nonce, transition
from signatory.signatures.service import SignatureData, confirm
from signatory.signatures.signing import sign
from tests.factories import make_letter, make_signature

LIVE = "/letters/civic/live.json"


def etag_of(client: FlaskClient) -> str:
    response = client.get(LIVE)
    assert response.status_code == 200, f"live.json answered {response.status_code}"
    assert response.headers.get("ETag"), "live.json has no ETag"
    return response.headers["ETag"]


def live_json(client: FlaskClient) -> Any:
    response = client.get(LIVE)
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def etag(client: FlaskClient, session: Session) -> str:
    """The live ETag of a letter at LIVE with one published signature."""
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    return etag_of(client)


def sign_up(session: Session, letter: Letter, organization: str) -> Signature:
    """A signature through the signer's own path: signed, not yet confirmed."""
    # Requests share this session, and the live endpoint reads the letter without its
    # versions; signing needs them.
    session.refresh(letter)
    data = SignatureData(
        kind="organization",
        name="Nadia Haddad",
        email=f"nadia@{organization.lower().replace(' ', '')}.example",
        email_domain=f"{organization.lower().replace(' ', '')}.example",
        country="LB",
        organization=organization,
        organization_type="ngo",
        website=f"https://{organization.lower().replace(' ', '')}.example",
    )
    return sign(session, letter, data, now=utcnow()).signature


def test_live_holds_the_counts_and_the_newest_signatories(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, organization="Older Org")
    make_signature(session, letter, organization="Newer Org")
    make_signature(session, letter, kind="individual", name="Amina Diallo")
    session.commit()

    data = live_json(client)

    assert data["counts"] == {"organizations": 2, "individuals": 1, "total": 3}
    assert [item["organization"] for item in data["latest_organizations"]] == [
        "Newer Org",
        "Older Org",
    ]
    assert [item["name"] for item in data["latest"]][0] == "Amina Diallo"


def test_live_never_holds_an_email_address(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter, email="director@civic-watch.example")
    session.commit()

    body = client.get(LIVE).get_data(as_text=True)

    assert "director@civic-watch.example" not in body
    assert "email" not in body


def test_live_answers_304_with_an_empty_body_while_nothing_changed(
    client: FlaskClient, etag: str
) -> None:
    response = client.get(LIVE, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag


def test_a_poll_that_finds_nothing_new_opens_no_session_transaction(
    client: FlaskClient, session: Session, etag: str
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(LIVE, headers={"If-None-Match": etag})
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    # The list state is read straight from the driver (``QuickStatement``, which SQLAlchemy's
    # events do not see): no BEGIN, no letter loaded through the ORM.
    assert statements == []


def _dispatched(client: FlaskClient, headers: dict[str, str], path: str = LIVE) -> tuple[Any, int]:
    """The answer to a poll, and how many times Flask dispatched a request for it."""
    started: list[object] = []

    def count(sender: object, **extra: object) -> None:
        started.append(sender)

    request_started.connect(count, client.application)
    try:
        response = client.get(path, headers=headers)
    finally:
        request_started.disconnect(count, client.application)
    return response, len(started)


def test_a_current_poll_is_answered_before_flask_builds_a_request(
    client: FlaskClient, etag: str
) -> None:
    quick, dispatched = _dispatched(client, {"If-None-Match": etag})
    assert (quick.status_code, dispatched) == (304, 0)

    # The same 304 from the view (an If-None-Match list is parsed by Flask, not matched
    # in front of it): the same headers, the request id aside.
    slow, dispatched = _dispatched(client, {"If-None-Match": f'"other", {etag}'})
    assert (slow.status_code, dispatched) == (304, 1)
    assert quick.get_data() == slow.get_data() == b""
    assert quick.headers["X-Request-Id"] != slow.headers["X-Request-Id"]
    assert {k: v for k, v in quick.headers.items() if k != "X-Request-Id"} == {
        k: v for k, v in slow.headers.items() if k != "X-Request-Id"
    }

    # A request id the client chose comes back from either.
    quick, _ = _dispatched(client, {"If-None-Match": etag, "X-Request-Id": "poll-42"})
    assert quick.headers["X-Request-Id"] == "poll-42"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (LIVE, {}, 200),
        (LIVE, {"If-None-Match": '"live-1-1-999"'}, 200),
        (LIVE, {"If-None-Match": "*"}, 304),
        ("/letters/none/live.json", {"If-None-Match": '"live-1-1-0"'}, 404),
        ("/letters/civic/x/live.json", {"If-None-Match": '"live-1-1-0"'}, 404),
    ],
)
def test_every_other_poll_goes_on_to_flask(
    client: FlaskClient, session: Session, path: str, headers: dict[str, str], status: int
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response, dispatched = _dispatched(client, headers, path)

    assert (response.status_code, dispatched) == (status, 1)


def test_a_draft_letters_poll_is_not_answered_in_front(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", status=LetterStatus.DRAFT)
    session.commit()

    response = client.get(LIVE, headers={"If-None-Match": f'"live-1-{letter.id}-0"'})

    assert response.status_code == 404


def test_live_answers_200_to_a_stale_etag(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get(LIVE, headers={"If-None-Match": '"live-1-1-999"'})

    assert response.status_code == 200
    assert response.get_json()["counts"]["total"] == 0


def test_etag_changes_when_a_confirmed_signature_is_published(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    signature = sign_up(session, letter, "Beirut Digital Rights")
    session.commit()
    before = etag_of(client)

    confirm(session, TokenPayload(signature.id, signature.confirm_nonce), now=utcnow())
    session.commit()

    assert etag_of(client) != before
    assert live_json(client)["latest"][0]["organization"] == "Beirut Digital Rights"


def test_etag_stays_while_a_signature_is_only_signed_and_unconfirmed(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    before = etag_of(client)

    sign_up(session, letter, "Pending Org")
    session.commit()

    assert etag_of(client) == before


def test_etag_stays_when_a_confirmation_goes_to_review(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", moderation="all")
    signature = sign_up(session, letter, "Reviewed Org")
    session.commit()
    before = etag_of(client)

    confirm(session, TokenPayload(signature.id, signature.confirm_nonce), now=utcnow())
    session.commit()

    assert signature.status == "pending_review"
    assert etag_of(client) == before


def test_etag_changes_when_a_moderator_approves(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic", moderation="all")
    signature = make_signature(session, letter, status="pending_review")
    session.commit()
    before = etag_of(client)

    transition(signature, "approve", now=utcnow())
    session.commit()

    assert etag_of(client) != before


def test_etag_stays_when_a_moderator_rejects(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic", moderation="all")
    signature = make_signature(session, letter, status="pending_review")
    session.commit()
    before = etag_of(client)

    transition(signature, "reject", now=utcnow())
    session.commit()

    assert etag_of(client) == before


def test_etag_changes_when_a_published_signature_is_withdrawn(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter, organization="Leaving Org")
    session.commit()
    before = etag_of(client)

    transition(signature, "withdraw", now=utcnow())
    session.commit()

    assert etag_of(client) != before
    assert live_json(client)["counts"]["total"] == 0


def test_etag_changes_when_a_coordinator_unpublishes(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter)
    session.commit()
    before = etag_of(client)

    transition(signature, "unpublish", now=utcnow())
    session.commit()

    assert etag_of(client) != before


def test_etag_stays_when_a_pending_signature_is_withdrawn(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic", moderation="all")
    make_signature(session, letter)
    pending = make_signature(session, letter, status="pending_review")
    session.commit()
    before = etag_of(client)

    transition(pending, "withdraw", now=utcnow())
    session.commit()

    assert etag_of(client) == before


def test_etag_changes_when_a_published_name_is_corrected(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter, organization="Civic Wacth")
    session.commit()
    before = etag_of(client)

    signature.organization = "Civic Watch"
    session.commit()

    assert etag_of(client) != before
    assert live_json(client)["latest"][0]["organization"] == "Civic Watch"


def test_etag_stays_when_only_private_fields_of_a_published_signature_change(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter)
    session.commit()
    before = etag_of(client)

    signature.withdraw_nonce = new_nonce()
    signature.email = "new-address@example.org"
    session.commit()

    assert etag_of(client) == before


def test_etag_changes_when_a_published_signature_is_deleted(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    signature = make_signature(session, letter)
    session.commit()
    before = etag_of(client)

    session.delete(signature)
    session.commit()

    assert etag_of(client) != before


def test_etag_of_one_letter_ignores_changes_to_another(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    other = make_letter(session, slug="other")
    session.commit()
    before = etag_of(client)

    make_signature(session, other)
    session.commit()

    assert etag_of(client) == before


def test_two_signatures_published_in_one_transaction_each_move_the_revision(
    session: Session,
) -> None:
    letter = make_letter(session, slug="civic")
    session.commit()
    start = letter.list_revision

    make_signature(session, letter)
    make_signature(session, letter)
    session.commit()

    assert letter.list_revision == start + 2


def test_live_may_be_cached_by_a_shared_cache_for_seconds(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    cache_control = client.get(LIVE).cache_control

    assert cache_control.public
    assert cache_control.max_age is not None and cache_control.max_age <= 5
    # Cache freshness plus the 4 s poll stays within the 10 s promise.
    assert cache_control.max_age + int(cache_control.stale_while_revalidate or 0) + 4 <= 10


def test_live_sets_no_cookie(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    assert "Set-Cookie" not in client.get(LIVE).headers


def test_live_may_be_read_from_other_sites(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    assert client.get(LIVE).headers["Access-Control-Allow-Origin"] == "*"


def test_if_modified_since_alone_answers_304_when_nothing_changed_since(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    letter.list_changed_at = utcnow() - timedelta(minutes=5)
    session.commit()
    last_modified = client.get(LIVE).headers["Last-Modified"]

    response = client.get(LIVE, headers={"If-Modified-Since": last_modified})

    assert response.status_code == 304
    assert response.get_data() == b""


def test_if_modified_since_before_the_last_change_answers_200(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    letter.list_changed_at = utcnow() - timedelta(minutes=5)
    session.commit()

    since = http_date(utcnow() - timedelta(minutes=10))
    response = client.get(LIVE, headers={"If-Modified-Since": since})

    assert response.status_code == 200


def test_last_modified_is_withheld_within_a_second_of_a_change(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()

    # One-second resolution: a second change in the same second would look unmodified.
    assert "Last-Modified" not in client.get(LIVE).headers


def test_live_of_a_draft_letter_is_404(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="secret", status="draft")
    make_signature(session, letter)
    session.commit()

    assert client.get("/letters/secret/live.json").status_code == 404


def test_letter_page_marks_the_count_as_a_polite_live_region(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)

    assert f'data-live-url="{LIVE}"' in page
    assert re.search(r'<li aria-live="polite"[^>]*><span class="count" data-live-total>0<', page)
    assert '<script src="/static/live.js" defer></script>' in page


def test_list_page_carries_the_live_hooks(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    page = client.get("/letters/civic/signatories").get_data(as_text=True)

    assert f'data-live-url="{LIVE}"' in page
    assert 'aria-live="polite"' in page
    assert "data-live-notice hidden" in page


def test_list_page_lets_script_add_rows_only_where_they_belong(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()

    def insert_mode(url: str) -> str:
        page = client.get(url).get_data(as_text=True)
        match = re.search(r'data-live-rows="organization" data-live-insert="([a-z]*)"', page)
        assert match, f"no live rows on {url}"
        return match.group(1)

    assert insert_mode("/letters/civic/signatories") == "bottom"
    assert insert_mode("/letters/civic/signatories?sort=newest") == "top"
    assert insert_mode("/letters/civic/signatories?sort=name") == ""
    assert insert_mode("/letters/civic/signatories?country=DE") == ""
    assert insert_mode("/letters/civic/signatories?q=org") == ""


def test_live_script_is_served(client: FlaskClient) -> None:
    response = client.get("/static/live.js")

    assert response.status_code == 200
    assert "data-live-url" in response.get_data(as_text=True)
    response.close()


# --- Counts kept per list revision ----------------------------------------------------------


def test_pages_count_anew_after_the_list_changes(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    assert '<span class="count" data-live-total>1<' in client.get("/letters/civic").get_data(
        as_text=True
    )

    make_signature(session, letter)
    session.commit()

    for url in ("/letters/civic", "/letters/civic/signatories", "/letters/civic/widget"):
        page = client.get(url).get_data(as_text=True)
        assert re.search(r'<span class="count" data-live-total[^>]*>2<', page), url


def test_revision_cache_computes_once_per_key_and_forgets_the_oldest() -> None:
    cache = live.RevisionCache(size=2)
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name.upper()

    assert cache.get("a", lambda: compute("a")) == "A"
    assert cache.get("a", lambda: compute("a")) == "A"
    cache.get("b", lambda: compute("b"))
    cache.get("c", lambda: compute("c"))
    cache.get("a", lambda: compute("a"))

    assert calls == ["a", "b", "c", "a"]


def test_a_request_that_writes_never_uses_the_cache(app, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    calls: list[int] = []

    with app.test_request_context("/letters/civic/sign", method="POST"):
        live.list_cached(letter, "counts", lambda: calls.append(1))
        live.list_cached(letter, "counts", lambda: calls.append(1))

    assert len(calls) == 2
