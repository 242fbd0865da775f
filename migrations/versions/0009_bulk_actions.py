"""bulk holds and rejections of a flood: bulk_action, signature.hold_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00

"""

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("released_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["coordinator.id"],
            name=op.f("fk_bulk_action_actor_id_coordinator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_bulk_action_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["coordinator.id"],
            name=op.f("fk_bulk_action_released_by_id_coordinator"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_action")),
    )
    with op.batch_alter_table("bulk_action", schema=None) as batch_op:
        batch_op.create_index("ix_bulk_action_letter", ["letter_id", "created_at"], unique=False)

    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_signature_hold_id_bulk_action"),
            "bulk_action",
            ["hold_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_signature_hold", ["hold_id"], unique=False)
        batch_op.create_index(
            "ix_signature_client_prefix",
            ["letter_id", "client_prefix", "created_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_client_prefix")
        batch_op.drop_index("ix_signature_hold")
        batch_op.drop_constraint("fk_signature_hold_id_bulk_action", type_="foreignkey")
        batch_op.drop_column("hold_id")
    with op.batch_alter_table("bulk_action", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_action_letter")
    op.drop_table("bulk_action")
