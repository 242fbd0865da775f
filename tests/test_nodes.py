"""Many nodes, one service: two gunicorn "nodes" (separate processes on separate ports, as two
machines behind a load balancer would be) and three mail workers on one PostgreSQL and one
Redis, with a real SMTP server. What one node does, the other sees at once: a signature
made through one is confirmed through the other, both show the same list, count and live
validator, and a client's rate limit is one budget across both.

Needs PostgreSQL and Redis (``scripts/services start``); runs whatever database the rest of
the suite is on.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
from collections.abc import Iterator

import pytest

from tests import databases
from tests.conftest import SMTPServer, text_part
from tests.security.test_from_outside import Client, hidden_fields
from tests.stack import SLUG, Stack

pytestmark = [pytest.mark.slow, databases.postgresql_only, databases.redis_only]


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, smtp_server: SMTPServer) -> Iterator[Stack]:
    """Started once for the module (seven processes): each test uses addresses of its own."""
    stack = Stack(
        tmp_path_factory.mktemp("cluster"),
        smtp_server.port,
        nodes=2,
        workers=3,
        database_url=databases.postgresql_database(),
    )
    stack.env.update(
        SIGNATORY_RATELIMIT_STORAGE_URI=databases.REDIS_URL,
        # A key of this run's own: the limits' keys in the shared Redis are HMAC'd with it.
        SIGNATORY_SECRET_KEY=secrets.token_urlsafe(40),
        SIGNATORY_PROXY_FIX="1",
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def _live(client: Client) -> tuple[dict, str]:
    status, body, headers = client.request(f"/letters/{SLUG}/live.json")
    assert status == 200
    return json.loads(body), headers["ETag"]


def test_a_signature_made_on_one_node_is_confirmed_on_the_other_and_both_agree(
    cluster: Stack, smtp_server: SMTPServer
) -> None:
    node_a, node_b = (Client(base, "203.0.113.40") for base in cluster.bases)
    before_a, etag_a = _live(node_a)
    before_b, etag_b = _live(node_b)
    assert (before_a["counts"], etag_a) == (before_b["counts"], etag_b)

    status, _, _ = node_a.sign("Open Rights Example", "ana@openrights.example.org")
    assert status == 200
    (message,) = [m for m in smtp_server.wait_for(1, timeout=30) if "ana@openrights" in m["To"]]
    link = re.search(r"https?://\S+/confirm/\S+", text_part(message)).group(0)
    path = urllib.parse.urlsplit(link).path
    status, page, _ = node_b.request(path)
    assert status == 200
    form = hidden_fields(page.decode("utf-8"))
    status, _, _ = node_b.request(path, form)
    assert status == 200

    after_a, new_etag_a = _live(node_a)
    after_b, new_etag_b = _live(node_b)
    assert after_a["counts"] == after_b["counts"]
    assert after_a["counts"]["organizations"] == before_a["counts"]["organizations"] + 1
    assert new_etag_a == new_etag_b != etag_a
    # A watcher holding the old validator gets the change from either node, and the new one
    # is "not modified" on both.
    for node in (node_a, node_b):
        status, _, _ = node.request_with(f"/letters/{SLUG}/live.json", {"If-None-Match": etag_a})
        assert status == 200
        status, _, _ = node.request_with(
            f"/letters/{SLUG}/live.json", {"If-None-Match": new_etag_a}
        )
        assert status == 304
    for node in (node_a, node_b):
        status, body, _ = node.request(f"/letters/{SLUG}/signatories")
        assert status == 200 and "Open Rights Example" in body.decode("utf-8")


def test_a_clients_sign_budget_is_one_across_both_nodes(cluster: Stack) -> None:
    nodes = [Client(base, "198.51.100.60") for base in cluster.bases]
    before = cluster.count("signature")

    statuses = [
        nodes[n % 2].sign(f"Flood Org {n}", f"contact@flood{n}.example.org")[0] for n in range(14)
    ]

    assert statuses.count(200) == 10  # SIGN_RATE_LIMIT: 10 per minute, both nodes together
    assert statuses[10:] == [429] * 4
    assert cluster.count("signature") == before + 10
