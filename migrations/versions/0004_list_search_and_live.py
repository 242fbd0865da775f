"""find anyone and watch live: folded name keys, their indexes, a list revision per letter

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00

"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 2000

# The folding as it stands in signatory.text at this revision, copied so that this
# migration keeps doing what it did whatever the app's code later becomes.
_SPACES = re.compile(r"\s+")
_LEADING_NOT_WORD = re.compile(r"^[\W_]+")


def _plain(value):
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(
        ch for ch in folded if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf"}
    )
    return _SPACES.sub(" ", kept).strip()


def _search_text(*values):
    return "\n".join(plain for plain in (_plain(value) for value in values if value) if plain)


def _sort_key(value):
    return _LEADING_NOT_WORD.sub("", _plain(value))[:200]


def upgrade():
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("list_revision", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("list_changed_at", signatory.timeutil.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sort_key", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("search_key", sa.Text(), server_default="", nullable=False))
        # The search key joins the list's index: a search is tested on the index entry.
        batch_op.drop_index("ix_signature_public")
        batch_op.create_index(
            "ix_signature_public",
            ["letter_id", "status", "kind", "published_at", "id", "search_key"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_name",
            ["letter_id", "status", "kind", "sort_key", "id", "search_key"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_country_name",
            ["letter_id", "status", "country", "kind", "sort_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_type",
            ["letter_id", "status", "kind", "organization_type", "published_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_signature_verified",
            ["letter_id", "status", "kind", "domain_verified", "published_at", "id"],
            unique=False,
        )

    connection = op.get_bind()
    signature = sa.table(
        "signature",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("organization", sa.String),
        sa.column("name", sa.String),
        sa.column("sort_key", sa.String),
        sa.column("search_key", sa.Text),
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(signature.c.id, signature.c.kind, signature.c.organization, signature.c.name)
            .where(signature.c.id > last_id)
            .order_by(signature.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            signature.update()
            .where(signature.c.id == sa.bindparam("row_id"))
            .values(sort_key=sa.bindparam("new_sort"), search_key=sa.bindparam("new_search")),
            [
                {
                    "row_id": row.id,
                    "new_sort": _sort_key(
                        (row.organization if row.kind == "organization" else None)
                        or row.name
                        or ""
                    ),
                    "new_search": _search_text(row.organization, row.name),
                }
                for row in rows
            ],
        )
        last_id = rows[-1].id
    # A letter that already has a list starts at revision 1, changed when it last did.
    op.execute(
        "UPDATE letter SET list_revision = 1, list_changed_at = ("
        " SELECT max(signature.status_changed_at) FROM signature"
        " WHERE signature.letter_id = letter.id"
        " AND signature.status IN ('published', 'withdrawn'))"
        " WHERE EXISTS (SELECT 1 FROM signature WHERE signature.letter_id = letter.id"
        " AND signature.status IN ('published', 'withdrawn'))"
    )


def downgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_index("ix_signature_verified")
        batch_op.drop_index("ix_signature_type")
        batch_op.drop_index("ix_signature_country_name")
        batch_op.drop_index("ix_signature_name")
        batch_op.drop_index("ix_signature_public")
        batch_op.create_index(
            "ix_signature_public",
            ["letter_id", "status", "kind", "published_at", "id"],
            unique=False,
        )
        batch_op.drop_column("search_key")
        batch_op.drop_column("sort_key")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_column("list_changed_at")
        batch_op.drop_column("list_revision")
