"""Unbound extension objects; ``create_app`` binds them with ``init_app``."""

from typing import TYPE_CHECKING

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
# No default limits: each blueprint that wants one declares it (the API's is in
# api/views.py), so pages nobody limited are never throttled. Storage comes from
# RATELIMIT_STORAGE_URI; behind a proxy, PROXY_FIX makes remote_addr the client's.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
