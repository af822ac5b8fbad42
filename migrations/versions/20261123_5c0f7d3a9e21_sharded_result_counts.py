"""Survey result counts split over shards: a key's count may sit in several rows (one per
writing process, up to eight), so concurrent submissions with the same answers stop queuing on
one row's lock. Existing rows become shard 0.

Revision ID: 5c0f7d3a9e21
Revises: 00091d839219
Create Date: 2026-11-23 23:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5c0f7d3a9e21"
down_revision = "00091d839219"
branch_labels = None
depends_on = None

KEY = ["question_id", "item_id", "value_num", "choice", "day", "channel", "segment"]


def upgrade():
    with op.batch_alter_table("survey_result_counts") as batch:
        batch.add_column(sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_survey_result_counts_key", type_="unique")
        batch.create_unique_constraint("uq_survey_result_counts_key", [*KEY, "shard"])


def downgrade():
    # fold the shards back into one row per key before the key loses its shard
    op.execute(
        f"""
        UPDATE survey_result_counts SET count = (
            SELECT sum(other.count) FROM survey_result_counts AS other
            WHERE {" AND ".join(f"other.{c} = survey_result_counts.{c}" for c in KEY)}
        )
        WHERE shard = (
            SELECT min(other.shard) FROM survey_result_counts AS other
            WHERE {" AND ".join(f"other.{c} = survey_result_counts.{c}" for c in KEY)}
        )
        """
    )
    op.execute(
        f"""
        DELETE FROM survey_result_counts WHERE shard > (
            SELECT min(other.shard) FROM survey_result_counts AS other
            WHERE {" AND ".join(f"other.{c} = survey_result_counts.{c}" for c in KEY)}
        )
        """
    )
    with op.batch_alter_table("survey_result_counts") as batch:
        batch.drop_constraint("uq_survey_result_counts_key", type_="unique")
        batch.create_unique_constraint("uq_survey_result_counts_key", KEY)
        batch.drop_column("shard")
