"""The database the suite runs on: SQLite files (the default) or a PostgreSQL server.

``SIGNATORY_TEST_DATABASE=postgresql`` runs every test on PostgreSQL, at the server named by
``SIGNATORY_TEST_POSTGRESQL_URL`` (``scripts/services start`` runs one in ``.services/``;
``scripts/test`` runs the suite on SQLite, then on PostgreSQL when the server is there).

Either way the migrations build one template per test process, and each test gets a copy:
a copy of the file on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

KIND = os.environ.get("SIGNATORY_TEST_DATABASE", "sqlite")
if KIND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"SIGNATORY_TEST_DATABASE must be sqlite or postgresql, not {KIND!r}")
POSTGRESQL = KIND == "postgresql"
SERVER_URL = os.environ.get("SIGNATORY_TEST_POSTGRESQL_URL", "")
REDIS_URL = os.environ.get("SIGNATORY_TEST_REDIS_URL", "")

# Tests of SQLite itself (its file, its locks, its query planner) and of PostgreSQL itself.
sqlite_only = pytest.mark.skipif(POSTGRESQL, reason="about SQLite; the suite runs on PostgreSQL")
postgresql_only = pytest.mark.skipif(
    not SERVER_URL, reason="needs PostgreSQL: scripts/services start, SIGNATORY_TEST_POSTGRESQL_URL"
)
redis_only = pytest.mark.skipif(
    not REDIS_URL, reason="needs Redis: scripts/services start, SIGNATORY_TEST_REDIS_URL"
)

_names = itertools.count(1)
_admin: Engine | None = None
# Each test process (xdist worker) names its databases apart from the others'.
_PREFIX = f"sigtest_{os.getpid()}"


def _server() -> Engine:
    global _admin
    if _admin is None:
        if not SERVER_URL:
            raise RuntimeError("SIGNATORY_TEST_POSTGRESQL_URL is not set")
        _admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    return _admin


def _url(name: str) -> str:
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def _create(template: str | None = None) -> str:
    """A new database of this process on the server (a copy of ``template``); its URL."""
    name = f"{_PREFIX}_{next(_names)}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with _server().connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    return _url(name)


def empty(tmp: Path, name: str = "signatory") -> str:
    """The URL of a new, empty database (nothing migrated)."""
    if POSTGRESQL:
        return _create()
    return f"sqlite:///{tmp / f'{name}.sqlite3'}"


def postgresql_database() -> str:
    """The URL of a new, empty PostgreSQL database, whatever the suite runs on."""
    return _create()


def copy(template: str, tmp: Path) -> str:
    """The URL of a new database holding what the database at ``template`` holds."""
    if template.startswith("postgresql"):
        return _create(make_url(template).database)
    database = tmp / "signatory.sqlite3"
    shutil.copyfile(template.removeprefix("sqlite:///"), database)
    return f"sqlite:///{database}"


def drop(url: str) -> None:
    """Remove the database at ``url`` (a SQLite file goes with its test's folder)."""
    if url.startswith("postgresql"):
        with _server().connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            )


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL."""
    assert url.startswith("sqlite:///"), f"not a SQLite database: {url}"
    return Path(url.removeprefix("sqlite:///"))


def drop_leftovers() -> None:
    """Remove every database this test process made and has not dropped yet."""
    if _admin is None:
        return
    with _admin.connect() as connection:
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
            {"prefix": f"{_PREFIX}\\_%"},
        ).scalars()
        for name in list(names):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    _admin.dispose()
