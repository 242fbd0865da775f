"""Seeing and stopping a flood from the workspace: the traffic page, the dry run, bulk holds
that can be released, bulk rejections, and who may do any of it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.models import BulkAction, Signature
from tests.conftest import add_signature, audit_trail, fetch_csrf, queued_mail, sign_in
from tests.factories import make_coordinator, make_letter, make_member

SLUG = "flooded"
TRAFFIC = f"/manage/letters/{SLUG}/traffic"
MATCH = f"/manage/letters/{SLUG}/traffic/match"
MODERATOR = "mo@coalition.example.org"
FLOOD = "203.0.113.0/24"


@pytest.fixture
def flood(app):
    """Twelve unconfirmed and three published signatures from one /24, two published from
    another, on a letter whose team has a moderator; a stranger coordinator exists too."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        make_member(db.session, letter, role="moderator", email=MODERATOR)
        make_coordinator(db.session, email="stranger@elsewhere.example.org")
        db.session.commit()
    ids = {
        "unconfirmed": [
            add_signature(app, SLUG, status="unconfirmed", client_prefix=FLOOD,
                          email=f"bot{i}@spam.example")
            for i in range(12)
        ],
        "published": [add_signature(app, SLUG, client_prefix=FLOOD) for _ in range(3)],
        "others": [add_signature(app, SLUG, client_prefix="198.51.100.0/24") for _ in range(2)],
    }  # fmt: skip
    return ids


def statuses(app, ids):
    with app.app_context():
        return [db.session.get(Signature, i).status for i in ids]


def public_csv(client) -> bytes:
    response = client.get(f"/letters/{SLUG}/signatories.csv")
    assert response.status_code == 200
    return response.data


def hold_form(client, **rule):
    token = fetch_csrf(client, TRAFFIC)
    return {"csrf_token": token, **rule}


def test_the_traffic_page_shows_prefixes_and_domains_and_marks_the_trending_one(client, flood):
    sign_in(client, MODERATOR)
    page = client.get(TRAFFIC)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert FLOOD in body and "spam.example" in body
    row = re.search(r'<tr class="trending">\s*<th scope="row"><code>([^<]+)</code>', body)
    assert row and row.group(1) == FLOOD
    assert (
        page.headers["Cache-Control"].startswith("no-store")
        or "no-store" in page.headers["Cache-Control"]
    )


def test_the_dry_run_counts_by_status_and_changes_nothing(app, client, flood):
    sign_in(client, MODERATOR)
    before = public_csv(client)
    page = client.get(MATCH, query_string={"prefix": "203.0.113.9"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "15 signatures match" in body
    assert "Published: 3" in body and "Unconfirmed: 12" in body
    assert public_csv(client) == before
    with app.app_context():
        assert db.session.scalar(select(func.count(BulkAction.id))) == 0


def test_a_rule_that_cannot_be_used_gets_a_400_with_its_reason(client, flood):
    sign_in(client, MODERATOR)
    page = client.get(MATCH, query_string={"prefix": "not an address"})
    assert page.status_code == 400
    assert "Enter an address prefix such as 203.0.113.0/24" in page.get_data(as_text=True)


def test_a_hold_takes_the_flood_off_the_list_and_its_release_restores_it_byte_for_byte(
    app, client, flood
):
    sign_in(client, MODERATOR)
    before = public_csv(client)
    response = client.post(
        f"{TRAFFIC}/hold", data=hold_form(client, prefix=FLOOD, expected="15", reason="bots")
    )
    assert response.status_code == 303
    assert statuses(app, flood["published"]) == ["pending_review"] * 3
    assert statuses(app, flood["others"]) == ["published"] * 2
    assert public_csv(client) != before
    (held,) = audit_trail(app, "signatures.held")
    assert held.detail["counts"] == {"unconfirmed": 12, "published": 3}
    with app.app_context():
        action_id = db.session.scalar(select(BulkAction.id))
    release = client.post(
        f"{TRAFFIC}/holds/{action_id}/release", data={"csrf_token": fetch_csrf(client, TRAFFIC)}
    )
    assert release.status_code == 303
    assert "3 back on the list, 0 still in the review queue" in client.get(TRAFFIC).get_data(
        as_text=True
    )
    assert public_csv(client) == before
    assert statuses(app, flood["unconfirmed"]) == ["unconfirmed"] * 12
    assert queued_mail(app) == []


def test_an_action_on_a_count_that_changed_is_refused_and_changes_nothing(app, client, flood):
    sign_in(client, MODERATOR)
    add_signature(app, SLUG, client_prefix=FLOOD)  # arrives between the dry run and the action
    response = client.post(
        f"{TRAFFIC}/hold",
        data=hold_form(client, prefix=FLOOD, expected="15"),
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert "16 signatures match now, not the 15 you were shown" in body
    assert statuses(app, flood["published"]) == ["published"] * 3
    assert audit_trail(app, "signatures.held") == []


def test_a_bulk_rejection_is_for_good_and_the_flood_links_stop_working(app, client, flood):
    sign_in(client, MODERATOR)
    response = client.post(
        f"{TRAFFIC}/reject", data=hold_form(client, domain="spam.example", expected="12")
    )
    assert response.status_code == 303
    assert statuses(app, flood["unconfirmed"]) == ["rejected"] * 12
    assert statuses(app, flood["published"]) == ["published"] * 3
    assert queued_mail(app) == []
    with app.app_context():
        signature = db.session.get(Signature, flood["unconfirmed"][0])
        token = current_tokens().make("confirm", signature.id, signature.confirm_nonce)
    link = client.get(f"/confirm/{token}")
    assert link.status_code == 409


@pytest.mark.parametrize(
    ("path", "method"),
    [(TRAFFIC, "get"), (MATCH + "?prefix=203.0.113.1", "get"), (f"{TRAFFIC}/hold", "post")],
)
def test_a_coordinator_outside_the_team_gets_404_and_a_visitor_the_sign_in(
    app, client, flood, path, method
):
    def ask():
        if method == "get":
            return client.get(path)
        token = fetch_csrf(client, f"/letters/{SLUG}")
        return client.post(path, data={"csrf_token": token, "prefix": FLOOD, "expected": "15"})

    visitor = ask()
    assert visitor.status_code == 302 and "/manage/login" in visitor.headers["Location"]
    sign_in(client, "stranger@elsewhere.example.org")
    assert ask().status_code == 404
    assert statuses(app, flood["published"]) == ["published"] * 3
