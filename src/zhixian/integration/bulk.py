"""Bulk writes of a load: COPY on PostgreSQL, DBAPI executemany on SQLite, and one-parameter IN lists.

The ORM's per-row bookkeeping costs more than the load itself on a million rows, so batches are
written here, below the ORM, with each value converted by its column type exactly as Core would.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import JSON, ColumnElement, Text, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


class RawJSON(str):
    """A JSON column value already encoded: many rows of a batch share one provenance document."""

    __slots__ = ()


def _scalar_defaults(table: Any, given: dict[str, Any]) -> dict[str, Any]:
    """Column defaults Core would fill for columns the rows leave out (callable defaults are never left out)."""
    return {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in given and not c.primary_key and c.default is not None and c.default.is_scalar
    }


def _sqlite_insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Plain-tuple executemany through the DBAPI, each value converted by its column type's own bind
    processor (the same one Core applies), so what lands on disk is identical to a Core insert."""
    fill = _scalar_defaults(table, rows[0])
    columns = [*rows[0], *fill]
    dialect = conn.dialect
    processors = [
        None if isinstance(rows[0].get(c, fill.get(c)), RawJSON) else _processor(table.c[c].type, dialect)
        for c in columns
    ]
    given = list(rows[0])
    defaults = tuple(fill.values())
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[tuple[Any, ...]] = []
    append = params.append
    for row in rows:
        values = [row[c] for c in given]
        values.extend(defaults)
        for i, proc in active:
            values[i] = proc(values[i])
        append(tuple(values))
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    conn.exec_driver_sql(sql, params)


def _processor(type_: Any, dialect: Any) -> Any:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL, DBAPI executemany elsewhere: the ORM's per-row bookkeeping costs more than the load."""
    table = model.__table__
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, table, rows)
        return
    if conn.dialect.name != "postgresql":
        raw_json = [c for c, v in rows[0].items() if isinstance(v, RawJSON)]
        stmt = table.insert()
        if raw_json:  # bind as text, so the JSON type does not encode it again
            stmt = stmt.values({c: bindparam(c, type_=Text()) for c in raw_json})
        conn.execute(stmt, rows)
        return
    columns = list(rows[0])
    fill = _scalar_defaults(table, rows[0])
    columns += list(fill)
    rows = [row | fill for row in rows] if fill else rows
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c], ensure_ascii=False, default=str)
                    if c in json_cols and row[c] is not None and not isinstance(row[c], RawJSON)
                    else row[c]
                    for c in columns
                ]
            )


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """column IN values, bound as one parameter (a JSON array on SQLite, an array on PostgreSQL): a batch
    of twenty thousand keys compiles and plans like a batch of one."""
    dialect = session.get_bind().dialect.name
    items = list(values)
    if dialect == "sqlite":
        table = func.json_each(
            bindparam("among", json.dumps(items, default=str), type_=Text(), unique=True)
        ).table_valued("value")
        clause: ColumnElement[bool] = column.in_(select(table.c.value))
    elif dialect == "postgresql":
        clause = column == any_(bindparam("among", items, type_=ARRAY(column.type), unique=True))
    else:
        clause = column.in_(items)
    return clause
