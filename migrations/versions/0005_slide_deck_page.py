"""The deck page each slide appearance was aligned to (issue 15), so the slide listing and the
web page can show it without reading the manifest; null when no deck was sent or the screen
showed no page of it.

Revision ID: 0005_slide_deck_page
Revises: 0004_slide_search
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_slide_deck_page"
down_revision = "0004_slide_search"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has ADD and DROP COLUMN since 3.35): a batch
# operation would rebuild the SQLite table and lose the search triggers of 0004.
def upgrade():
    op.add_column("slides", sa.Column("deck_page", sa.Integer(), nullable=True))


def downgrade():
    op.drop_column("slides", "deck_page")
