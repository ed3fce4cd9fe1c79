"""A finished job's warnings (the manifest's `warnings`, e.g. a deck that matches few of the
talk's slides), so the job's answer and the web page can show them without reading the
manifest; null for jobs finished before.

Revision ID: 0006_job_warnings
Revises: 0005_slide_deck_page
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_job_warnings"
down_revision = "0005_slide_deck_page"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as 0005: a batch operation would rebuild the SQLite table.
def upgrade():
    op.add_column("jobs", sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("jobs", "warnings")
