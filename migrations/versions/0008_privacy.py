"""privacy by default: retention, erasure, signer corrections

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manage_nonce", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("erased_at", signatory.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("correction_requested_at", signatory.timeutil.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("requested_organization", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("requested_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("requested_title", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_signature_correction", ["letter_id", "correction_requested_at"], unique=False
        )

    # Existing signatures get their own random manage nonce; the server default above only
    # exists to fill the new NOT NULL column.
    connection = op.get_bind()
    signature = sa.table("signature", sa.column("id", sa.Integer), sa.column("manage_nonce"))
    for (row_id,) in connection.execute(sa.select(signature.c.id)).all():
        connection.execute(
            signature.update()
            .where(signature.c.id == row_id)
            .values(manage_nonce=secrets.token_urlsafe(16))
        )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.alter_column("manage_nonce", server_default=None)


def downgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_correction")
        batch_op.drop_column("requested_title")
        batch_op.drop_column("requested_name")
        batch_op.drop_column("requested_organization")
        batch_op.drop_column("correction_requested_at")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("manage_nonce")
