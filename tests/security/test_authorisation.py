"""Who may open what in the workspace, walked over the URL map as an attacker would.

``tests/team/test_access.py`` checks each role on its own letter (403 exactly where the
role falls short) and a coordinator of no letter; this adds the stranger on every route
and method, each role of one team against another team's letter, and rows of one letter
reached through another letter's URL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.models import Coordinator, Letter, Membership, MembershipRole, Signature
from signatory.team.access import PUBLIC
from tests.conftest import audit_trail, fetch_csrf, sign_in
from tests.factories import make_letter, make_member, make_signature, make_team
from tests.team.test_access import letter_routes, manage_rules, request, url_for_rule

ROLES = [MembershipRole.MODERATOR, MembershipRole.EDITOR, MembershipRole.OWNER]


@pytest.fixture
def teams(app) -> dict[str, object]:
    """Two letters, each with its own team, and a signature on each."""
    with app.app_context():
        mine = make_letter(db.session, slug="mine")
        theirs = make_letter(db.session, slug="theirs")
        members = make_team(db.session, mine, roles=ROLES)
        their_owner = make_member(db.session, theirs, role="owner")
        their_signature = make_signature(db.session, theirs, organization="Their Org")
        make_signature(db.session, mine, organization="My Org")
        db.session.commit()
        their_membership = db.session.scalar(
            select(Membership.id).where(Membership.coordinator_id == their_owner.id)
        )
        return {
            "members": members,
            "their_signature": their_signature.id,
            "their_membership": their_membership,
        }


def guarded_rules(app):
    """Every workspace rule but the sign-in, reset and invitation pages, with each method."""
    for rule, access in manage_rules(app):
        if access != PUBLIC:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def workspace_state(app) -> tuple[list[str], int, int]:
    with app.app_context():
        return (
            list(db.session.scalars(select(Letter.status).order_by(Letter.id))),
            db.session.scalar(select(func.count()).select_from(Membership)),
            db.session.scalar(select(func.count()).select_from(Signature)),
        )


def test_a_stranger_is_sent_to_sign_in_from_every_workspace_page(app, client, teams):
    wrong = {}
    for rule, method in guarded_rules(app):
        if method != "GET":
            continue
        path = url_for_rule(rule, "mine")
        response = client.get(path)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/manage/login?next="):
            wrong[path] = (response.status_code, location)
    assert wrong == {}


def test_a_strangers_post_with_a_valid_token_is_sent_to_sign_in_and_changes_nothing(
    app, client, teams
):
    before = workspace_state(app)
    token = fetch_csrf(client, "/manage/login")  # a real token of the stranger's own session
    wrong = {}
    for rule, method in guarded_rules(app):
        if method == "GET":
            continue
        path = url_for_rule(rule, "mine")
        response = client.open(path, method=method, data={"csrf_token": token})
        if response.status_code != 302 or "/manage/login" not in response.headers["Location"]:
            wrong[f"{method} {path}"] = response.status_code
    assert wrong == {}
    assert workspace_state(app) == before
    assert audit_trail(app) == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_404_everywhere_on_another_teams_letter(app, client, teams, role):
    sign_in(client, teams["members"][role])
    before = workspace_state(app)
    wrong = {}
    for rule, method, _ in letter_routes(app):
        response = request(client, method, url_for_rule(rule, "theirs"))
        if response.status_code != 404:
            wrong[f"{method} {rule.rule}"] = response.status_code
    assert wrong == {}
    assert workspace_state(app) == before


def test_another_teams_draft_answers_exactly_like_a_letter_that_does_not_exist(app, client, teams):
    with app.app_context():
        make_letter(db.session, slug="their-draft", status="draft")
        db.session.commit()
    sign_in(client, teams["members"]["owner"])

    draft = client.get("/manage/letters/their-draft/")
    missing = client.get("/manage/letters/no-such-letter/")

    assert draft.status_code == missing.status_code == 404
    # The pages differ only where they link back to their own address (the language menu).
    assert draft.get_data(as_text=True).replace("their-draft", "SLUG") == missing.get_data(
        as_text=True
    ).replace("no-such-letter", "SLUG")


def test_another_letters_signature_cannot_be_read_through_my_letter(app, client, teams):
    sign_in(client, teams["members"]["owner"])

    response = client.get(f"/manage/letters/mine/signatures/{teams['their_signature']}")

    assert response.status_code == 404
    assert "Their Org" not in response.get_data(as_text=True)


def test_another_letters_signature_cannot_be_unpublished_through_my_letter(app, client, teams):
    sign_in(client, teams["members"]["owner"])
    token = fetch_csrf(client, "/manage/letters/mine/")

    response = client.post(
        f"/manage/letters/mine/signatures/{teams['their_signature']}/unpublish",
        data={"csrf_token": token, "reason": "not theirs to unpublish"},
    )

    assert response.status_code == 404
    with app.app_context():
        signature = db.session.get(Signature, teams["their_signature"])
        assert signature.status == "published"


def test_another_letters_member_cannot_be_removed_through_my_letter(app, client, teams):
    sign_in(client, teams["members"]["owner"])
    token = fetch_csrf(client, "/manage/letters/mine/")

    response = client.post(
        f"/manage/letters/mine/team/{teams['their_membership']}/remove",
        data={"csrf_token": token},
    )

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Membership, teams["their_membership"]) is not None


def test_a_removed_member_loses_the_letter_at_once(app, client, teams):
    editor = teams["members"]["editor"]
    sign_in(client, editor)
    assert client.get("/manage/letters/mine/").status_code == 200
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(Membership.role == "editor"))
        db.session.delete(membership)
        db.session.commit()

    assert client.get("/manage/letters/mine/").status_code == 404
    assert client.get("/manage/letters/mine/edit").status_code == 404


def test_a_deactivated_account_is_signed_out_at_its_next_request(app, client, teams):
    owner = teams["members"]["owner"]
    sign_in(client, owner)
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator).where(Coordinator.email == owner))
        coordinator.active = False
        db.session.commit()

    response = client.get("/manage/letters/mine/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/manage/login")


def test_the_public_workspace_pages_never_ask_a_stranger_to_sign_in(app, client):
    for rule, access in manage_rules(app):
        if access != PUBLIC:
            continue
        path = url_for_rule(rule, "unused")  # a token of "999999" is not a valid link
        response = client.get(path)
        assert response.status_code in (200, 400), f"{path}: {response.status_code}"
        assert "Location" not in response.headers, path
