"""letter translations per version, the authoritative text, the signer's language

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:00:00

"""

import sqlalchemy as sa
from alembic import op

import signatory.timeutil

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Every existing version was written in English, the only language there was.
    with op.batch_alter_table("letter_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=35), server_default="en", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "authoritative_language", sa.String(length=35), server_default="en", nullable=False
            )
        )
    op.create_table(
        "letter_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_markdown", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.Column("updated_at", signatory.timeutil.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["coordinator.id"],
            name=op.f("fk_letter_translation_author_id_coordinator"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["letter_version.id"],
            name=op.f("fk_letter_translation_version_id_letter_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_translation")),
        sa.UniqueConstraint(
            "version_id", "language", name=op.f("uq_letter_translation_version_id_language")
        ),
    )
    # Signatures made before this revision did not record a language: they stay null.
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=35), nullable=True))


def downgrade():
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.drop_column("language")
    op.drop_table("letter_translation")
    with op.batch_alter_table("letter_version", schema=None) as batch_op:
        batch_op.drop_column("authoritative_language")
        batch_op.drop_column("language")
