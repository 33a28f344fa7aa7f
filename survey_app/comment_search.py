"""The searchable form of comments, `responses.comment_masked`, kept in step with the masking.

Comment search matches only this column (the masked comment, NFKC), which the model's default
writes with every insert. After a change to the masking rules,
`flask --app survey_app comments remask` rewrites it for the answers already stored, so search
never finds what today's masks hide.
"""
import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from analysis.masking import masked_for_search

from .extensions import db
from .models import Response

BATCH_ROWS = 1000


def remask_comments(batch_rows: int = BATCH_ROWS) -> int:
    """Rewrite comment_masked wherever today's masking gives another text; return the rows changed."""
    r = Response.__table__.c
    update = (sa.update(Response.__table__).where(r.id == sa.bindparam("row_id"))
              .values(comment_masked=sa.bindparam("masked")))
    changed = last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(r.id, r.comment, r.comment_masked).where(r.id > last_id)
            .order_by(r.id).limit(batch_rows)).all()
        if not rows:
            return changed
        updates = [{"row_id": row.id, "masked": masked} for row in rows
                   if (masked := masked_for_search(row.comment)) != row.comment_masked]
        if updates:
            db.session.execute(update, updates)
        db.session.commit()
        changed += len(updates)
        last_id = rows[-1].id


@click.group("comments")
def comments_cli():
    """The searchable (masked) form of comments."""


@comments_cli.command("remask")
@with_appcontext
def remask_command():
    """Recompute every stored comment's masked search form with today's masking rules."""
    click.echo(f"comments remask: {remask_comments():,} answers updated")
