"""mail you can account for: permanent failures

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:30:00

Each outbox row now says why its last attempt failed (``failure_kind``), the SMTP code the
server answered with, and when that attempt was made; and a letter's undelivered mail is
found by an index on (letter_id, status).
"""

import sqlalchemy as sa
from alembic import op

import signatory.core.time

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("smtp_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("failure_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("last_attempt_at", signatory.core.time.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_outbox_letter_status", ["letter_id", "status"], unique=False)

    # Rows that failed before this revision get their kind from the worker's old wording:
    # "gave up after N attempts: ..." ran out of attempts, "PermanentDeliveryError: ..."
    # was a 5xx refusal, anything else was a message with nothing left to send.
    outbox = sa.table(
        "outbox_message",
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("last_error", sa.Text),
        sa.column("failure_kind", sa.String),
    )
    failed = outbox.c.status == "failed"
    op.execute(
        outbox.update()
        .where(failed, outbox.c.last_error.like("gave up after %"))
        .values(failure_kind="exhausted")
    )
    op.execute(
        outbox.update()
        .where(failed, outbox.c.last_error.like("PermanentDeliveryError%"))
        .values(failure_kind="permanent")
    )
    op.execute(
        outbox.update()
        .where(failed, outbox.c.failure_kind.is_(None))
        .values(failure_kind="obsolete")
    )
    op.execute(
        outbox.update()
        .where(
            outbox.c.status == "pending",
            outbox.c.attempts > 0,
            outbox.c.last_error.is_not(None),
        )
        .values(failure_kind="temporary")
    )


def downgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_letter_status")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("failure_kind")
        batch_op.drop_column("smtp_code")
