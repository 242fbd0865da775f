"""``GET /healthz``: whether this node can serve, for a load balancer or an orchestrator.

It answers 200 ``{"status": "ok", "database": "ok"}`` when a ``SELECT 1`` on a connection
of the app's pool answers, with ``"redis": "ok"`` too when the rate limits are counted in
Redis (``SIGNATORY_RATELIMIT_STORAGE_URI=redis://…``) and a ``PING`` answers within
``REDIS_TIMEOUT`` seconds; otherwise 503, the part that failed marked ``"unavailable"``
(and a warning logged with the reason). Never a 500, never cached, never rate-limited,
and it neither reads nor sets a session or a cookie: a probe every few seconds costs one
short query.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import text

from signatory.core.access import declare
from signatory.core.extensions import db, limiter

log = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
# Seconds Redis has to accept the connection and to answer PING: a probe that hangs would
# hold a worker and answer the load balancer late, which is worse than a quick 503.
REDIS_TIMEOUT = 2.0


def _database() -> str:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever it is, this node cannot serve: a 503, not a 500
        log.warning("health check: the database is unavailable: %s", error)
        return UNAVAILABLE
    return OK


def _redis(uri: str) -> str:
    try:
        if urlsplit(uri).scheme in ("redis", "rediss"):
            import redis

            client = redis.Redis.from_url(
                uri, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            # Sentinel, cluster and unix-socket URIs: limits knows how to reach them.
            from limits.storage import storage_from_string

            if not storage_from_string(uri).check():
                raise ConnectionError("no answer to PING")
    except Exception as error:  # any failure to reach it is an outage of this node
        log.warning("health check: Redis is unavailable: %s", error)
        return UNAVAILABLE
    return OK


def healthz() -> Response:
    """200 when the database (and Redis, when configured) answer; 503 naming what failed."""
    checks = {"database": _database()}
    storage = str(current_app.config["RATELIMIT_STORAGE_URI"])
    if urlsplit(storage).scheme.startswith("redis"):
        checks["redis"] = _redis(storage)
    healthy = all(state == OK for state in checks.values())
    response = jsonify({"status": OK if healthy else UNAVAILABLE, **checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Serve ``/healthz`` to anyone (it tells nothing but up or down), outside every limit."""
    blueprint = declare(Blueprint("health", __name__), "public")
    blueprint.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    limiter.exempt(blueprint)
    app.register_blueprint(blueprint)
