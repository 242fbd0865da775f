"""Rate limits counted in Redis (``SIGNATORY_RATELIMIT_STORAGE_URI=redis://…``) hold across
every node: two apps, each with its own limiter and connections, as two machines would be,
share one budget per client. Needs the Redis server of ``scripts/services``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signatory import create_app
from signatory.core.extensions import db
from signatory.models import Signature
from tests.conftest import fetch_csrf
from tests.databases import REDIS_URL, redis_only
from tests.factories import make_letter

pytestmark = redis_only
SLUG = "civic-space"


@pytest.fixture
def app_config() -> dict[str, Any]:
    # A key of its own: the limits' keys are HMAC'd with it, so no other test (in this run
    # or a parallel one on the same server) spends from this test's budgets.
    return {"RATELIMIT_STORAGE_URI": REDIS_URL, "SECRET_KEY": secrets.token_urlsafe(40)}


@pytest.fixture
def other_node(app: Flask) -> Iterator[Flask]:
    """A second node: the same database, the same Redis and key, its own process state."""
    node = create_app({**app.config, "INSTANCE_PATH": app.instance_path})
    yield node
    with node.app_context():
        db.engine.dispose()


@pytest.fixture
def letter(app: Flask) -> str:
    with app.app_context():
        make_letter(db.session, slug=SLUG)
        db.session.commit()
    return SLUG


def sign(client: FlaskClient, address: str, number: int) -> int:
    token = fetch_csrf(client, f"/letters/{SLUG}")
    form = {
        "csrf_token": token,
        "kind": "individual",
        "name": f"Person {number}",
        "country": "FR",
        "organization_type": "",
        "email": f"person{number}@org{number}.example",
    }
    response = client.post(
        f"/letters/{SLUG}/sign", data=form, environ_base={"REMOTE_ADDR": address}
    )
    return response.status_code


@pytest.mark.usefixtures("letter")
def test_signs_from_one_address_spread_over_two_nodes_share_one_budget(
    app: Flask, other_node: Flask
) -> None:
    nodes = [app.test_client(), other_node.test_client()]

    statuses = [sign(nodes[n % 2], "192.0.2.10", n) for n in range(16)]

    assert statuses.count(303) == 10  # SIGN_RATE_LIMIT: 10 per minute, on both together
    assert statuses[10:] == [429] * 6
    assert sign(nodes[1], "198.51.100.7", 99) == 303  # another address has its own budget
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 11


def test_the_api_limit_holds_across_two_nodes(app: Flask, other_node: Flask) -> None:
    for node in (app, other_node):
        node.config["API_RATE_LIMIT"] = "6 per minute"
    nodes = [app.test_client(), other_node.test_client()]

    statuses = [
        nodes[n % 2].get("/api/v1/letters", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
        for n in range(10)
    ]

    assert statuses == [200] * 6 + [429] * 4
