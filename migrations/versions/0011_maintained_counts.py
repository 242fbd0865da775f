"""counts kept by the database: signature_tally by letter, status, kind and country, and the
list revision moved on by triggers, whatever writes the signatures

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# What the public list shows of a published signature (models.signature.LISTED_FIELDS as
# of this migration): a change to one of these, on a row published before or after it,
# changes the list.
LISTED = (
    "status", "kind", "organization", "country", "organization_type", "website", "name",
    "title", "domain_verified", "version_id", "published_at",
)  # fmt: skip
TALLIED = ("status", "kind", "country")

# -- SQLite ---------------------------------------------------------------------------------

# UTC now as SQLAlchemy stores a datetime on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff").
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


def _sqlite_add(row):
    return (
        "INSERT INTO signature_tally (letter_id, status, kind, country, signatures)"
        f" VALUES ({row}.letter_id, {row}.status, {row}.kind, {row}.country, 1)"
        " ON CONFLICT (letter_id, status, kind, country)"
        " DO UPDATE SET signatures = signatures + 1;"
    )


def _sqlite_take(row):
    return (
        "UPDATE signature_tally SET signatures = signatures - 1"
        f" WHERE letter_id = {row}.letter_id AND status = {row}.status"
        f" AND kind = {row}.kind AND country = {row}.country;"
    )


def _sqlite_revision(row):
    return (
        "UPDATE letter SET list_revision = list_revision + 1,"
        f" list_changed_at = {SQLITE_NOW} WHERE id = {row}.letter_id;"
    )


def _sqlite_changed(fields):
    return " OR ".join(f"OLD.{field} IS NOT NEW.{field}" for field in fields)


SQLITE_TRIGGERS = {
    "signature_tally_insert": (
        f"AFTER INSERT ON signature BEGIN {_sqlite_add('NEW')} END"
    ),
    "signature_tally_delete": (
        f"AFTER DELETE ON signature BEGIN {_sqlite_take('OLD')} END"
    ),
    "signature_tally_update": (
        f"AFTER UPDATE OF {', '.join(TALLIED)} ON signature WHEN {_sqlite_changed(TALLIED)}"
        f" BEGIN {_sqlite_take('OLD')} {_sqlite_add('NEW')} END"
    ),
    "signature_list_insert": (
        "AFTER INSERT ON signature WHEN NEW.status = 'published'"
        f" BEGIN {_sqlite_revision('NEW')} END"
    ),
    "signature_list_delete": (
        "AFTER DELETE ON signature WHEN OLD.status = 'published'"
        f" BEGIN {_sqlite_revision('OLD')} END"
    ),
    "signature_list_update": (
        f"AFTER UPDATE ON signature WHEN (OLD.status = 'published' OR NEW.status = 'published')"
        f" AND ({_sqlite_changed(LISTED)}) BEGIN {_sqlite_revision('NEW')} END"
    ),
}

# -- PostgreSQL -----------------------------------------------------------------------------

PG_TALLY_FUNCTION = """
CREATE FUNCTION signature_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE signature_tally SET signatures = signatures - 1
        WHERE letter_id = OLD.letter_id AND status = OLD.status
          AND kind = OLD.kind AND country = OLD.country;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO signature_tally (letter_id, status, kind, country, signatures)
        VALUES (NEW.letter_id, NEW.status, NEW.kind, NEW.country, 1)
        ON CONFLICT (letter_id, status, kind, country)
        DO UPDATE SET signatures = signature_tally.signatures + 1;
    END IF;
    RETURN NULL;
END
$$
"""

PG_LIST_FUNCTION = """
CREATE FUNCTION signature_list_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_letter integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_letter := OLD.letter_id;
    ELSE
        changed_letter := NEW.letter_id;
    END IF;
    UPDATE letter SET list_revision = list_revision + 1,
                      list_changed_at = (clock_timestamp() AT TIME ZONE 'UTC')
    WHERE id = changed_letter;
    RETURN NULL;
END
$$
"""


def _pg_changed(fields):
    old = ", ".join(f"OLD.{field}" for field in fields)
    new = ", ".join(f"NEW.{field}" for field in fields)
    return f"({old}) IS DISTINCT FROM ({new})"


PG_TRIGGERS = {
    "signature_tally_insert_delete": (
        "AFTER INSERT OR DELETE ON signature FOR EACH ROW"
        " EXECUTE FUNCTION signature_tally_change()"
    ),
    "signature_tally_update": (
        f"AFTER UPDATE OF {', '.join(TALLIED)} ON signature FOR EACH ROW"
        f" WHEN ({_pg_changed(TALLIED)}) EXECUTE FUNCTION signature_tally_change()"
    ),
    "signature_list_insert": (
        "AFTER INSERT ON signature FOR EACH ROW WHEN (NEW.status = 'published')"
        " EXECUTE FUNCTION signature_list_change()"
    ),
    "signature_list_delete": (
        "AFTER DELETE ON signature FOR EACH ROW WHEN (OLD.status = 'published')"
        " EXECUTE FUNCTION signature_list_change()"
    ),
    "signature_list_update": (
        "AFTER UPDATE ON signature FOR EACH ROW"
        " WHEN ((OLD.status = 'published' OR NEW.status = 'published')"
        f" AND {_pg_changed(LISTED)}) EXECUTE FUNCTION signature_list_change()"
    ),
}


def upgrade():
    op.create_table(
        "signature_tally",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("signatures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_signature_tally_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "letter_id", "status", "kind", "country", name=op.f("pk_signature_tally")
        ),
    )
    # Counted once here; from now on the triggers keep it, in each writer's transaction.
    op.execute(
        "INSERT INTO signature_tally (letter_id, status, kind, country, signatures)"
        " SELECT letter_id, status, kind, country, count(*) FROM signature"
        " GROUP BY letter_id, status, kind, country"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TALLY_FUNCTION)
        op.execute(PG_LIST_FUNCTION)
        for name, body in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON signature")
        op.execute("DROP FUNCTION signature_list_change()")
        op.execute("DROP FUNCTION signature_tally_change()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("signature_tally")
