"""mail you can account for: permanent failures

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:30:00

"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
