"""why we signed: a short statement per signature, moderated, and the letter's setting

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 16:35:00

``letter.statements_enabled``: whether the sign form asks for a statement. The letter page
shows the field only then, so the letter's revision trigger (last recreated by 0021) also
watches it. ``signature.statement`` and its moderation (``statement_status`` pending,
approved or rejected; who decided and when): the list shows an approved statement, so the
list trigger (last recreated by 0022) also watches the statement and its status, and an
approval shows at once.

Columns are added to ``signature`` in place, never by batch mode's copy of the table: that
would drop the triggers on signature (migration 0011), as migration 0022 explains.
"""

import sqlalchemy as sa
from alembic import op

from signatory.timeutil import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# The letter's shown columns as migration 0021 left them, and with the setting.
SHOWN_0021 = (
    "slug", "title", "recipient", "status", "deadline", "allow_individuals", "moderation",
    "require_domain_match", "disposable_email", "created_at", "opened_at", "closed_at",
    "goal", "signing_policy", "allowed_domains",
)  # fmt: skip
SHOWN = (*SHOWN_0021, "statements_enabled")

# The list trigger's columns as migration 0022 left them, and with the statement.
LISTED_0022 = (
    "status", "kind", "organization", "country", "organization_type", "website", "name",
    "title", "domain_verified", "version_id", "published_at", "lead_role", "lead_rank",
    "reconfirmed_version_id", "reconfirmed_at",
)  # fmt: skip
LISTED = (*LISTED_0022, "statement", "statement_status")

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
BUMP = "UPDATE letter SET revision = revision + 1 WHERE id = NEW.id"
FOREIGN_KEY = "fk_signature_statement_decided_by_id_coordinator"
SIGNATURE_COLUMNS = (
    "statement_decided_at", "statement_decided_by_id", "statement_status", "statement",
)  # fmt: skip


def _list_trigger(dialect, listed):
    published = "(OLD.status = 'published' OR NEW.status = 'published')"
    if dialect == "postgresql":
        old = ", ".join(f"OLD.{field}" for field in listed)
        new = ", ".join(f"NEW.{field}" for field in listed)
        return (
            "CREATE TRIGGER signature_list_update AFTER UPDATE ON signature FOR EACH ROW"
            f" WHEN ({published} AND ({old}) IS DISTINCT FROM ({new}))"
            " EXECUTE FUNCTION signature_list_change()"
        )
    changed = " OR ".join(f"OLD.{field} IS NOT NEW.{field}" for field in listed)
    # Column names from this file's constants only, never from input.
    return (
        f"CREATE TRIGGER signature_list_update AFTER UPDATE ON signature WHEN {published}"  # noqa: S608
        f" AND ({changed}) BEGIN UPDATE letter SET list_revision = list_revision + 1,"
        f" list_changed_at = {SQLITE_NOW} WHERE id = NEW.letter_id; END"
    )


def _replace_list_trigger(listed):
    dialect = op.get_bind().dialect.name
    op.execute(
        "DROP TRIGGER signature_list_update ON signature"
        if dialect == "postgresql"
        else "DROP TRIGGER signature_list_update"
    )
    op.execute(_list_trigger(dialect, listed))


def _shown(columns):
    if op.get_bind().dialect.name == "postgresql":
        old = ", ".join(f"OLD.{column}" for column in columns)
        new = ", ".join(f"NEW.{column}" for column in columns)
        op.execute(f"""
CREATE OR REPLACE FUNCTION letter_revision_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF ({old}) IS DISTINCT FROM ({new}) THEN
        NEW.revision := OLD.revision + 1;
    END IF;
    RETURN NEW;
END
$$
""")
    else:
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
        op.execute("DROP TRIGGER letter_revision_update")
        op.execute(
            "CREATE TRIGGER letter_revision_update AFTER UPDATE ON letter"
            f" WHEN {changed} BEGIN {BUMP}; END"
        )


def upgrade():
    dialect = op.get_bind().dialect.name
    # In place on both (a plain ADD COLUMN): the letter's triggers stay.
    op.add_column(
        "letter",
        sa.Column("statements_enabled", sa.Boolean(), server_default="0", nullable=False),
    )
    op.add_column("signature", sa.Column("statement", sa.String(length=280), nullable=True))
    op.add_column("signature", sa.Column("statement_status", sa.String(length=16), nullable=True))
    if dialect == "postgresql":
        op.add_column(
            "signature", sa.Column("statement_decided_by_id", sa.Integer(), nullable=True)
        )
        op.create_foreign_key(
            FOREIGN_KEY,
            "signature",
            "coordinator",
            ["statement_decided_by_id"],
            ["id"],
        )
    else:
        # SQLite adds a column with its foreign key in place when it defaults to NULL;
        # without ON DELETE, which SQLite would not report back (migration 0022): no
        # coordinator is ever deleted, so the decider's id never dangles.
        op.execute(
            "ALTER TABLE signature ADD COLUMN statement_decided_by_id INTEGER"
            f" CONSTRAINT {FOREIGN_KEY} REFERENCES coordinator (id)"
        )
    op.add_column("signature", sa.Column("statement_decided_at", UTCDateTime(), nullable=True))
    _shown(SHOWN)
    _replace_list_trigger(LISTED)


def downgrade():
    dialect = op.get_bind().dialect.name
    # The old triggers first: SQLite refuses to drop a column a trigger names.
    _replace_list_trigger(LISTED_0022)
    _shown(SHOWN_0021)
    if dialect == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "signature", type_="foreignkey")
        for column in SIGNATURE_COLUMNS:
            op.drop_column("signature", column)
        op.drop_column("letter", "statements_enabled")
    else:
        # In place (SQLite 3.35+), not by copying the tables: see the docstring.
        for column in SIGNATURE_COLUMNS:
            op.execute(f"ALTER TABLE signature DROP COLUMN {column}")
        op.execute("ALTER TABLE letter DROP COLUMN statements_enabled")
