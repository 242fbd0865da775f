"""signatures imported from a spreadsheet

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 15:30:00

``signature.source``: how a signature came when not by its signer's own form (NULL for
every existing one). ``import_batch``: an uploaded file kept between its preview and its
confirmation, so the browser never carries the rows.
"""

import sqlalchemy as sa
from alembic import op

from signatory.timeutil import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinator.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["letter_id"], ["letter.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_batch_expires", "import_batch", ["expires_at"], unique=False)


def downgrade():
    op.drop_index("ix_import_batch_expires", table_name="import_batch")
    op.drop_table("import_batch")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("signature", "source")
    else:
        # In place (SQLite 3.35+), not by copying the table as batch mode would: that
        # would drop the triggers on signature (migration 0011), as migration 0014 explains.
        op.execute("ALTER TABLE signature DROP COLUMN source")
