"""signing writes fewer index pages: the bulk-hold and correction indexes hold only the rows
that have one

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:55:00

Nearly every signature is under no bulk hold and asks for no correction, yet each new one
was written into both indexes (a NULL key is still an entry): two of the pages every sign
POST wrote to the database, and fsynced. Their queries compare the column (``hold_id =``)
or say ``IS NOT NULL``, which both databases take as the partial index's condition.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SPARSE = {
    "ix_signature_hold": (["hold_id"], "hold_id IS NOT NULL"),
    "ix_signature_correction": (
        ["letter_id", "correction_requested_at"],
        "correction_requested_at IS NOT NULL",
    ),
}


def upgrade():
    for name, (columns, condition) in SPARSE.items():
        op.drop_index(name, table_name="signature")
        op.create_index(
            name,
            "signature",
            columns,
            sqlite_where=sa.text(condition),
            postgresql_where=sa.text(condition),
        )


def downgrade():
    for name, (columns, _condition) in SPARSE.items():
        op.drop_index(name, table_name="signature")
        op.create_index(name, "signature", columns)
