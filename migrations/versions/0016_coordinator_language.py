"""each coordinator's chosen language, for the workspace and the emails sent to them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:40:00

Empty (NULL) for every existing account: they keep following their browser's language.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.drop_column("language")
