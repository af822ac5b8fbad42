"""Inserts that skip the ORM's per-row bookkeeping where it costs more than the database.

``insert_columns``: bulk inserts for recomputations that rewrite whole tables (statuses, values,
risk scores). SQLAlchemy's executemany builds and type-processes a parameter dictionary per row,
which for 100,000 rows costs more than the database's own work; it converts each column once
with the column type's own bind processor (so values are stored exactly as the ORM would store
them) and hands the rows to the driver as positional tuples: SQLite's executemany, PostgreSQL's
``COPY ... FROM STDIN``.

``insert_one``: one new object on the hot write paths (a complaint, a survey response), written
with a single ``INSERT ... RETURNING`` instead of a unit-of-work flush.

``insert_values``: a few rows (a response's answers, its result counts) in one multi-row
``INSERT ... VALUES`` per table; with ``insert_one``, on PostgreSQL, in its one statement."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import NamedTuple

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
    if dialect.name == "postgresql":
        return _copy_rows(connection, table, names, rows)
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    if not compiled.positional:  # e.g. psycopg's %(name)s: one mapping per row
        rows = [dict(zip(names, row, strict=True)) for row in rows]
    elif compiled.positiontup != names:
        position = [names.index(key) for key in compiled.positiontup]
        rows = [tuple(row[i] for i in position) for row in rows]
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(compiled.string, rows[start : start + BATCH])
    return len(rows)


def _copy_rows(connection: sa.Connection, table: sa.Table, names: list[str], rows: list) -> int:
    """PostgreSQL: ``rows`` (converted values, in the order of ``names``) through ``COPY ...
    FROM STDIN`` on the connection's driver connection, in its transaction. psycopg's
    executemany sends a statement per row, with about 40 µs of Python each: at 100,000
    customers the churn recompute's three tables of rows took 11 s that way."""
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(table.c[name].name) for name in names)
    sql = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
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


def insert_one(
    obj, *writes: Rows, guard: Guard | None = None, source: Source | None = None
) -> None:
    """Write a new mapped object now and put it in the session as persistent, as
    ``session.add(obj); session.flush()`` would, with one ``INSERT ... RETURNING`` of its row
    and none of the unit of work's bookkeeping (which costs more than the INSERT for a row of
    thirty columns). Column defaults apply as in a flush and the columns it did not set are read
    back, so the object is fully loaded; a version counter starts at 1.

    ``writes`` are written with it, as ``insert_values`` writes them; a write's ``parent``
    column takes the new object's id (a complaint's first event, a response's answers).

    Nothing at all is written, and ``NotWritten`` raised, when ``guard`` (an ``UPDATE``, run
    first) changes no row, or when ``source`` (some columns taken from a query, see ``Source``)
    finds no row or its row would break a unique key.

    On PostgreSQL all of it is one statement: one round trip, atomic by itself (so it may run
    in autocommit, ``autocommit_one_write``). For plain rows only: no pending objects the row
    depends on, no relationship to cascade (set foreign key columns, not relationships), no
    ``before_insert`` events."""
    if guard is not None and source is not None:
        raise ValueError("insert_one takes a guard or a source, not both")
    state, layout, values = _new_row(obj)
    mapper = state.mapper
    writes = tuple(w for w in writes if w.rows)
    session = db.session()  # looked up once: each lookup goes through the scoped registry
    connection = session.connection()
    # the INSERTs written as SQL text apply the Python column defaults given here
    filled = _with_defaults(layout, values) if writes or guard else None
    if source is not None:
        filled = _with_all_defaults(layout, values)
        from_query = source.names
        values = {k: v for k, v in values.items() if k not in from_query}
        filled = {k: v for k, v in filled.items() if k not in from_query}
    together = filled is not None and _together_fits(connection, writes)
    written = filled if together or source is not None else values  # what the INSERT sets
    given = frozenset(written)
    fetched = source.names if source is not None else frozenset()
    if together:
        row = _run_together(connection, writes, guard, source, mapper, given, filled)
    else:
        if leave_autocommit(session):  # several statements: one transaction again
            connection = session.connection()
        claim = _guard(guard.sql, guard.binds) if guard is not None else None
        if claim is not None and not _execute(connection, claim, guard.params, rows=True):
            raise NotWritten
        if source is not None:
            statement = _source_insert(mapper, given, source.shape)
            row = _execute(connection, statement, _parent_params(filled) | source.params, rows=True)
        else:
            row = connection.execute(_insert_returning(mapper, given), values).one()
        if row is not None and writes:
            new_id = row[_returned(mapper, given, fetched).index(layout.primary_key)]
            _insert_values(connection, [_with_parent(w, new_id) for w in writes])
    if row is None:
        raise NotWritten
    # The object as loaded: the defaults filled in and the columns left NULL (known, not read
    # back) and the columns the INSERT returned, committed as loaded values by
    # ``make_transient_to_detached``.
    loaded = state.dict
    attribute = layout.attribute
    for key in written.keys() - values.keys():
        loaded[attribute[key]] = written[key]
    for key in layout.nulls - given - fetched:
        loaded[attribute[key]] = None
    for key, value in zip(_returned(mapper, given, fetched), row, strict=True):
        loaded[attribute[key]] = value
    sa.orm.make_transient_to_detached(obj)
    session.add(obj)
    # A flushed object leaves the session when its transaction is rolled back; this one came in
    # as already persistent, so that is done here (``_forget_rolled_back``).
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_INSERTED, []).append((obj, transaction))


class NotWritten(Exception):
    """``insert_one`` wrote nothing: its guard changed no row, or its ``source`` query found no
    row, or that row conflicted with a unique key."""


class Source(NamedTuple):
    """Columns ``insert_one`` takes from a query rather than from the object: it writes
    ``INSERT INTO t (<the object's columns>, <names>) SELECT <its values>, <expressions>
    <query> ON CONFLICT DO NOTHING``. ``columns`` pairs each column name with its SQL
    expression; ``query`` is the ``FROM ... WHERE ...`` part (our own SQL text; every value is
    bound, with ``binds`` naming the parameters and their types and ``params`` their values).
    Used to write a row only when what it refers to is still there: a complaint's category,
    open to complaints, and the queue the category is routed to."""

    columns: tuple[tuple[str, str], ...]
    query: str
    binds: tuple[tuple[str, sa.types.TypeEngine], ...]
    params: Mapping

    @property
    def names(self) -> frozenset:
        return frozenset(name for name, _expression in self.columns)

    @property
    def shape(self) -> tuple:
        return (self.columns, self.query, self.binds)


class Guard(NamedTuple):
    """An ``UPDATE ... RETURNING 1`` (SQL text, the names and types of its parameters, their
    values) that ``insert_one`` runs before it writes: a claim that fails when somebody else
    made it first, and then nothing is written."""

    sql: str
    binds: tuple[tuple[str, sa.types.TypeEngine], ...]
    params: Mapping


_AUTOCOMMIT = "bulk.autocommit"


def autocommit_one_write() -> None:
    """For a request whose writes are one statement (``insert_one`` on PostgreSQL): run the
    session's statements in autocommit, saving the ``BEGIN`` and ``COMMIT`` round trips; the one
    statement is atomic by itself. Call it before the session's first statement; afterwards, or
    on SQLite (whose writes take several statements), it changes nothing. The connection's
    usual isolation comes back when the session's transaction ends, or at
    ``leave_autocommit``."""
    if db.engine.dialect.name != "postgresql":
        return
    session = db.session()
    if session.in_transaction():
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_AUTOCOMMIT] = session.get_transaction()


def leave_autocommit(session: sa.orm.Session | None = None) -> bool:
    """Make what the session runs next one transaction again, when ``autocommit_one_write``
    made it autocommit: for a request that turns out to write more than one statement. Call it
    before the request's first write (changes still pending in the session would be flushed in
    autocommit). What the session loaded stays loaded. Returns whether it was in autocommit."""
    if session is None:
        session = db.session()
    transaction = session.info.pop(_AUTOCOMMIT, None)
    if transaction is None or transaction is not session.get_transaction():
        return False
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()  # nothing to commit on the server: ends the autocommit connection's use
    finally:
        session.expire_on_commit = expire
    return True


class _Layout(NamedTuple):
    """What ``insert_one`` needs to know of a mapped class, worked out once per class."""

    table: sa.Table
    #: column key -> attribute key, for every column attribute
    attribute: Mapping[str, str]
    #: attribute key -> column key, the other way round
    column: Mapping[str, str]
    relationships: frozenset
    #: the version counter's attribute key, or ""
    version: str
    #: the primary key's column key
    primary_key: str
    #: (column key, Python default, whether it is called) of the columns with a default;
    #: whether-called is None for a default that is neither a value nor a function (a
    #: sequence, an SQL expression), which ``_with_defaults`` cannot apply
    defaults: tuple[tuple[str, object, bool | None], ...]
    #: the column keys that an INSERT not naming them leaves NULL: nullable, with no default of
    #: any kind (Python or server side, computed, identity) and not the primary key
    nulls: frozenset


@functools.cache
def _layout(mapper: sa.orm.Mapper) -> _Layout:
    table = mapper.local_table
    defaults = []
    for column in table.c:
        default = column.default
        if default is None:
            continue
        if default.is_scalar or default.is_callable:
            defaults.append((column.key, default.arg, default.is_callable))
        else:
            defaults.append((column.key, None, None))
    attribute = {prop.columns[0].key: prop.key for prop in mapper.column_attrs}
    return _Layout(
        table=table,
        attribute=attribute,
        column={key: column for column, key in attribute.items()},
        relationships=frozenset(rel.key for rel in mapper.relationships),
        version=(
            mapper.get_property_by_column(mapper.version_id_col).key
            if mapper.version_id_col is not None
            else ""
        ),
        primary_key=mapper.primary_key[0].key,
        defaults=tuple(defaults),
        nulls=frozenset(
            column.key
            for column in table.c
            if column.nullable
            and not column.primary_key
            and column.default is None
            and column.server_default is None
            and column.computed is None
            and column.identity is None
        ),
    )


def _new_row(obj) -> tuple[sa.orm.InstanceState, _Layout, dict]:
    """A new object's state, its class's layout and its column values."""
    state = sa.inspect(obj)
    layout = _layout(state.mapper)
    loaded = state.dict
    if not state.transient or not layout.relationships.isdisjoint(loaded):
        raise ValueError("insert_one takes a new object with its foreign keys, not relationships")
    if layout.version:
        setattr(obj, layout.version, 1)
    return (
        state,
        layout,
        {column: loaded[key] for column, key in layout.attribute.items() if key in loaded},
    )


def row_of(cls: type, values: Mapping) -> dict:
    """A row for ``Rows`` of the mapped class ``cls``, from attribute values: keyed by column,
    with the Python column defaults filled in, as a flush would write ``cls(**values)``
    (without making that object: for a row written only as a row, such as a complaint's first
    timeline event)."""
    layout = _layout(sa.inspect(cls))
    column = layout.column
    return _with_all_defaults(layout, {column[key]: value for key, value in values.items()})


def _with_all_defaults(layout: _Layout, values: dict) -> dict:
    """``_with_defaults``, for an INSERT that must apply every default itself."""
    filled = _with_defaults(layout, values)
    if filled is None:
        raise ValueError(f"{layout.table.name}: a column default is not a value")
    return filled


def _with_defaults(layout: _Layout, values: dict) -> dict | None:
    """``values`` with the Python-side defaults of the columns it lacks, as an INSERT through
    SQLAlchemy adds them; None when a default is neither a value nor a function (a sequence,
    an SQL expression)."""
    filled = dict(values)
    for key, default, called in layout.defaults:
        if key in filled:
            continue
        if called is None:
            return None
        filled[key] = default(None) if called else default
    return filled


def _with_parent(write: Rows, parent_id) -> Rows:
    if not write.parent:
        return write
    rows = [{**row, write.parent: parent_id} for row in write.rows]
    return write._replace(rows=rows, parent="")


_INSERTED = "bulk.insert_one"


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _forget_rolled_back(session: sa.orm.Session, previous_transaction) -> None:
    """Expunge the objects ``insert_one`` wrote in the rolled-back transaction (or in one nested
    in it): their rows are gone, and a new row may take their ids."""
    inserted = session.info.get(_INSERTED)
    if not inserted:
        return
    kept = []
    for obj, written_in in inserted:
        transaction = written_in
        while transaction is not None and transaction is not previous_transaction:
            transaction = transaction.parent
        if transaction is None:
            kept.append((obj, written_in))
        elif obj in session:
            session.expunge(obj)
    session.info[_INSERTED] = kept


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _forget_committed(session: sa.orm.Session) -> None:
    session.info.pop(_INSERTED, None)


@functools.lru_cache(maxsize=128)
def _returned(
    mapper: sa.orm.Mapper, given: frozenset, fetched: frozenset = frozenset()
) -> tuple[str, ...]:
    """The keys of the columns not in ``given`` whose values an INSERT returns, in the mapper's
    order: the key, the defaults and the columns ``fetched`` from a ``Source``; not the columns
    it leaves NULL (``_Layout.nulls``)."""
    layout = _layout(mapper)
    return tuple(
        key
        for key in layout.attribute
        if key not in given and (key in fetched or key not in layout.nulls)
    )


def _returned_columns(
    mapper: sa.orm.Mapper, given: frozenset, fetched: frozenset = frozenset()
) -> list[sa.Column]:
    return [mapper.local_table.c[key] for key in _returned(mapper, given, fetched)]


@functools.lru_cache(maxsize=128)
def _insert_returning(mapper: sa.orm.Mapper, given: frozenset) -> sa.Insert:
    """``INSERT ... RETURNING`` the columns not ``given``; one statement object per table and
    set of columns, so SQLAlchemy finds its compiled form in its cache."""
    return mapper.local_table.insert().returning(*_returned_columns(mapper, given))


def _parent_params(values: Mapping) -> dict:
    return {f"p_{k}": v for k, v in values.items()}


def _parent_insert(
    mapper: sa.orm.Mapper, given: frozenset, source: tuple | None, after_guard: bool = False
) -> tuple:
    """The ``INSERT ... RETURNING`` of ``insert_one``'s row as SQL text: its SQL, bind
    parameters (the values are ``p_<column>``) and the columns it returns (those not given).
    With a ``Source`` shape it is an ``INSERT ... SELECT`` from the source's query; after a
    guard (``WITH guard AS (...)``), one that writes nothing unless the guard changed a row."""
    table = mapper.local_table
    names = sorted(given)
    # a source's (column name, SQL expression) pairs, its FROM ... WHERE ... and its binds
    columns, query, source_binds = source if source is not None else ((), "", ())
    returned = _returned_columns(mapper, given, frozenset(name for name, _sql in columns))
    binds = [sa.bindparam(f"p_{name}", type_=table.c[name].type) for name in names]
    cells = [f":p_{name}" for name in names]
    # our own table and column names only; every value is bound
    if source is not None:
        names += [name for name, _expression in columns]
        cells += [expression for _name, expression in columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
            f"SELECT {', '.join(cells)} {query} ON CONFLICT DO NOTHING"
        )
        binds += [sa.bindparam(name, type_=type_) for name, type_ in source_binds]
    elif after_guard:
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(cells)} FROM guard"  # noqa: S608
    else:
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(cells)})"  # noqa: S608
    sql += f" RETURNING {', '.join(column.name for column in returned)}"
    return sql, binds, returned


@functools.lru_cache(maxsize=128)
def _source_insert(mapper: sa.orm.Mapper, given: frozenset, source: tuple) -> sa.TextClause:
    """``insert_one``'s statement with a ``Source``, alone (``_parent_insert``)."""
    sql, binds, returned = _parent_insert(mapper, given, source)
    return sa.text(sql).bindparams(*binds).columns(*returned)


@functools.lru_cache(maxsize=128)
def _guard(sql: str, binds: tuple) -> sa.TextClause:
    return sa.text(sql).bindparams(*(sa.bindparam(n, type_=t) for n, t in binds))


class _Prepared(NamedTuple):
    """One of this module's SQL text statements as its driver runs it, worked out once per
    statement and dialect: the SQL in the driver's parameter style, the bound parameters' names
    in the driver's order, each one's bind processor (the conversion SQLAlchemy applies to a
    value of the parameter's type, or None) and each returned column's result processor."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    binds: tuple
    results: tuple


@functools.lru_cache(maxsize=256)
def _prepared(clause: sa.TextClause, dialect: sa.engine.Dialect) -> _Prepared:
    compiled = clause.compile(dialect=dialect)
    if compiled.escaped_bind_names:  # not for the plain names this module gives
        raise ValueError(f"bind names the driver cannot take: {compiled.escaped_bind_names}")
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    return _Prepared(
        sql=compiled.string,
        names=names,
        positional=compiled.positional,
        binds=tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        ),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(clause, "selected_columns", ())
        ),
    )


def _execute(connection: sa.Connection, clause: sa.TextClause, params: Mapping, rows=False):
    """Run one of this module's statements on ``connection`` with ``exec_driver_sql``:
    SQLAlchemy's execution with its events, transaction and error handling, but without
    looking the statement up in the compiled cache and building and converting its parameters
    through the compiled form on every call, which for a row of thirty columns cost more than
    SQLite's own work. Values are converted by their types' processors (``_Prepared``), as
    ``connection.execute`` converts them. With ``rows``, returns the first row returned (None
    if none), its values converted."""
    prepared = _prepared(clause, connection.dialect)
    values = [
        params[name] if convert is None else convert(params[name])
        for name, convert in zip(prepared.names, prepared.binds, strict=True)
    ]
    args = tuple(values) if prepared.positional else dict(zip(prepared.names, values, strict=True))
    result = connection.exec_driver_sql(prepared.sql, args)
    if not rows:
        return None
    row = result.first()
    if row is None or not prepared.results:
        return row
    return tuple(
        value if convert is None else convert(value)
        for convert, value in zip(prepared.results, row, strict=True)
    )


#: bound parameters per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535)
PARAMETERS = 30_000


class Rows(NamedTuple):
    """Rows for ``insert_values``: mappings of ``columns``, an optional ``ON CONFLICT`` clause
    (SQLite and PostgreSQL say it alike), and for ``insert_one`` the column that takes the id of
    the object it writes (``parent``). Rows carry every column they need: these INSERTs apply
    no model defaults (``row_of`` fills them in)."""

    table: sa.Table
    columns: tuple[str, ...]
    rows: Sequence[Mapping]
    on_conflict: str = ""
    parent: str = ""


def insert_values(*writes: Rows) -> None:
    """Insert rows with one multi-row ``INSERT ... VALUES (...), (...)`` per table and batch
    (psycopg's executemany sends a statement per row), on the session's connection. Statements
    are cached per shape (SQLAlchemy does not cache multi-row ``values()``)."""
    _insert_values(db.session.connection(), writes)


def _insert_values(connection: sa.Connection, writes) -> None:
    for write in writes:
        per_batch = max(PARAMETERS // len(write.columns), 1)
        for start in range(0, len(write.rows), per_batch):
            part = write._replace(rows=write.rows[start : start + per_batch])
            _execute(connection, _values_insert(_shape(part)), _params(part, "w0_"))


@functools.lru_cache(maxsize=128)
def _values_insert(shape: tuple) -> sa.TextClause:
    sql, binds = _rows_insert(shape, "w0_", "", gated=False)
    return sa.text(sql[0]).bindparams(*binds)


def _together_fits(connection, writes: tuple[Rows, ...]) -> bool:
    """Whether ``insert_one``'s writes go in one statement: on PostgreSQL, within the parameter
    limit."""
    return (
        connection.dialect.name == "postgresql"
        and sum(len(w.rows) * len(w.columns) for w in writes) <= PARAMETERS
    )


def _run_together(connection, writes, guard, source, mapper, given, values):
    """Run ``insert_one``'s row (``mapper``, its column ``values``, whose keys are ``given``,
    and ``source``), its ``writes`` and ``guard`` as one statement (``_statement``); returns its
    row (``_execute``)."""
    params = dict(guard.params) if guard else {}
    params |= _parent_params(values)
    if source is not None:
        params |= source.params
    for k, write in enumerate(writes):
        params |= _params(write, f"w{k}_")
    statement = _statement(
        tuple(_shape(w) for w in writes),
        (guard.sql, guard.binds) if guard else None,
        (mapper, given, source.shape if source else None),
    )
    return _execute(connection, statement, params, rows=True)


def _shape(write: Rows) -> tuple:
    return (write.table, write.columns, len(write.rows), write.on_conflict, write.parent)


def _params(write: Rows, prefix: str) -> dict:
    return {
        f"{prefix}{column}_{i}": row[column]
        for i, row in enumerate(write.rows)
        for column in write.columns
        if column != write.parent
    }


def _rows_insert(shape: tuple, prefix: str, parent_id: str, gated: bool) -> tuple[list, list]:
    """The INSERTs of one ``Rows`` shape as SQL text, and their bind parameters: one multi-row
    ``INSERT ... VALUES``, or when ``gated``, one ``INSERT ... SELECT ... FROM parent`` per row
    (which writes nothing when the parent row was not written). ``parent_id`` is the SQL of the
    parent's id, for the parent column."""
    table, columns, n, on_conflict, parent_column = shape
    rows = [
        ", ".join(
            parent_id if column == parent_column else f":{prefix}{column}_{i}" for column in columns
        )
        for i in range(n)
    ]
    # our own table and column names only; every value is bound
    into = f"INSERT INTO {table.name} ({', '.join(columns)})"
    if gated:
        sql = [f"{into} SELECT {row} FROM parent {on_conflict}".rstrip() for row in rows]  # noqa: S608
    else:
        values = ", ".join(f"({row})" for row in rows)
        sql = [f"{into} VALUES {values} {on_conflict}".rstrip()]
    binds = [
        sa.bindparam(f"{prefix}{column}_{i}", type_=table.c[column].type)
        for i in range(n)
        for column in columns
        if column != parent_column
    ]
    return sql, binds


@functools.lru_cache(maxsize=128)
def _statement(shape: tuple, guard: tuple | None, parent: tuple) -> sa.TextClause:
    """``insert_one``'s one statement, with data-modifying ``WITH`` clauses: the guard's
    UPDATE first (``guard``: its SQL and bind parameters), then the row (``parent``: its
    mapper, the columns given and a ``Source`` shape or None), then the inserts of ``shape``
    (tables, columns, numbers of rows, conflict clauses, parent columns), whose parent columns
    take the row's id. Returns the columns not given, or no row when nothing was written (the
    guard changed no row, or the source wrote no row)."""
    mapper, given, source = parent
    clauses = []
    binds = []
    if guard is not None:
        guard_sql, guard_binds = guard
        clauses.append(f"guard AS ({guard_sql})")
        binds += [sa.bindparam(name, type_=type_) for name, type_ in guard_binds]
    sql, parent_binds, returned = _parent_insert(mapper, given, source, guard is not None)
    clauses.append(f"parent AS ({sql})")
    binds += parent_binds
    key = mapper.primary_key[0].name
    gated = guard is not None or source is not None  # the row may not be written
    parent_id = f"parent.{key}" if gated else f"(SELECT {key} FROM parent)"  # noqa: S608
    inserts = []
    for k, write in enumerate(shape):
        sql, write_binds = _rows_insert(write, f"w{k}_", parent_id, gated)
        inserts += sql
        binds += write_binds
    clauses += [f"w{k} AS ({insert})" for k, insert in enumerate(inserts)]
    columns = ", ".join("parent." + column.name for column in returned)
    sql = f"WITH {', '.join(clauses)} SELECT {columns} FROM parent"  # noqa: S608
    return sa.text(sql).bindparams(*binds).columns(*returned)
