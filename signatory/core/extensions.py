"""Unbound extension objects; ``create_app`` binds them with ``init_app``."""

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so later migrations (SQLite batch mode included) can drop and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The tables' base class. Flask-SQLAlchemy builds ``db.Model`` at run time from ``Base``
# (same registry and metadata, plus its session binding), which a type checker cannot
# follow; to the checker it is ``Base``, which declares everything the tables use.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
csrf = CSRFProtect()
# Every limit counts in a moving window: "10 per hour" is at most 10 in any 60 minutes,
# with no double allowance at a window's edge. The memory, Redis and SQLite file stores
# (signatory/ratelimits/storage.py) all support it.
RATELIMIT_STRATEGY = "moving-window"


class _Limiter(Limiter):
    """Flask-Limiter, checking before a request only the blueprints that hold a limit.

    Resolving a request's limits costs about a fifth of a cheap answer's time (the live
    poll's 304), even where there are none: requests outside ``checks``'s blueprints skip
    it, unless the app has limits for every route (``RATELIMIT_DEFAULT``,
    ``RATELIMIT_APPLICATION``, ``RATELIMIT_META``). A view decorated with a limit of its
    own is still checked wherever it lives.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checked: set[str] = set()

    def checks(self, blueprint: Blueprint) -> None:
        """Check ``blueprint``'s requests against the limits declared on it."""
        self._checked.add(blueprint.name)

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if (
            in_middleware
            and request.blueprint not in self._checked
            and not self.limit_manager.default_limits
            and not self.limit_manager.application_limits
            and not self._meta_limits
        ):
            return
        super()._check_request_limit(callable_name, in_middleware)

    def init_app(self, app: Flask) -> None:
        # One limiter object serves every app a process builds (the tests build many): a
        # storage an earlier app found down says nothing about this app's.
        self._storage_dead = False
        # Nor do an earlier app's default limits (RATELIMIT_DEFAULT): Flask-Limiter keeps the
        # first ones it was given and ignores every later app's.
        self.limit_manager.set_default_limits([])
        super().init_app(app)


# No default limits: the API's is in api/http.py; the pages' budgets are
# signatory/ratelimits/budgets.py, on the same storage (RATELIMIT_STORAGE_URI). Behind a
# proxy, PROXY_FIX makes remote_addr the client's. When the storage is down the API keeps
# answering, counting in each process's memory (and logging a warning) until it is back.
limiter = _Limiter(
    key_func=get_remote_address,
    headers_enabled=True,
    strategy=RATELIMIT_STRATEGY,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)
