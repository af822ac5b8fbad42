"""Bulk inserts for recomputations that rewrite whole tables (statuses, values, risk scores).

SQLAlchemy's executemany builds and type-processes a parameter dictionary per row, which for
100,000 rows costs more than the database's own work. ``insert_columns`` converts each column
once with the column type's own bind processor (so values are stored exactly as the ORM would
store them) and hands the rows to the driver's executemany as positional tuples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from survey_app.extensions import db

#: rows per driver call (bounds memory, and PostgreSQL pipelines each batch)
BATCH = 20_000


def insert_columns(table: sa.Table, columns: Mapping[str, Sequence]) -> int:
    """Insert rows given column by column (``{"customer_id": [...], "status": [...]}``, all of
    one length) on the session's connection, in its transaction. Returns the number of rows."""
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(columns)
    values = []
    for name in names:
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        column = list(columns[name])
        values.append(_processed(column, processor) if processor else column)
    rows = list(zip(*values, strict=True))
    if not rows:
        return 0
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    if not compiled.positional:  # e.g. psycopg's %(name)s: one mapping per row
        rows = [dict(zip(names, row, strict=True)) for row in rows]
    elif compiled.positiontup != names:
        position = [names.index(key) for key in compiled.positiontup]
        rows = [tuple(row[i] for i in position) for row in rows]
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(compiled.string, rows[start : start + BATCH])
    return len(rows)


def _processed(column: list, processor) -> list:
    """The column through its bind processor, once per distinct value (dates and tiers repeat
    across thousands of rows)."""
    done: dict = {}
    out = []
    for value in column:
        try:
            out.append(done[value])
        except KeyError:
            out.append(done.setdefault(value, processor(value)))
        except TypeError:  # unhashable: convert every time
            out.append(processor(value))
    return out
