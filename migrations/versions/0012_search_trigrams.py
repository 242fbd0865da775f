"""the name search by index on PostgreSQL: a trigram index (pg_trgm) on the search key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:05:00

A substring search (``search_key LIKE '%cafe%'``) cannot use a B-tree; on PostgreSQL a GIN
index of trigrams answers it without reading every signature of the letter. SQLite has no
such index; there the search walks the letter's list in signing order, stopping once a
page is full. pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may
create it; elsewhere an administrator runs ``CREATE EXTENSION pg_trgm`` first.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_signature_search_trgm ON signature USING gin (search_key gin_trgm_ops)"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_signature_search_trgm")
