"""invite-only letters and allowed email domains: signing invitations per organization

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 15:30:00

The letter page says whom the letter accepts signatures from, so the letter's revision
trigger (migrations 0014 and 0017) now also moves when ``signing_policy`` or
``allowed_domains`` changes: it is recreated with the longer column list, as 0017 did.
Invitations show on no public page (the link's own page is never kept), so their table
has no trigger.
"""

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Migration 0017's list of the letter's shown columns, and the same list with the policy.
SHOWN_BEFORE = (
    "slug", "title", "recipient", "status", "deadline", "allow_individuals", "moderation",
    "require_domain_match", "disposable_email", "created_at", "opened_at", "closed_at",
    "goal",
)  # fmt: skip
SHOWN = (*SHOWN_BEFORE, "signing_policy", "allowed_domains")

BUMP = "UPDATE letter SET revision = revision + 1 WHERE id = NEW.id"

PENDING = "used_at IS NULL AND revoked_at IS NULL"


def _sqlite_trigger(columns):
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
    return (
        "CREATE TRIGGER letter_revision_update AFTER UPDATE ON letter"
        f" WHEN {changed} BEGIN {BUMP}; END"
    )


def _pg_function(columns):
    old = ", ".join(f"OLD.{column}" for column in columns)
    new = ", ".join(f"NEW.{column}" for column in columns)
    return f"""
CREATE OR REPLACE FUNCTION letter_revision_own() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF ({old}) IS DISTINCT FROM ({new}) THEN
        NEW.revision := OLD.revision + 1;
    END IF;
    RETURN NEW;
END
$$
"""


def _shown(columns):
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(columns))
    else:
        op.execute("DROP TRIGGER letter_revision_update")
        op.execute(_sqlite_trigger(columns))


def upgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "signing_policy", sa.String(length=16), server_default="anyone", nullable=False
            )
        )
        batch_op.add_column(sa.Column("allowed_domains", sa.String(length=500), nullable=True))
    _shown(SHOWN)
    op.create_table(
        "signing_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("organization_key", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("sent_count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("last_sent_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("opened_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.Column("used_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", signatory.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
            name=op.f("fk_signing_invitation_letter_id_letter"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["coordinator.id"],
            name=op.f("fk_signing_invitation_invited_by_id_coordinator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signature.id"],
            name=op.f("fk_signing_invitation_signature_id_signature"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_invitation")),
    )
    with op.batch_alter_table("signing_invitation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signing_invitation_letter", ["letter_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_signing_invitation_pending",
            ["letter_id", "organization_key"],
            unique=True,
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        )


def downgrade():
    with op.batch_alter_table("signing_invitation", schema=None) as batch_op:
        batch_op.drop_index("uq_signing_invitation_pending")
        batch_op.drop_index("ix_signing_invitation_letter")
    op.drop_table("signing_invitation")
    _shown(SHOWN_BEFORE)
    if op.get_bind().dialect.name == "postgresql":
        for column in ("allowed_domains", "signing_policy"):
            op.drop_column("letter", column)
    else:
        # In place (SQLite 3.35+), as migration 0014's downgrade explains.
        for column in ("allowed_domains", "signing_policy"):
            op.execute(f"ALTER TABLE letter DROP COLUMN {column}")
