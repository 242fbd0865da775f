"""updates to signatories, and the consent to receive them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 15:30:00

``signature.updates_consent_at``: when the signer asked for a letter's updates by email
(NULL for every existing signature: nobody was asked). ``letter_update``: the updates, and
the state of emailing each one; ``update_recipient``: each signature an update was queued
for, unique per update and signature. The letter page shows its newest updates, so the
letter's revision (migration 0014) moves when an update is posted, edited or deleted; not
when the mail worker moves an update's sending cursor, which shows nowhere.
"""

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The update's columns that the letter page shows.
SHOWN = ("title", "body_html", "posted_at", "letter_id")
BUMP = "UPDATE letter SET revision = revision + 1 WHERE id = {row}.letter_id"
SENDING = "send_requested_at IS NOT NULL AND queued_all_at IS NULL"


def _sqlite_triggers():
    columns = ", ".join(SHOWN)
    return {
        "letter_update_revision_insert": (
            f"AFTER INSERT ON letter_update BEGIN {BUMP.format(row='NEW')}; END"
        ),
        "letter_update_revision_update": (
            f"AFTER UPDATE OF {columns} ON letter_update BEGIN {BUMP.format(row='NEW')}; END"
        ),
        "letter_update_revision_delete": (
            f"AFTER DELETE ON letter_update BEGIN {BUMP.format(row='OLD')}; END"
        ),
    }


def _pg_statements():
    old = ", ".join(f"OLD.{column}" for column in SHOWN)
    new = ", ".join(f"NEW.{column}" for column in SHOWN)
    return [
        f"""
CREATE FUNCTION letter_update_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {BUMP.format(row="OLD")};
    ELSIF TG_OP = 'INSERT' OR ({old}) IS DISTINCT FROM ({new}) THEN
        {BUMP.format(row="NEW")};
    END IF;
    RETURN NULL;
END
$$
""",
        "CREATE TRIGGER letter_update_revision AFTER INSERT OR UPDATE OR DELETE ON letter_update"
        " FOR EACH ROW EXECUTE FUNCTION letter_update_revision()",
    ]


def upgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("updates_consent_at", signatory.timeutil.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "ix_signature_updates_consent",
        "signature",
        ["letter_id", "id"],
        unique=False,
        sqlite_where=sa.text("updates_consent_at IS NOT NULL"),
        postgresql_where=sa.text("updates_consent_at IS NOT NULL"),
    )
    op.create_table(
        "letter_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("posted_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("edited_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.Column("send_requested_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.Column("send_requested_by_id", sa.Integer(), nullable=True),
        sa.Column("queued_through", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued_all_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["coordinator.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["letter_id"], ["letter.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["send_requested_by_id"], ["coordinator.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_letter_update_letter_posted", "letter_update", ["letter_id", "posted_at"], unique=False
    )
    op.create_index(
        "ix_letter_update_sending",
        "letter_update",
        ["send_requested_at"],
        unique=False,
        sqlite_where=sa.text(SENDING),
        postgresql_where=sa.text(SENDING),
    )
    op.create_table(
        "update_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("unsubscribe_nonce", sa.String(length=32), nullable=False),
        sa.Column("created_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_message.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["update_id"], ["letter_update.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("update_id", "signature_id", name="uq_update_recipient"),
    )
    op.create_index(
        "ix_update_recipient_outbox", "update_recipient", ["outbox_message_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in _pg_statements():
            op.execute(statement)
    else:
        for name, body in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER letter_update_revision ON letter_update")
        op.execute("DROP FUNCTION letter_update_revision()")
    else:
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_update_recipient_outbox", table_name="update_recipient")
    op.drop_table("update_recipient")
    op.drop_index("ix_letter_update_sending", table_name="letter_update")
    op.drop_index("ix_letter_update_letter_posted", table_name="letter_update")
    op.drop_table("letter_update")
    op.drop_index("ix_signature_updates_consent", table_name="signature")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("signature", "updates_consent_at")
    else:
        # In place (SQLite 3.35+), not by copying the table as batch mode would: the
        # triggers on signature (migration 0011) name it, as migration 0014 explains.
        op.execute("ALTER TABLE signature DROP COLUMN updates_consent_at")
