"""re-confirmation of signatures after a substantive change, and the policy that hides the
signatures not re-confirmed in time

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 15:30:00

``signature.reconfirmed_version_id`` / ``reconfirmed_at``: the newest version a signer kept
their signature on (``version_id`` still names what they first signed), shown on the list;
``signature.reconfirm_nonce``: the keep links' nonce. ``letter.reconfirm_days``: the
letter's policy (None: hide nobody). The new status ``lapsed`` is a plain string in
``signature.status`` (no CHECK constraint, and the tally triggers of migration 0011 count
any status), but it holds an address's and an organization's place like a published one,
so the two partial unique indexes are made again with it. The list revision's trigger
(0011, widened by 0019 with the lead columns) also watches the re-confirmation: the list
shows it.

Columns are added to ``signature`` in place, never by batch mode's copy of the table: that
would drop the triggers on signature (migration 0011), as migration 0014 explains.
"""

import sqlalchemy as sa
from alembic import op

from signatory.timeutil import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The list trigger's columns as migration 0019 left them, and with the re-confirmation.
LISTED_0019 = (
    "status", "kind", "organization", "country", "organization_type", "website", "name",
    "title", "domain_verified", "version_id", "published_at", "lead_role", "lead_rank",
)  # fmt: skip
LISTED = (*LISTED_0019, "reconfirmed_version_id", "reconfirmed_at")
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"

LIVE_BEFORE = "status IN ('unconfirmed', 'pending_review', 'published')"
LIVE = "status IN ('unconfirmed', 'pending_review', 'published', 'lapsed')"
HELD_BEFORE = "kind = 'organization' AND status IN ('pending_review', 'published')"
HELD = "kind = 'organization' AND status IN ('pending_review', 'published', 'lapsed')"
FOREIGN_KEY = "fk_signature_reconfirmed_version_id_letter_version"


def _list_trigger(dialect, listed):
    published = "(OLD.status = 'published' OR NEW.status = 'published')"
    if dialect == "postgresql":
        old = ", ".join(f"OLD.{field}" for field in listed)
        new = ", ".join(f"NEW.{field}" for field in listed)
        return (
            "CREATE TRIGGER signature_list_update AFTER UPDATE ON signature FOR EACH ROW"
            f" WHEN ({published} AND ({old}) IS DISTINCT FROM ({new}))"
            " EXECUTE FUNCTION signature_list_change()"
        )
    changed = " OR ".join(f"OLD.{field} IS NOT NEW.{field}" for field in listed)
    return (
        f"CREATE TRIGGER signature_list_update AFTER UPDATE ON signature WHEN {published}"
        f" AND ({changed}) BEGIN UPDATE letter SET list_revision = list_revision + 1,"
        f" list_changed_at = {SQLITE_NOW} WHERE id = NEW.letter_id; END"
    )


def _replace_list_trigger(listed):
    dialect = op.get_bind().dialect.name
    op.execute(
        "DROP TRIGGER signature_list_update ON signature"
        if dialect == "postgresql"
        else "DROP TRIGGER signature_list_update"
    )
    op.execute(_list_trigger(dialect, listed))


def _unique_indexes(live, held):
    op.drop_index("uq_signature_live_email", table_name="signature")
    op.drop_index("uq_signature_held_organization", table_name="signature")
    op.create_index(
        "uq_signature_live_email",
        "signature",
        ["letter_id", "email_key"],
        unique=True,
        sqlite_where=sa.text(live),
        postgresql_where=sa.text(live),
    )
    op.create_index(
        "uq_signature_held_organization",
        "signature",
        ["letter_id", "organization_key"],
        unique=True,
        sqlite_where=sa.text(held),
        postgresql_where=sa.text(held),
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column("letter", sa.Column("reconfirm_days", sa.Integer(), nullable=True))
    if dialect == "postgresql":
        op.add_column("signature", sa.Column("reconfirmed_version_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            FOREIGN_KEY,
            "signature",
            "letter_version",
            ["reconfirmed_version_id"],
            ["id"],
        )
    else:
        # SQLite adds a column with its foreign key in place when the column defaults to
        # NULL; without ON DELETE, as ``version_id``: a version goes only with its letter,
        # and the letter's signatures with it (and SQLite would not report the option back).
        op.execute(
            "ALTER TABLE signature ADD COLUMN reconfirmed_version_id INTEGER"
            f" CONSTRAINT {FOREIGN_KEY} REFERENCES letter_version (id)"
        )
    op.add_column("signature", sa.Column("reconfirmed_at", UTCDateTime(), nullable=True))
    op.add_column("signature", sa.Column("reconfirm_nonce", sa.String(length=32), nullable=True))
    # Each existing signature its own random nonce, in one statement however many there are.
    op.execute(
        "UPDATE signature SET reconfirm_nonce = replace(gen_random_uuid()::text, '-', '')"
        if dialect == "postgresql"
        else "UPDATE signature SET reconfirm_nonce = lower(hex(randomblob(16)))"
    )
    _unique_indexes(LIVE, HELD)
    _replace_list_trigger(LISTED)


def downgrade():
    dialect = op.get_bind().dialect.name
    # The old trigger first: SQLite refuses to drop a column a trigger names.
    _replace_list_trigger(LISTED_0019)
    # Before 0022 nothing lapsed: a lapsed signature goes back on the list, in its place
    # (it held its address and organization, so the old unique indexes still hold).
    op.execute("UPDATE signature SET status = 'published' WHERE status = 'lapsed'")
    _unique_indexes(LIVE_BEFORE, HELD_BEFORE)
    if dialect == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "signature", type_="foreignkey")
        for column in ("reconfirm_nonce", "reconfirmed_at", "reconfirmed_version_id"):
            op.drop_column("signature", column)
        op.drop_column("letter", "reconfirm_days")
    else:
        # In place (SQLite 3.35+), not by copying the tables: see the docstring.
        for column in ("reconfirm_nonce", "reconfirmed_at", "reconfirmed_version_id"):
            op.execute(f"ALTER TABLE signature DROP COLUMN {column}")
        op.execute("ALTER TABLE letter DROP COLUMN reconfirm_days")
