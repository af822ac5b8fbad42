"""Trigram indexes for the staff list's text search on PostgreSQL (the pg_trgm extension, one
GIN index per searched column), so a search in 100,000 complaints stops reading every row.
SQLite gets nothing.

The extension is created if missing. That needs the right to create it in the database (pg_trgm
is a trusted extension: the database's owner has it); where the application's database user
lacks it, a superuser runs ``CREATE EXTENSION pg_trgm`` in the database once, before the
upgrade (docs/operations.md).

Revision ID: 5de3883f82a4
Revises: 5c0f7d3a9e21
Create Date: 2026-12-06 10:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "5de3883f82a4"
down_revision = "5c0f7d3a9e21"
branch_labels = None
depends_on = None

COLUMNS = ("contact_name", "contact_email", "contact_phone", "order_ref", "description")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.create_index(
            f"ix_complaints_search_{column}",
            "complaints",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.drop_index(f"ix_complaints_search_{column}", table_name="complaints")
