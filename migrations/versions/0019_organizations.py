"""organization logos, lead organizations, the authorised-to-sign statement

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 15:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import signatory.timeutil

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# --- Lead organizations and the authorised-to-sign statement -------------------------------
#
# ``signature.lead_role`` / ``lead_rank`` (organizations.leads) and
# ``authorised_statement`` / ``authorised_at`` (the sign form). A lead's role shows on
# every public page of the list, so the list revision's trigger (migration 0011) also
# watches the two lead columns: a lead marked or moved is a new state of the list.

LEAD_COLUMNS = ("lead_role", "lead_rank")
LISTED_0011 = (
    "status", "kind", "organization", "country", "organization_type", "website", "name",
    "title", "domain_verified", "version_id", "published_at",
)  # fmt: skip
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


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
    # Every piece is a constant of this file: nothing from outside goes into the statement.
    bump = (
        "UPDATE letter SET list_revision = list_revision + 1,"  # noqa: S608
        f" list_changed_at = {SQLITE_NOW} WHERE id = NEW.letter_id;"
    )
    return (
        f"CREATE TRIGGER signature_list_update AFTER UPDATE ON signature WHEN {published}"
        f" AND ({changed}) BEGIN {bump} END"
    )


def _replace_list_trigger(listed):
    dialect = op.get_bind().dialect.name
    op.execute(
        "DROP TRIGGER signature_list_update ON signature"
        if dialect == "postgresql"
        else "DROP TRIGGER signature_list_update"
    )
    op.execute(_list_trigger(dialect, listed))


def _leads_and_authorised_up():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_role", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("lead_rank", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("authorised_statement", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("authorised_at", signatory.timeutil.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "ix_signature_lead",
        "signature",
        ["letter_id", "lead_role", "lead_rank"],
        unique=False,
        sqlite_where=sa.text("lead_role IS NOT NULL"),
        postgresql_where=sa.text("lead_role IS NOT NULL"),
    )
    _replace_list_trigger(LISTED_0011 + LEAD_COLUMNS)


def _leads_and_authorised_down():
    # The old trigger first: SQLite refuses to drop a column a trigger names.
    _replace_list_trigger(LISTED_0011)
    op.drop_index("ix_signature_lead", table_name="signature")
    for column in ("authorised_at", "authorised_statement", "lead_rank", "lead_role"):
        if op.get_bind().dialect.name == "postgresql":
            op.drop_column("signature", column)
        else:
            # In place (SQLite 3.35+), not by copying the table as batch mode would: that
            # would drop the triggers on signature (migration 0011).
            op.execute(f"ALTER TABLE signature DROP COLUMN {column}")


def upgrade():
    # Logos (organizations.logos): one re-encoded image per signature, shown once approved.
    op.create_table(
        "signature_logo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_signature_logo_signature_id_signature"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_signature_logo_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["coordinator.id"],
            name=op.f("fk_signature_logo_decided_by_id_coordinator"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_logo")),
        sa.UniqueConstraint("signature_id", name=op.f("uq_signature_logo_signature_id")),
    )
    with op.batch_alter_table("signature_logo", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signature_logo_letter", ["letter_id", "status", "signature_id"], unique=False
        )
    _leads_and_authorised_up()


def downgrade():
    _leads_and_authorised_down()
    with op.batch_alter_table("signature_logo", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_logo_letter")
    op.drop_table("signature_logo")
