"""theme_id: one name for a theme's code in every table

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-20 10:00:00

The code (T01, D02…) was `themes.code`, `response_themes.theme_code` and
`theme_mentions.theme_code`, and `theme_id` in the frames, the CLI output and the reports.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

# (table, old name, new name, nullable)
RENAMES = (
    ("themes", "code", "theme_id", False),
    ("response_themes", "theme_code", "theme_id", True),
    ("theme_mentions", "theme_code", "theme_id", False),
)


def _rename(renames):
    for table, old, new, nullable in renames:
        # Batch mode: SQLite rebuilds the table, keys and indexes included.
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(old, new_column_name=new, existing_type=sa.String(length=20),
                                  existing_nullable=nullable)


def _rename_postgresql_unique(old, new):
    # PostgreSQL keeps the unnamed unique key's generated name; give it the one a fresh
    # CREATE TABLE would.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE themes RENAME CONSTRAINT themes_run_id_{old}_key "
                   f"TO themes_run_id_{new}_key")


def upgrade():
    _rename(RENAMES)
    _rename_postgresql_unique("code", "theme_id")


def downgrade():
    _rename([(table, new, old, nullable) for table, old, new, nullable in RENAMES])
    _rename_postgresql_unique("theme_id", "code")
