"""A pooled PostgreSQL connection the server dropped while it sat idle is replaced before a
request uses it (``core.database._configure_postgresql``): pinged only after
``IDLE_PING_SECONDS`` unused, not before every use."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from signatory.core import database
from signatory.core.extensions import db
from tests import databases

pytestmark = pytest.mark.skipif(
    not databases.POSTGRESQL, reason="about PostgreSQL's connections; the suite runs on SQLite"
)


def _drop_the_pooled_connection(app: Flask) -> None:
    """Use one connection, give it back to the pool, and have the server end it."""
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.rollback()
        db.session.remove()
    with databases._server().connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.mark.parametrize(("idle_for", "status"), [(0.0, 200), (3600.0, 503)])
def test_a_connection_dropped_while_idle_is_replaced_before_use(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, idle_for: float, status: int
) -> None:
    _drop_the_pooled_connection(app)
    # 0: the connection counts as idle long enough to be pinged; an hour: it is used as is.
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", idle_for)

    assert client.get("/").status_code == status
    # Either way the next request is answered: the pool has replaced what it lost.
    assert client.get("/").status_code == 200
