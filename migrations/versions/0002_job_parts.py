"""Job parts: which steps of a job's task graph have finished (issue 5).

Revision ID: 0002_job_parts
Revises: 0001_jobs
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_job_parts"
down_revision = "0001_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_parts",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name"),
    )
    # Stale-heartbeat and retention sweeps (maintenance.py) look jobs up by these.
    op.create_index("ix_jobs_status_heartbeat", "jobs", ["status", "heartbeat_at"])
    op.create_index("ix_jobs_finished", "jobs", ["finished_at"])


def downgrade():
    op.drop_index("ix_jobs_finished", table_name="jobs")
    op.drop_index("ix_jobs_status_heartbeat", table_name="jobs")
    op.drop_table("job_parts")
