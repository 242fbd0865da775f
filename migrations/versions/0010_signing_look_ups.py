"""signing's look-ups by index whatever the letter's size: the lookalike key, and indexes
on the letter with its email key, its organization key and its lookalike key

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:45:00

"""

import sqlalchemy as sa
from alembic import op

from signatory.core.text import skeleton

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 5000


def _lookalike_key(organization):
    # As models.signature.lookalike_key computes it today; a later change of the model's
    # function does not change what this migration wrote.
    return skeleton(organization)[:200] or None if organization else None


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookalike_key", sa.String(length=200), nullable=True))

    signature = sa.table(
        "signature",
        sa.column("id", sa.Integer),
        sa.column("organization", sa.String),
        sa.column("lookalike_key", sa.String),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(signature.c.id, signature.c.organization)
            .where(signature.c.id > last, signature.c.organization.is_not(None))
            .order_by(signature.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.update(signature)
            .where(signature.c.id == sa.bindparam("row_id"))
            .values(lookalike_key=sa.bindparam("key")),
            [{"row_id": row.id, "key": _lookalike_key(row.organization)} for row in rows],
        )
        last = rows[-1].id

    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signature_letter_email", ["letter_id", "email_key", "status"], unique=False
        )
        batch_op.create_index(
            "ix_signature_letter_organization",
            ["letter_id", "organization_key", "kind", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_lookalike", ["letter_id", "lookalike_key", "kind", "status"], unique=False
        )


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch: a batch rebuilds the
    # table, and dropping the old ``signature`` with foreign keys on would set every
    # outbox and audit row's signature to NULL.
    op.drop_index("ix_signature_lookalike", table_name="signature")
    op.drop_index("ix_signature_letter_organization", table_name="signature")
    op.drop_index("ix_signature_letter_email", table_name="signature")
    op.drop_column("signature", "lookalike_key")
