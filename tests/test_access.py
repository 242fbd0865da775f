"""Every route declares who may enter it."""

from __future__ import annotations

from signatory.core.access import POLICIES, policy_of


def test_every_route_belongs_to_a_blueprint_with_an_access_policy(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        blueprint_name = rule.endpoint.rpartition(".")[0]
        policy = policy_of(app.blueprints.get(blueprint_name))
        if policy not in POLICIES:
            undeclared.append(f"{rule.rule} ({rule.endpoint})")
    assert undeclared == [], f"routes without an access policy: {undeclared}"


def test_the_url_map_has_the_public_contract_routes(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for expected in (
        "/",
        "/letters/<slug>",
        "/letters/<slug>/sign",
        "/letters/<slug>/signatories",
        "/letters/<slug>/signatories.csv",
        "/confirm/<token>",
        "/withdraw/<token>",
        "/api/v1/letters/<slug>",
        "/api/v1/letters/<slug>/signatures",
    ):
        assert expected in rules, f"missing route {expected}"
