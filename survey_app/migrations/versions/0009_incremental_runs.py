"""analysis runs: incremental runs reference the results they extend; centroids of themes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-20 10:00:00

`survey-analysis run --incremental` themes only the answers stored since the last run and adds
them to that run's results: the new run names the run holding its rows (results_run_id), the
last answer it themed (last_response_id), and discovered themes keep a centroid so that new
comments can join them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("analysis_runs") as batch_op:
        batch_op.add_column(sa.Column("results_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_response_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_analysis_runs_results_run_id", "analysis_runs",
                                    ["results_run_id"], ["id"])
    with op.batch_alter_table("themes") as batch_op:
        batch_op.add_column(sa.Column("centroid", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("themes") as batch_op:
        batch_op.drop_column("centroid")
    with op.batch_alter_table("analysis_runs") as batch_op:
        batch_op.drop_constraint("fk_analysis_runs_results_run_id", type_="foreignkey")
        batch_op.drop_column("last_response_id")
        batch_op.drop_column("results_run_id")
