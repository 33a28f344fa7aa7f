"""catalog_versions: every theme catalog built, imported or published, and which one is live

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 10:00:00

The catalog was one JSON file in the package; analysts now retrain it from their decisions,
compare, publish and restore versions, so each version is kept in the database.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("catalog", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("cv_figures", sa.JSON(), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["catalog_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label"),
    )


def downgrade():
    op.drop_table("catalog_versions")
