"""responses: comment_masked, what comment search matches

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00

Comment search used to match the stored comment, so a manager could recover a masked phone
number one character at a time. Search now matches the masked comment (NFKC), stored next to
the comment by every insert; this fills it in for the answers already stored.
"""
from alembic import op
import sqlalchemy as sa

from analysis.masking import masked_for_search


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BATCH_ROWS = 1000
responses = sa.table("responses", sa.column("id", sa.Integer), sa.column("comment", sa.Text),
                     sa.column("comment_masked", sa.Text))


def upgrade():
    with op.batch_alter_table("responses") as batch_op:
        batch_op.add_column(sa.Column("comment_masked", sa.Text(), nullable=True))
    connection = op.get_bind()
    r = responses.c
    update = (responses.update().where(r.id == sa.bindparam("row_id"))
              .values(comment_masked=sa.bindparam("masked")))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(r.id, r.comment).where(r.id > last_id, r.comment.is_not(None))
            .order_by(r.id).limit(BATCH_ROWS)).all()
        if not rows:
            break
        connection.execute(update, [{"row_id": row.id, "masked": masked_for_search(row.comment)}
                                    for row in rows])
        last_id = rows[-1].id


def downgrade():
    # recreate="never", as in 0004: SQLite drops the column in place.
    with op.batch_alter_table("responses", recreate="never") as batch_op:
        batch_op.drop_column("comment_masked")
