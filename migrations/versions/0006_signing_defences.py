"""signing defences: email keys, review reasons, client prefixes, mail caps

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:30:00

Adds the letter's disposable-email policy, a signature's review reason and client prefix,
the indexes of the abuse reports and of the daily caps on signer mail, and recomputes every
``email_key`` under the rule that ignores ``+tags`` (and Gmail's dots).

Two live signatures of one letter can share a key under the new rule that had two under
the old one (``a.b@gmail.com`` and ``ab+x@gmail.com``), which the live-email unique index
would refuse. The older of them (by signing time, then id) takes the new key, and signing
again with any spelling finds it; each later one keeps its old key, or, if even that is
now another row's key, its old key marked with its own id (``ab@gmail.com#42``), which no
address ever maps to. Nothing is deleted: a coordinator still sees both rows, and the
later one leaves the live statuses the way any signature does.
"""

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_LIVE = ("unconfirmed", "pending_review", "published")
_LIVE_WHERE = "status IN ('unconfirmed', 'pending_review', 'published')"

# The rule as of this revision, copied rather than imported: a migration that has run must
# keep meaning what it did, whatever ``models.signature.email_key`` becomes later.
_PLUS = frozenset({
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "fastmail.com", "fastmail.fm",
    "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "icloud.com", "me.com", "mac.com",
})  # fmt: skip
_DOTS = frozenset({"gmail.com"})
_ALIASES = {"googlemail.com": "gmail.com"}


def _key(email):
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    domain = _ALIASES.get(domain, domain)
    if domain in _PLUS:
        local = local.split("+", 1)[0]
    if domain in _DOTS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else address


def _recompute_email_keys(connection):
    signature = sa.table(
        "signature",
        sa.column("id", sa.Integer),
        sa.column("letter_id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("email_key", sa.String),
        sa.column("status", sa.String),
        sa.column("created_at", signatory.timeutil.UTCDateTime()),
    )
    rows = connection.execute(
        sa.select(
            signature.c.id,
            signature.c.letter_id,
            signature.c.email,
            signature.c.email_key,
            signature.c.status,
        ).order_by(signature.c.created_at, signature.c.id)
    ).all()
    taken = set()
    for row in rows:
        new = _key(row.email or "")
        if row.status in _LIVE:
            for candidate in (new, row.email_key, f"{row.email_key}#{row.id}"):
                if (row.letter_id, candidate) not in taken:
                    new = candidate
                    break
            taken.add((row.letter_id, new))
        if new != row.email_key:
            connection.execute(
                signature.update().where(signature.c.id == row.id).values(email_key=new)
            )


def upgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "disposable_email", sa.String(length=16), server_default="refuse", nullable=False
            )
        )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_reason", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("client_prefix", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_signature_letter_created", ["letter_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_signature_email_key", ["email_key"], unique=False)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_signature_created", ["signature_id", "created_at"], unique=False
        )

    # The live-email index is dropped while the keys move, so no intermediate state of the
    # row-by-row update can trip it; it comes back over the final keys, which are unique.
    op.drop_index("uq_signature_live_email", table_name="signature")
    _recompute_email_keys(op.get_bind())
    op.create_index(
        "uq_signature_live_email",
        "signature",
        ["letter_id", "email_key"],
        unique=True,
        sqlite_where=sa.text(_LIVE_WHERE),
        postgresql_where=sa.text(_LIVE_WHERE),
    )


def downgrade():
    # The old rule only lower-cased, which is finer than the new one: keys unique under the
    # new rule stay unique under the old.
    op.drop_index("uq_signature_live_email", table_name="signature")
    op.execute("UPDATE signature SET email_key = lower(trim(email))")
    op.create_index(
        "uq_signature_live_email",
        "signature",
        ["letter_id", "email_key"],
        unique=True,
        sqlite_where=sa.text(_LIVE_WHERE),
        postgresql_where=sa.text(_LIVE_WHERE),
    )
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch: a batch rebuilds the table,
    # and rebuilding ``letter`` with foreign keys on would cascade-delete every signature.
    op.drop_index("ix_outbox_signature_created", table_name="outbox_message")
    op.drop_index("ix_signature_email_key", table_name="signature")
    op.drop_index("ix_signature_letter_created", table_name="signature")
    op.drop_column("signature", "client_prefix")
    op.drop_column("signature", "review_reason")
    op.drop_column("letter", "disposable_email")
