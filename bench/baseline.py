"""The bare baseline: minimal Flask + Flask-SQLAlchemy on signatory's database settings.

Each endpoint is the floor under one kind of signatory answer, on the same stack (Flask,
Flask-SQLAlchemy, the same kind of database with the same settings, the same gunicorn):

- ``GET /hello``: a plain-text answer (the floor under the live poll's 304);
- ``POST /rows``: one row inserted from the posted form and committed, answered 303 (the
  floor under the sign and confirm POSTs);
- ``GET /items``: 100 rows read in index order and rendered through a Jinja template
  (the floor under the letter page, the list pages and the API).

On SQLite each connection gets signatory's own settings (``signatory.core.database``:
WAL, the busy timeout, ``synchronous``, foreign keys, BEGIN IMMEDIATE for writes), so a
change to those moves both sides. gunicorn serves it as ``bench.baseline:create_app()``,
reading the database URL from ``BENCH_BASELINE_DATABASE_URL``; the tables are its own,
made by ``prepare``, in a database of their own.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import Flask, render_template, request
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import DateTime, Index, String, Table, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.people import CITIES, COUNTRIES, FIRST_NAMES, LAST_NAMES, TITLES, TOPICS
from signatory.core.config import DEFAULTS
from signatory.core.database import _configure_sqlite

DATABASE_URL_VARIABLE = "BENCH_BASELINE_DATABASE_URL"
PAGE_SIZE = 100
ITEMS = 100_000

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<table>
<caption>{{ items|length }} signatories, in order of signing</caption>
<thead><tr><th>Organization</th><th>Name</th><th>Title</th><th>Country</th><th>Signed</th></tr></thead>
<tbody>
{%- for item in items %}
<tr><th scope="row">{{ item.organization }}</th><td>{{ item.name }}</td>
<td>{{ item.title or "" }}</td><td>{{ item.country }}</td>
<td>{{ item.published_at.strftime("%Y-%m-%d") }}</td></tr>
{%- endfor %}
</tbody>
</table>
</body>
</html>
"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class BaselineRow(db.Model):  # type: ignore[name-defined]
    """What ``POST /rows`` inserts."""

    __tablename__ = "baseline_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BaselineItem(db.Model):  # type: ignore[name-defined]
    """What ``GET /items`` lists, in signing order by its index."""

    __tablename__ = "baseline_item"
    __table_args__ = (Index("ix_baseline_item_order", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app(database_url: str | None = None) -> Flask:
    """The baseline app on ``database_url`` (default: ``BENCH_BASELINE_DATABASE_URL``)."""
    app = Flask("bench_baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ[DATABASE_URL_VARIABLE]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"])
    app.jinja_loader = DictLoader({"items.html": TEMPLATE})
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            busy_ms = round(float(DEFAULTS["DATABASE_BUSY_TIMEOUT"]) * 1000)
            _configure_sqlite(db.engine, busy_ms=busy_ms)

    @app.get("/hello")
    def hello() -> tuple[str, int, dict[str, str]]:
        return "Hello, world.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.post("/rows")
    def add_row() -> tuple[str, int, dict[str, str]]:
        form = request.form
        db.session.add(
            BaselineRow(
                organization=form.get("organization") or None,
                name=form.get("name", ""),
                email=form.get("email", ""),
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        return "", 303, {"Location": "/hello"}

    @app.get("/items")
    def items() -> str:
        found = db.session.scalars(
            select(BaselineItem)
            .order_by(BaselineItem.published_at, BaselineItem.id)
            .limit(PAGE_SIZE)
        ).all()
        return render_template("items.html", title="Signatories", items=found)

    return app


def prepare(database_url: str, items: int = ITEMS, seed: int = 2025) -> None:
    """Make the baseline's tables and ``items`` rows to list (a fresh database's)."""
    app = create_app(database_url)
    rng = random.Random(seed)
    start = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
    with app.app_context():
        db.create_all()  # the baseline's own throwaway tables, not signatory's schema
        table = cast(Table, BaselineItem.__table__)
        with db.engine.begin() as connection:
            for offset in range(0, items, 10_000):
                rows: list[dict[str, Any]] = [
                    {
                        "organization": f"{rng.choice(CITIES)} {rng.choice(TOPICS)} Network",
                        "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        "title": rng.choice(TITLES) if rng.random() < 0.7 else None,
                        "country": rng.choice(COUNTRIES),
                        "published_at": start + timedelta(seconds=30 * (offset + i)),
                    }
                    for i in range(min(10_000, items - offset))
                ]
                connection.execute(insert(table), rows)
        db.engine.dispose()
