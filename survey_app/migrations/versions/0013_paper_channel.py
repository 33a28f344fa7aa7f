"""paper questionnaires: answers carry their channel and a paper sheet number; paper_sheets

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-20 10:00:00

`responses.source` (form/api/demo) becomes `responses.channel` (tablet/paper/api/demo): form
answers were typed on the tablet, so `form` becomes `tablet`; `api` stays; demo answers keep
`demo`, because `demo-data` replaces exactly those rows and they were never really answered.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "paper_sheets",
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("printed_at", sa.DateTime(), nullable=False),
        sa.Column("printed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["printed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("serial"),
    )
    op.create_index("ix_paper_sheets_facility_id", "paper_sheets", ["facility_id"])
    op.create_index("ix_paper_sheets_batch", "paper_sheets", ["batch"])
    with op.batch_alter_table("responses") as batch:
        batch.alter_column("source", new_column_name="channel", existing_type=sa.String(length=10),
                           existing_nullable=False)
        batch.add_column(sa.Column("sheet_number", sa.String(length=8), nullable=True))
        batch.create_unique_constraint("uq_responses_sheet_number", ["sheet_number"])
    op.execute("UPDATE responses SET channel = 'tablet' WHERE channel = 'form'")


def downgrade():
    op.execute("UPDATE responses SET channel = 'form' WHERE channel = 'tablet'")
    op.execute("DELETE FROM responses WHERE channel = 'paper'")
    with op.batch_alter_table("responses") as batch:
        batch.drop_constraint("uq_responses_sheet_number", type_="unique")
        batch.drop_column("sheet_number")
        batch.alter_column("channel", new_column_name="source", existing_type=sa.String(length=10),
                           existing_nullable=False)
    op.drop_index("ix_paper_sheets_batch", table_name="paper_sheets")
    op.drop_index("ix_paper_sheets_facility_id", table_name="paper_sheets")
    op.drop_table("paper_sheets")
