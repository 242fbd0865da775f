"""a letter's signature goal, the milestones its coordinators are emailed at, and the
highest milestone already announced

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 15:30:00

The letter page shows the goal, so the letter's revision trigger (migration 0014) now also
moves when ``goal`` changes: it is recreated with the longer column list. The milestone
bookkeeping (``goal_milestone_reached``), which the mail worker moves, shows nowhere and
is left out, so announcing a milestone keeps every kept page.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Migration 0014's list of the letter's shown columns, and the same list with the goal.
SHOWN_BEFORE = (
    "slug", "title", "recipient", "status", "deadline", "allow_individuals", "moderation",
    "require_domain_match", "disposable_email", "created_at", "opened_at", "closed_at",
)  # fmt: skip
SHOWN = (*SHOWN_BEFORE, "goal")

BUMP = "UPDATE letter SET revision = revision + 1 WHERE id = NEW.id"


def _sqlite_trigger(columns):
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
    return f"CREATE TRIGGER letter_revision_update AFTER UPDATE ON letter WHEN {changed} BEGIN {BUMP}; END"


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
        batch_op.add_column(sa.Column("goal", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("goal_milestones", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "goal_milestone_reached", sa.Integer(), server_default="0", nullable=False
            )
        )
    _shown(SHOWN)


def downgrade():
    _shown(SHOWN_BEFORE)
    if op.get_bind().dialect.name == "postgresql":
        for column in ("goal_milestone_reached", "goal_milestones", "goal"):
            op.drop_column("letter", column)
    else:
        # In place (SQLite 3.35+), as migration 0014's downgrade explains.
        for column in ("goal_milestone_reached", "goal_milestones", "goal"):
            op.execute(f"ALTER TABLE letter DROP COLUMN {column}")
