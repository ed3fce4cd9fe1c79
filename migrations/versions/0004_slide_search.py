"""Full-text search over slide text and narration (issue 13): a weighted tsvector column with a
GIN index on PostgreSQL, an FTS5 table kept by triggers on SQLite; and an index for finding a
job by its video's content hash (repeated uploads).

Revision ID: 0004_slide_search
Revises: 0003_api_keys
Create Date: 2026-11-27
"""
from alembic import op

revision = "0004_slide_search"
down_revision = "0003_api_keys"
branch_labels = None
depends_on = None

# Title weighs most, then the slide's text, then what was said (ts_rank's A, B, C).
_PG_VECTOR = ("setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
              "setweight(to_tsvector('english', coalesce(text, '')), 'B') || "
              "setweight(to_tsvector('english', coalesce(transcript, '')), 'C')")

_SQLITE = [
    "CREATE VIRTUAL TABLE slide_search USING fts5(title, text, transcript, content='slides', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER slides_search_insert AFTER INSERT ON slides BEGIN "
    "INSERT INTO slide_search(rowid, title, text, transcript) VALUES (new.id, new.title, new.text, new.transcript); END",
    "CREATE TRIGGER slides_search_delete AFTER DELETE ON slides BEGIN "
    "INSERT INTO slide_search(slide_search, rowid, title, text, transcript) "
    "VALUES ('delete', old.id, old.title, old.text, old.transcript); END",
    "CREATE TRIGGER slides_search_update AFTER UPDATE ON slides BEGIN "
    "INSERT INTO slide_search(slide_search, rowid, title, text, transcript) "
    "VALUES ('delete', old.id, old.title, old.text, old.transcript); "
    "INSERT INTO slide_search(rowid, title, text, transcript) VALUES (new.id, new.title, new.text, new.transcript); END",
    "INSERT INTO slide_search(slide_search) VALUES ('rebuild')",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE slides ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_PG_VECTOR}) STORED")
        op.execute("CREATE INDEX ix_slides_search ON slides USING GIN (search_vector)")
    else:
        for statement in _SQLITE:
            op.execute(statement)
    op.create_index("ix_jobs_video_sha256", "jobs", ["video_sha256"])


def downgrade():
    op.drop_index("ix_jobs_video_sha256", table_name="jobs")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_slides_search")
        op.execute("ALTER TABLE slides DROP COLUMN search_vector")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER slides_search_{name}")
        op.execute("DROP TABLE slide_search")
