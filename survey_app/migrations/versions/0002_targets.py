"""targets: yearly targets (年度目標) and results per facility and indicator

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:51:49.670608

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('indicator_key', sa.String(length=40), nullable=False),
    sa.Column('indicator_name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('target', sa.Double(), nullable=False),
    sa.Column('result', sa.Double(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('facility_id', 'fiscal_year', 'indicator_key', name='uq_targets_facility_year_indicator')
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_targets_fiscal_year'), ['fiscal_year'], unique=False)



def downgrade():
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_fiscal_year'))
        batch_op.drop_index(batch_op.f('ix_targets_facility_id'))

    op.drop_table('targets')
