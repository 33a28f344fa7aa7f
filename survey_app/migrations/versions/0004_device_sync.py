"""devices: what each tablet last reported about its offline queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:45:00

Tablets report how many answers wait in their offline queue and how many the server
refused; the reports show it per device next to "last seen".
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("devices") as batch_op:
        batch_op.add_column(sa.Column("pending_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rejected_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sync_reported_at", sa.DateTime(), nullable=True))


def downgrade():
    # recreate="never": SQLite (3.35+) drops the columns in place. Recreating the table would
    # fail on a populated database, since responses reference devices with foreign_keys=ON.
    with op.batch_alter_table("devices", recreate="never") as batch_op:
        batch_op.drop_column("sync_reported_at")
        batch_op.drop_column("rejected_count")
        batch_op.drop_column("pending_count")
