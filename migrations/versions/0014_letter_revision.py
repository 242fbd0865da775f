"""a revision per letter for what its public pages show besides the list: moved on by
triggers when the letter, one of its versions or translations, or its delivery changes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 03:55:00

With ``list_revision`` it names one state of everything a public page of the letter shows,
so a rendered page can be kept under it (``signatory.caching``) and never be stale.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The letter's own columns that its pages show or depend on, as of this migration (not the
# list's revision and time, which move with every signature).
SHOWN = (
    "slug", "title", "recipient", "status", "deadline", "allow_individuals", "moderation",
    "require_domain_match", "disposable_email", "created_at", "opened_at", "closed_at",
)  # fmt: skip
# Tables whose rows belong to one letter, and how a row names it.
CHILDREN = {
    "letter_version": "{row}.letter_id",
    "delivery": "{row}.letter_id",
    "letter_translation": "(SELECT letter_id FROM letter_version WHERE id = {row}.version_id)",
}

BUMP = "UPDATE letter SET revision = revision + 1 WHERE id = {letter}"


def _sqlite_triggers():
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SHOWN)
    triggers = {
        "letter_revision_update": (
            f"AFTER UPDATE ON letter WHEN {changed}"
            f" BEGIN {BUMP.format(letter='NEW.id')}; END"
        )
    }
    for table, letter in CHILDREN.items():
        for event, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            triggers[f"{table}_revision_{event}"] = (
                f"AFTER {event.upper()} ON {table}"
                f" BEGIN {BUMP.format(letter=letter.format(row=row))}; END"
            )
    return triggers


def _pg_statements():
    old = ", ".join(f"OLD.{column}" for column in SHOWN)
    new = ", ".join(f"NEW.{column}" for column in SHOWN)
    statements = [
        # A BEFORE trigger sets the new row's revision itself: no second UPDATE, no recursion.
        f"""
CREATE FUNCTION letter_revision_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF ({old}) IS DISTINCT FROM ({new}) THEN
        NEW.revision := OLD.revision + 1;
    END IF;
    RETURN NEW;
END
$$
""",
        "CREATE TRIGGER letter_revision_update BEFORE UPDATE ON letter FOR EACH ROW"
        " EXECUTE FUNCTION letter_revision_own()",
    ]
    for table, letter in CHILDREN.items():
        statements.append(f"""
CREATE FUNCTION {table}_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {BUMP.format(letter=letter.format(row="OLD"))};
    ELSE
        {BUMP.format(letter=letter.format(row="NEW"))};
    END IF;
    RETURN NULL;
END
$$
""")
        statements.append(
            f"CREATE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {table}_revision()"
        )
    return statements


def upgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), server_default="0", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        for statement in _pg_statements():
            op.execute(statement)
    else:
        for name, body in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER letter_revision_update ON letter")
        op.execute("DROP FUNCTION letter_revision_own()")
        for table in CHILDREN:
            op.execute(f"DROP TRIGGER {table}_revision ON {table}")
            op.execute(f"DROP FUNCTION {table}_revision()")
        op.drop_column("letter", "revision")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER {name}")
        # In place (SQLite 3.35+), not by copying the table as batch mode would: the
        # triggers on signature (migration 0011) name the letter table, and SQLite refuses
        # to rename a copy into a name that triggers refer to.
        op.execute("ALTER TABLE letter DROP COLUMN revision")
