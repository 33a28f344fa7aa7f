"""theme_mentions: every point a comment makes in a run, with its polarity and span

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 10:00:00

response_themes holds one theme per response and no polarity, so a comment's second point
(「親切だけど待ち時間が長い」) and whether it praises or asks were lost.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "theme_mentions",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("theme_code", sa.String(length=20), nullable=False),
        sa.Column("polarity", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["analysis_runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "response_id", "theme_code"),
    )
    op.create_index("ix_theme_mentions_run_theme_polarity", "theme_mentions",
                    ["run_id", "theme_code", "polarity"])
    op.create_index("ix_theme_mentions_response", "theme_mentions", ["response_id"])


def downgrade():
    op.drop_index("ix_theme_mentions_response", table_name="theme_mentions")
    op.drop_index("ix_theme_mentions_run_theme_polarity", table_name="theme_mentions")
    op.drop_table("theme_mentions")
