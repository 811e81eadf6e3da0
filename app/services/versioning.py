"""Helpers for transaction-time tables: read as of a transaction, retire rows."""

import json
from typing import Any

import psycopg
from sqlalchemy import JSON, ColumnElement, and_, any_, insert, literal, or_, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def current_or_at(model: Any, cut: int | ColumnElement[int] | None) -> ColumnElement[bool]:
    """Rows believed now (cut None) or at the end of transaction `cut` (a number, or a bound parameter)."""
    if cut is None:
        return model.sys_to.is_(None)
    return and_(model.sys_from <= cut, or_(model.sys_to.is_(None), model.sys_to > cut))


def among(session: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)`: one parameter, so that neither SQLAlchemy nor the driver
    renders and re-parses a statement of hundreds of placeholders (3 ms a statement in an import's batch: bench F24)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def retire(session: Session, model: Any, row_ids: list[int], txn_id: int) -> None:
    """End the belief in these rows at `txn_id` (they stay readable for earlier moments)."""
    if row_ids:
        session.execute(update(model).where(model.id.in_(row_ids)).values(sys_to=txn_id))


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in one go: COPY on PostgreSQL, one executemany on SQLite (Core, not the ORM's unit of work).

    The ORM's bulk insert leaves out None values and so splits the rows into one statement per shape
    (one per row, in practice): bench F1.
    """
    if not rows:
        return
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), _uniform(rows))
        return
    cols = _columns(rows)  # a row without a column writes NULL there
    json_at = [i for i, c in enumerate(cols) if isinstance(table.columns[c].type, JSON)]
    names = ", ".join(f'"{c}"' for c in cols)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    cursor = session.connection().connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                values = [row.get(c) for c in cols]
                for i in json_at:
                    if values[i] is not None:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                copy.write_row(values)
    except psycopg.Error as exc:  # raised by the driver, not SQLAlchemy: wrapped as SQLAlchemy would have (IntegrityError...)
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    finally:
        cursor.close()


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Every column any of the rows names (the first row's order, then the others')."""
    first = rows[0].keys()
    if all(r.keys() == first for r in rows):
        return list(first)
    return list(dict.fromkeys(k for r in rows for k in r))


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same keys (a multi-row INSERT needs one shape); missing columns are NULL."""
    keys = _columns(rows)
    if len(keys) == len(rows[0]) and all(len(r) == len(keys) for r in rows):
        return rows
    return [{k: r.get(k) for k in keys} for r in rows]


def next_ids(session: Session, table: str, column: str, n: int) -> list[int]:
    """`n` fresh values of a table's integer key, taken under the write lock (so no other writer takes them)."""
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:t, :c)) FROM generate_series(1, :n)"),
                                      {"t": table, "c": column, "n": n}))
    top = session.scalar(text(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"')) or 0  # noqa: S608 - fixed names
    return list(range(top + 1, top + 1 + n))
