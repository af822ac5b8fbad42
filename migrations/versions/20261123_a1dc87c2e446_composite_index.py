"""Composite satisfaction index: component weights and their change history, stored index values
per period and group with their inputs, and recomputation jobs.

Revision ID: a1dc87c2e446
Revises: 2e46e38670f7
Create Date: 2026-11-23 16:51:12.870571

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a1dc87c2e446"
down_revision = "2e46e38670f7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "index_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weight_s", sa.Float(), nullable=False),
        sa.Column("weight_c", sa.Float(), nullable=False),
        sa.Column("weight_r", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_settings")),
    )
    op.create_table(
        "index_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("granularity", sa.String(length=7), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("group_kind", sa.String(length=10), nullable=False),
        sa.Column("group_value", sa.String(length=60), nullable=False),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.Column("complaint_handling", sa.Float(), nullable=True),
        sa.Column("retention", sa.Float(), nullable=True),
        sa.Column("composite", sa.Float(), nullable=True),
        sa.Column("weight_s", sa.Float(), nullable=False),
        sa.Column("weight_c", sa.Float(), nullable=False),
        sa.Column("weight_r", sa.Float(), nullable=False),
        sa.Column("s_low", sa.Float(), nullable=True),
        sa.Column("s_high", sa.Float(), nullable=True),
        sa.Column("composite_low", sa.Float(), nullable=True),
        sa.Column("composite_high", sa.Float(), nullable=True),
        sa.Column("s_method", sa.String(length=10), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_values")),
        sa.UniqueConstraint(
            "period", "group_kind", "group_value", name=op.f("uq_index_values_period")
        ),
    )
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_values_period"), ["period"], unique=False)

    op.create_table(
        "index_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="jobstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_index_jobs_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_jobs")),
    )
    op.create_table(
        "index_weight_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("old_s", sa.Float(), nullable=False),
        sa.Column("old_c", sa.Float(), nullable=False),
        sa.Column("old_r", sa.Float(), nullable=False),
        sa.Column("new_s", sa.Float(), nullable=False),
        sa.Column("new_c", sa.Float(), nullable=False),
        sa.Column("new_r", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["users.id"],
            name=op.f("fk_index_weight_changes_changed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_weight_changes")),
    )
    with op.batch_alter_table("index_weight_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_index_weight_changes_changed_at"), ["changed_at"], unique=False
        )



def downgrade():
    with op.batch_alter_table("index_weight_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_weight_changes_changed_at"))

    op.drop_table("index_weight_changes")
    op.drop_table("index_jobs")
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_values_period"))

    op.drop_table("index_values")
    op.drop_table("index_settings")
