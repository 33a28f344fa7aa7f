"""login_attempts: the per-address login limit, shared by every worker

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00

Failed logins per client address were counted in each worker's memory, so with two workers
twice the documented number got through before 429.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_attempts_address_attempted_at", "login_attempts", ["address", "attempted_at"])
    op.create_index(op.f("ix_login_attempts_attempted_at"), "login_attempts", ["attempted_at"])


def downgrade():
    op.drop_index(op.f("ix_login_attempts_attempted_at"), table_name="login_attempts")
    op.drop_index("ix_login_attempts_address_attempted_at", table_name="login_attempts")
    op.drop_table("login_attempts")
