"""API keys, and the key that owns each job (issue 12).

Revision ID: 0003_api_keys
Revises: 0002_job_parts
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_api_keys"
down_revision = "0002_job_parts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("key_hash"),
    )
    # No foreign key: SQLite could add one only by copying the jobs table (batch mode), which
    # with foreign keys on would cascade-delete every slide; keys are revoked, never deleted.
    op.add_column("jobs", sa.Column("api_key_id", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_api_key_created", "jobs", ["api_key_id", "created_at"])


def downgrade():
    op.drop_index("ix_jobs_api_key_created", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("api_key_id")
    op.drop_table("api_keys")
