"""what a signer may change in their own entry: the requested country awaiting review

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 16:35:00

A signer edits their title and website at once from the manage page; a change of the
organization, the name or the country waits for a moderator beside the entry, as the
correction request of migration 0008 does, so the country gets its requested column.
NULL for every existing row: nothing is waiting. The list trigger (0022) is unchanged: it
already counts title, website, domain_verified and country as listed columns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column without a default: SQLite adds it in place, keeping the triggers.
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_country", sa.String(length=2), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.batch_alter_table("signature", schema=None) as batch_op:
            batch_op.drop_column("requested_country")
    else:
        # In place (SQLite 3.35+), not by copying the table, which would drop its triggers.
        op.execute("ALTER TABLE signature DROP COLUMN requested_country")
