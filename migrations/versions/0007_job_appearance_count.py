"""A job's `slide_count` is its distinct slides, `appearance_count` the timeline's appearances.

`slide_count` counted appearances: a talk that returned to two earlier slides said 33 slides while
its PDF and PPTX had 31. A user reads "slides" as the deck's slides, so `slide_count` now counts
those (the manifest's entries whose `same_as` is null) and the new `appearance_count` keeps the
timeline's count (the manifest's `slides`, the API's /slides). Jobs finished before are brought
to the same meaning from their slide rows.

Revision ID: 0007_job_appearance_count
Revises: 0006_job_warnings
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_job_appearance_count"
down_revision = "0006_job_warnings"
branch_labels = None
depends_on = None

# The old count was the appearances; a job with slide rows gets its distinct count from them.
# Both sides of SET read the row as it was (PostgreSQL and SQLite alike).
_SPLIT = """
UPDATE jobs SET appearance_count = slide_count,
    slide_count = COALESCE((SELECT count(*) FROM slides WHERE slides.job_id = jobs.id AND slides.same_as IS NULL
                            HAVING count(*) > 0), slide_count)
WHERE slide_count IS NOT NULL
"""


# Plain ALTER TABLE, as 0005 and 0006: a batch operation would rebuild the SQLite table.
def upgrade():
    op.add_column("jobs", sa.Column("appearance_count", sa.Integer(), nullable=True))
    op.execute(_SPLIT)


def downgrade():
    op.execute("UPDATE jobs SET slide_count = appearance_count WHERE appearance_count IS NOT NULL")
    op.drop_column("jobs", "appearance_count")
