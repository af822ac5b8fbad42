"""Shared jobs and stored churn analyses: one job table for every kind of queued computation
(the index's jobs move there from index_jobs), and the churn analysis page's figures stored at
each recompute.

Revision ID: 00091d839219
Revises: 19f372071c69
Create Date: 2026-11-23 18:22:19.891522

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "00091d839219"
down_revision = "19f372071c69"
branch_labels = None
depends_on = None

JOB_STATUS = sa.Enum(
    "queued", "running", "done", "failed", name="jobstatus", native_enum=False, length=20
)
#: the columns index_jobs and jobs share (the ids are renumbered: nothing refers to them)
COMMON = "status, requested_by_id, requested_at, started_at, finished_at, done, total, message"


def _job_columns():
    return [
        sa.Column("status", JOB_STATUS, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    ]


def upgrade():
    op.create_table(
        "churn_analyses",
        sa.Column("group_by", sa.String(length=10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("group_by", name=op.f("pk_churn_analyses")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        *_job_columns(),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_jobs_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_kind_status", ["kind", "status"], unique=False)
    op.execute(
        f"INSERT INTO jobs (kind, {COMMON}) SELECT 'index', {COMMON} FROM index_jobs ORDER BY id"
    )
    op.drop_table("index_jobs")


def downgrade():
    op.create_table(
        "index_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        *_job_columns(),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_index_jobs_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_jobs")),
    )
    op.execute(
        f"INSERT INTO index_jobs ({COMMON}) SELECT {COMMON} FROM jobs "
        "WHERE kind = 'index' ORDER BY id"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_kind_status")
    op.drop_table("jobs")
    op.drop_table("churn_analyses")
