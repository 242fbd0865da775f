"""What operators rely on: request ids and log lines, the health check for load balancers,
and a configuration refused in one line at start.

A package of its own inside ``core`` (it knows nothing of the domain either); ``create_app``
calls ``init_app`` once the configuration is loaded.
"""

from __future__ import annotations

from flask import Flask

from signatory.core.ops import health, logs


def init_app(app: Flask) -> None:
    """Configure the log lines, give every request an id, and serve ``/healthz``."""
    logs.init_app(app)
    health.init_app(app)
