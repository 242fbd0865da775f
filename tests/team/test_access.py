"""Every workspace route checks who may enter: by role on the letter in its URL.

This walks the URL map, so a route added later is covered without a new test.
"""

from __future__ import annotations

import re

import pytest

from signatory.core.extensions import db
from signatory.models import ROLE_RANK, MembershipRole
from signatory.team.access import PUBLIC, SIGNED_IN
from tests.conftest import fetch_csrf, sign_in
from tests.factories import make_coordinator, make_letter, make_member, make_team

ROLES = [MembershipRole.MODERATOR, MembershipRole.EDITOR, MembershipRole.OWNER]


def manage_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("manage."):
            view = app.view_functions[rule.endpoint]
            yield rule, getattr(view, "manage_access", None)


def test_every_workspace_route_declares_who_may_enter(app):
    undeclared = [rule.rule for rule, access in manage_rules(app) if access is None]
    assert undeclared == [], f"workspace routes without an access declaration: {undeclared}"


def test_every_letter_route_names_a_known_role(app):
    for rule, access in manage_rules(app):
        if access not in (PUBLIC, SIGNED_IN):
            assert re.fullmatch(r"letter:(owner|editor|moderator)", access), rule.rule
            assert "<slug>" in rule.rule, f"{rule.rule} checks a letter role but has no <slug>"


def letter_routes(app):
    for rule, access in manage_rules(app):
        if access and access.startswith("letter:"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, MembershipRole(access.split(":", 1)[1])


def url_for_rule(rule, slug: str) -> str:
    # Other parameters get a value that names nothing, which is enough to reach the check.
    values = {arg: "999999" for arg in rule.arguments}
    values["slug"] = slug
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


@pytest.fixture
def world(app):
    with app.app_context():
        mine = make_letter(db.session, slug="mine")
        other = make_letter(db.session, slug="theirs")
        members = make_team(db.session, mine, roles=ROLES)
        make_member(db.session, other, role="owner")
        stranger = make_coordinator(db.session).email
        db.session.commit()
    return members, stranger


def request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    token = fetch_csrf(client, "/manage/")
    return client.open(path, method=method, data={"csrf_token": token})


def test_signed_out_visitors_are_sent_to_sign_in_everywhere(app, client, world):
    for rule, method, _ in letter_routes(app):
        if method != "GET":
            continue
        response = client.get(url_for_rule(rule, "mine"))
        assert response.status_code == 302, f"{method} {rule.rule}"
        assert "/manage/login" in response.headers["Location"]


def test_a_coordinator_of_another_letter_gets_404_on_every_route(app, client, world):
    _, stranger = world
    sign_in(client, stranger)
    for rule, method, _ in letter_routes(app):
        response = request(client, method, url_for_rule(rule, "mine"))
        assert response.status_code == 404, f"{method} {rule.rule} answered {response.status_code}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_where_it_falls_short(app, client, world, role):
    members, _ = world
    sign_in(client, members[role])
    for rule, method, required in letter_routes(app):
        response = request(client, method, url_for_rule(rule, "mine"))
        if ROLE_RANK[role] < ROLE_RANK[required]:
            assert response.status_code == 403, f"{role}: {method} {rule.rule}"
        else:
            assert response.status_code != 403, f"{role}: {method} {rule.rule}"
            if len(rule.arguments) == 1:  # only <slug>: nothing else to be missing
                assert response.status_code != 404, f"{role}: {method} {rule.rule}"


def test_the_sign_in_page_is_open_to_everyone(client):
    assert client.get("/manage/login").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_a_members_tabs_are_exactly_the_letter_pages_that_let_them_in(client, world, role):
    members, _ = world
    sign_in(client, members[role])

    page = client.get("/manage/letters/mine/").get_data(as_text=True)
    nav = re.search(r'<nav class="tabs".*?</nav>', page, re.S)
    assert nav, "the letter's pages have no tabs"
    tabs = re.findall(r'href="(/manage/letters/mine/[^"]*)"', nav.group(0))

    assert tabs, f"{role} sees no tab"
    for path in tabs:
        assert client.get(path).status_code == 200, f"{role} sees a tab for {path}"
    refused = {
        "moderator": ["/manage/letters/mine/edit", "/manage/letters/mine/export"],
        "editor": ["/manage/letters/mine/delivery"],
        "owner": [],
    }[role]
    for path in refused:
        assert path not in tabs, f"{role} sees a tab for {path}, which refuses them"
