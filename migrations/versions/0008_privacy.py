"""privacy by default: retention, erasure, signer corrections

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:30:00

"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
