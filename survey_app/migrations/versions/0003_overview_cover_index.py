"""responses: covering index for the report overview (fiscal year first)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:50:00

The overview groups one fiscal year's answers by facility and month. With this index the
database reads only the index, not the table: at 1,000,000 answers the overview took 404 ms
with it and 1,254 ms without (benchmarks/bench_overview.py).
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = ["fiscal_year", "facility_id", "submitted_at", "satisfaction", "establishment"]


def upgrade():
    op.create_index("ix_responses_fiscal_year_facility_cover", "responses", COLUMNS)


def downgrade():
    op.drop_index("ix_responses_fiscal_year_facility_cover", table_name="responses")
