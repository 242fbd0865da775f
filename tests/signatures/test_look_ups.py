"""Signing costs the same on a letter of ten signatures or of a million: every look-up a
sign or confirm request makes on ``signature`` is an equality on the letter and a key, by
index, never a walk over the letter's signatures (and migration 0010 fills the key it needs)."""

from __future__ import annotations

import re
import sqlite3

from flask_migrate import downgrade, upgrade
from sqlalchemy import event, text

from signatory.core.extensions import db
from signatory.core.tokens import current_tokens
from signatory.models import Signature
from signatory.models.signature import lookalike_key
from tests import databases
from tests.conftest import fetch_csrf, unmigrated_app
from tests.factories import bulk_publish, make_letter

SLUG = "big"
# A plan step on signature that names one of these reads a handful of rows, however many
# the letter holds.
_BY_KEY = re.compile(
    r"\b(email_key|organization_key|lookalike_key|rowid|id)=\?"  # SQLite
    r"|\(+(email_key|organization_key|lookalike_key|id)\)*(::\w+)? = "  # PostgreSQL
)


def _signature_plans(app, statements):
    """(statement, step) for each step of each recorded SELECT's plan that reads signature."""
    selects = [
        (statement, parameters)
        for statement, parameters in statements
        if statement.lstrip().upper().startswith("SELECT") and "signature" in statement
    ]
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(databases.sqlite_path(url)) as connection:
            for statement, parameters in selects:
                for *_, detail in connection.execute("EXPLAIN QUERY PLAN " + statement, parameters):
                    if re.search(r"\bsignature\b", detail) and "outbox" not in detail:
                        yield statement, detail
        return
    # PostgreSQL: a table this small is cheaper to scan, so the planner is told to use any
    # index that fits; a step that still scans, or whose index condition names no key, walks.
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("ANALYZE signature")  # as autovacuum would have, after the bulk load
            cursor.execute("SET enable_seqscan = off")
            for statement, parameters in selects:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                (plan,) = cursor.fetchone()[0]
                for node in _nodes(plan["Plan"]):
                    if node.get("Relation Name") == "signature":
                        condition = node.get("Index Cond", "")
                        yield statement, f"{node['Node Type']} {condition}"
        finally:
            connection.close()


def _nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


class Recording:
    """The statements the app sends while ``on`` (not the test's own)."""

    def __init__(self, app) -> None:
        self.statements: list[tuple[str, tuple]] = []
        self.on = False
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and not executemany:
            self.statements.append((statement, parameters))


def test_signing_and_confirming_look_up_signatures_by_key_only(app, client):
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        bulk_publish(db.session, letter, 2000, kind="organization")
        db.session.commit()
    token = fetch_csrf(client, f"/letters/{SLUG}")
    recording = Recording(app)
    form = {
        "csrf_token": token, "kind": "organization", "organization": "Оrg o7",  # Cyrillic О
        "country": "FR", "organization_type": "ngo", "website": "https://new.example.org",
        "name": "New Signer", "email": "new@new.example.org", "authorised": "y",
    }  # fmt: skip
    recording.on = True
    assert client.post(f"/letters/{SLUG}/sign", data=form).status_code == 303
    recording.on = False
    with app.app_context():
        signature = db.session.query(Signature).filter_by(email="new@new.example.org").one()
        confirm = current_tokens().make("confirm", signature.id, signature.confirm_nonce)
    csrf = fetch_csrf(client, f"/confirm/{confirm}")
    recording.on = True
    assert client.post(f"/confirm/{confirm}", data={"csrf_token": csrf}).status_code == 200
    recording.on = False

    plans = list(_signature_plans(app, recording.statements))
    assert plans, "no look-up on signature was recorded"
    walks = [(s.split("FROM")[1][:120], d) for s, d in plans if not _BY_KEY.search(d)]
    assert walks == []
    with app.app_context():
        (row,) = db.session.query(Signature).filter_by(email="new@new.example.org").all()
        # The lookalike of "Org o7" was found by its key, and waits for review.
        assert row.status == "pending_review"
        assert "lookalike_name" in (row.review_reason or "").split(",")


def test_migration_0010_fills_the_lookalike_key_and_its_downgrade_keeps_the_links(tmp_path):
    app = unmigrated_app(tmp_path)
    with app.app_context():
        upgrade(revision="0009")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO letter (id, slug, title, recipient, status, allow_individuals,"
                    " moderation, require_domain_match, disposable_email, created_at)"
                    " VALUES (1, 'old', 'T', 'R', 'open', TRUE, 'none', FALSE, 'refuse',"
                    " '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO letter_version (id, letter_id, number, body_markdown, body_html,"
                    " kind, change_note, created_at) VALUES (1, 1, 1, 'x', 'x', 'initial', '',"
                    " '2026-01-01 00:00:00')"
                )
            )
            for row_id, organization in ((1, "Amnesty Example"), (2, "Аmnesty Example"), (3, None)):
                connection.execute(
                    text(
                        "INSERT INTO signature (id, letter_id, version_id, kind, organization,"
                        " country, name, email, email_key, domain_verified, status,"
                        " confirm_nonce, withdraw_nonce, manage_nonce, created_at,"
                        " status_changed_at) VALUES (:id, 1, 1, 'organization', :org, 'DE',"
                        " 'Old', :email, :email, FALSE, 'published', 'n', 'n', 'n',"
                        " '2026-01-02 00:00:00', '2026-01-02 00:00:00')"
                    ),
                    {"id": row_id, "org": organization, "email": f"s{row_id}@example.org"},
                )
            connection.execute(
                text(
                    "INSERT INTO outbox_message (template, to_addr, context, status, attempts,"
                    " next_attempt_at, created_at, signature_id) VALUES ('confirm_request',"
                    " 's1@example.org', '{}', 'sent', 1, '2026-01-02 00:00:00',"
                    " '2026-01-02 00:00:00', 1)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, lookalike_key FROM signature")).all())
        downgrade(revision="0009")
        with db.engine.connect() as connection:
            linked = connection.execute(text("SELECT signature_id FROM outbox_message")).scalar()
        db.engine.dispose()
    assert keys == {
        1: lookalike_key("Amnesty Example"),
        2: lookalike_key("Amnesty Example"),
        3: None,
    }
    assert keys[1] is not None
    assert linked == 1
