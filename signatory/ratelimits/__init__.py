"""Rate limits that hold across workers and nodes, and the client addresses they count by.

``budgets`` names each allowance and spends it; ``storage`` is the SQLite file store that
makes the embedded default hold across the gunicorn workers of one machine (``redis://``
holds across machines); ``clients`` says who is asking.
"""

from __future__ import annotations

from flask import Flask

# Defining the storage class registers its ``sqlite://`` scheme with ``limits``, which the
# limiter looks up when it is bound to an app: create_app imports this package first.
from signatory.ratelimits import budgets, storage

__all__ = ["budgets", "init_app", "storage"]


def init_app(app: Flask) -> None:
    """Open the app's rate-limit storage and answer a spent budget with a 429."""
    budgets.init_app(app)
