"""theme_decisions and theme_edits: the analyst workbench's corrections, kept across reruns

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-20 10:00:00

A decision replaces the whole label set of one comment text (by the fingerprint of its masked,
NFKC form); theme edits (rename, merge, split) name themes and group their decisions.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "theme_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("theme_id", sa.String(length=20), nullable=False),
        sa.Column("from_theme_id", sa.String(length=20), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("previous_label", sa.String(length=200), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["undone_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_theme_edits_theme_id", "theme_edits", ["theme_id"])
    op.create_table(
        "theme_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("comment_masked", sa.Text(), nullable=False),
        sa.Column("labels", sa.String(length=200), nullable=False),
        sa.Column("model_labels", sa.String(length=200), nullable=True),
        sa.Column("edit_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["edit_id"], ["theme_edits.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["undone_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_theme_decisions_fingerprint_created", "theme_decisions",
                    ["fingerprint", "created_at"])
    op.create_index("ix_theme_decisions_edit_id", "theme_decisions", ["edit_id"])
    # The workbench pages a theme's mentions least certain first.
    op.create_index("ix_theme_mentions_run_theme_score", "theme_mentions",
                    ["run_id", "theme_code", "score"])


def downgrade():
    op.drop_index("ix_theme_mentions_run_theme_score", table_name="theme_mentions")
    op.drop_index("ix_theme_decisions_edit_id", table_name="theme_decisions")
    op.drop_index("ix_theme_decisions_fingerprint_created", table_name="theme_decisions")
    op.drop_table("theme_decisions")
    op.drop_index("ix_theme_edits_theme_id", table_name="theme_edits")
    op.drop_table("theme_edits")
