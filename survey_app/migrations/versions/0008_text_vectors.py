"""text_vectors: sentence vectors of comment texts, so a rerun embeds only new comments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 10:00:00

The mention model reads comments with a sentence encoder too (analysis/encoder.py); embedding
is the slow part, and most answers of a rerun were embedded before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "text_vectors",
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("text_sha256", "model"),
    )


def downgrade():
    op.drop_table("text_vectors")
