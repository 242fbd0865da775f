"""country-filtered lists: one index with the kind and signing order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:10:00

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_country")
        batch_op.create_index(
            "ix_signature_country_kind",
            ["letter_id", "status", "country", "kind", "published_at", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_country_kind")
        batch_op.create_index(
            "ix_signature_country", ["letter_id", "status", "country"], unique=False
        )
