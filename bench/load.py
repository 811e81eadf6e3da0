"""A bulk loader for benchmark databases: the rows the import API would write, written in bulk.

The HTTP import writes one person per savepoint with ~20 round trips (see docs/benchmarks.md), far too
slow to build a 100k or 1M registry within a benchmark run. This loader validates every line with the
service's own schemas and converts it with the service's own functions (``persons.canonical``,
``person_records.SPECS[...].to_columns``, ``text.fold``, ``period_bounds``), then inserts the same rows
(current versions, transaction-time columns, one ``txn``, the change feed and its units) with
multi-row inserts. ``bench.run`` checks that what it loads reads back exactly like what the API
imports: the export of every person equals the canonical form of its input line.

It reads the app's code; it does not change it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, func, insert, select, text

from app.models import (
    Change,
    ChangeUnit,
    Discipline,
    Employment,
    Membership,
    OrgUnit,
    OrgUnitLanguage,
    OrgUnitParent,
    OrgUnitSuccessor,
    OrgUnitVersion,
    Person,
    PersonVersion,
    Position,
    Qualification,
    Separation,
    Statistic,
    Txn,
)
from app.schemas.interchange import OrgUnitRecord, PersonRecord, StatisticRecord, period_bounds
from app.services import orgunits, persons, statistics
from app.services.person_records import SPECS
from app.services.text import fold

BATCH = 2000
ID_TABLES = (OrgUnit, OrgUnitVersion, OrgUnitParent, OrgUnitSuccessor, OrgUnitLanguage, Person, PersonVersion, Employment,
             Position, Membership, Qualification, Separation, Discipline, Statistic)
ORDER = (*ID_TABLES, Change, ChangeUnit)  # parents first


class Ids:
    """Next free id of each table (ids are given explicitly, sequences are moved past them at the end)."""

    def __init__(self, conn: Connection):
        self.next: dict[str, int] = {}
        for model in ID_TABLES:
            self.next[model.__tablename__] = int(conn.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
        self.next["change"] = int(conn.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0) + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _txn(conn: Connection, note: str) -> int:
    return int(conn.execute(insert(Txn).values(at=datetime.now(UTC), actor="bench-loader", source="import",
                                               request_id=None, note=note).returning(Txn.id)).scalar_one())


def _unit_ids(conn: Connection) -> dict[str, int]:
    return {row.code: row.id for row in conn.execute(select(OrgUnit.code, OrgUnit.id))}


def _flush(conn: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Write and clear the buffered rows, parents first: COPY on PostgreSQL, executemany on SQLite."""
    for model in ORDER:
        batch = rows.get(model.__tablename__)
        if not batch:
            continue
        if conn.dialect.name == "postgresql" and model is not Change:
            columns = list(batch[0])
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            # foreign-key triggers off for this transaction (superuser): the rows were checked above
            cursor.execute("SET LOCAL session_replication_role = replica")
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f'COPY "{model.__tablename__}" ({names}) FROM STDIN') as copy:
                for row in batch:
                    copy.write_row([row[c] for c in columns])
        else:
            conn.execute(insert(model), batch)
        batch.clear()


def _fix_sequences(conn: Connection, ids: Ids) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table, nxt in ids.next.items():
        column = "seq" if table == "change" else "id"
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), :v, false)"), {"v": nxt})


def _change(rows: dict[str, list[dict[str, Any]]], ids: Ids, txn: int, entity: str, key: str, record: dict[str, Any],
            unit_ids: Iterable[int]) -> None:
    seq = ids.take("change")
    rows["change"].append({"seq": seq, "txn_id": txn, "entity": entity, "key": key, "op": "create", "record": record})
    rows["change_unit"].extend({"change_seq": seq, "org_unit_id": uid} for uid in sorted(set(unit_ids)))


def _rows() -> dict[str, list[dict[str, Any]]]:
    return {m.__tablename__: [] for m in ORDER}


def load_org_units(conn: Connection, path: Path, start: int = 0) -> int:
    """The org units of the file from line `start` on (parents may come after children: codes get ids first)."""
    lines = [line for line in path.read_bytes().splitlines() if line.strip()][start:]
    records = [OrgUnitRecord.model_validate_json(line) for line in lines]
    ids, txn, rows = Ids(conn), _txn(conn, f"bench load {path.name}"), _rows()
    known = _unit_ids(conn)
    for rec in records:
        uid = ids.take("org_unit")
        known[rec.code] = uid
        rows["org_unit"].append({"id": uid, "code": rec.code, "rev": 1})
    for rec in records:
        uid = known[rec.code]
        rows["org_unit_version"].append({
            "id": ids.take("org_unit_version"), "org_unit_id": uid, "name": rec.name, "name_search": fold(rec.name),
            "kind": rec.kind, "tier": rec.tier, "sector": rec.sector, "ethnic_contact": rec.ethnic_contact,
            "valid_from": rec.valid_from, "valid_to": rec.valid_to, "sys_from": txn, "sys_to": None})
        for link in sorted(rec.parents, key=lambda p: (p.start, p.code)):
            rows["org_unit_parent"].append({"id": ids.take("org_unit_parent"), "org_unit_id": uid,
                                            "parent_id": known[link.code], "start_date": link.start,
                                            "end_date": link.end, "sys_from": txn, "sys_to": None})
        rows["org_unit_successor"].extend({"id": ids.take("org_unit_successor"), "org_unit_id": uid, "successor_id": sid,
                                           "sys_from": txn, "sys_to": None}
                                          for sid in sorted(known[c] for c in rec.successors))
        rows["org_unit_language"].extend({"id": ids.take("org_unit_language"), "org_unit_id": uid, "language": lang,
                                          "sys_from": txn, "sys_to": None} for lang in sorted(rec.local_languages))
        _change(rows, ids, txn, "org_unit", rec.code, orgunits.canonical(rec),
                {uid} | {known[p.code] for p in rec.parents} | {known[c] for c in rec.successors})
    _flush(conn, rows)
    _fix_sequences(conn, ids)
    return len(records)


def load_statistics(conn: Connection, path: Path, stop: int | None = None) -> int:
    """The statistics of lines [0, stop)."""
    ids, txn, rows, units, n = Ids(conn), _txn(conn, f"bench load {path.name}"), _rows(), _unit_ids(conn), 0
    for line in path.read_bytes().splitlines()[:stop]:
        if not line.strip():
            continue
        rec = StatisticRecord.model_validate_json(line)
        start, end = period_bounds(rec.period)
        uid = units[rec.org_unit]
        rows["statistic"].append({"id": ids.take("statistic"), "code": rec.code, "org_unit_id": uid, "period": rec.period,
                                  "period_start": start, "period_end": end, "value": float(rec.value),
                                  "source": rec.source, "sys_from": txn, "sys_to": None})
        new = statistics.canonical(rec)
        _change(rows, ids, txn, "statistic", statistics.key(new), new, {uid})
        n += 1
    _flush(conn, rows)
    _fix_sequences(conn, ids)
    return n


def person_lines(path: Path, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Lines [start, stop) of a JSON Lines file, streamed."""
    with path.open("rb") as f:
        for i, line in enumerate(f):
            if stop is not None and i >= stop:
                return
            if i >= start and line.strip():
                yield line


def load_persons(conn_factory: Any, path: Path, start: int = 0, stop: int | None = None,
                 commit_every: int = 20000, with_changes: bool = False) -> int:
    """Persons of lines [start, stop), committed every `commit_every` persons; returns how many.

    The change feed (one `change` row per person with its canonical record) is written only when asked:
    it is what costs most here, and no benchmarked read uses it.
    """
    with conn_factory() as conn:
        units = _unit_ids(conn)
        ids = Ids(conn)
        txn = _txn(conn, f"bench load {path.name}[{start}:{stop}]")
        conn.commit()
    rows, n, conn = _rows(), 0, conn_factory()
    try:
        for line in person_lines(path, start, stop):
            _person_rows(rows, ids, txn, units, PersonRecord.model_validate_json(line), with_changes)
            n += 1
            if n % BATCH == 0:
                _flush(conn, rows)
            if n % commit_every == 0:
                conn.commit()
        _flush(conn, rows)
        _fix_sequences(conn, ids)
        conn.commit()
    finally:
        conn.close()
    return n


def _person_rows(rows: dict[str, list[dict[str, Any]]], ids: Ids, txn: int, units: dict[str, int],
                 record: PersonRecord, with_changes: bool) -> None:
    data = record.model_dump(mode="json")
    new = persons.canonical(data) if with_changes else {**data, **{n: data[n] or [] for n in SPECS}}
    pid = ids.take("person")
    rows["person"].append({"id": pid, "external_id": record.external_id, "rev": 1})
    rows["person_version"].append({
        "id": ids.take("person_version"), "person_id": pid, "full_name": new["full_name"],
        "name_search": fold(new["full_name"]), "birth_date": record.birth_date, "gender": new["gender"],
        "ethnicity": new["ethnicity"], "national_id": new["national_id"], "party_member_since": record.party_member_since,
        "general_education": new["general_education"], "sys_from": txn, "sys_to": None})
    used: set[int] = set()
    for name, spec in SPECS.items():
        table = spec.model.__tablename__
        for item in new[name]:
            cols = spec.to_columns(item, units)
            row = {"id": ids.take(table), "person_id": pid, "sys_from": txn, "sys_to": None, **cols}
            if spec.qual_kind:
                row["kind"] = spec.qual_kind
            rows[table].append(_complete(table, row))
            used.update(v for k, v in cols.items() if k in ("org_unit_id", "body_id"))
    if with_changes:
        _change(rows, ids, txn, "person", record.external_id, new, used)


_QUAL_COLUMNS = tuple(c.name for c in Qualification.__table__.columns
                      if c.nullable and c.name not in ("sys_to",))  # every optional column (score, is_equivalent...)


def _complete(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Every column present (a multi-row insert needs the same keys in every row)."""
    if table == "qualification":
        for col in _QUAL_COLUMNS:
            row.setdefault(col, None)
    return row


def prepared(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> tuple[list[str], list[Any]]:
    """Rows made ready for `bare_copy` before it is timed: every column any row names, and the values in that order
    (PostgreSQL, JSON as text) or as dicts of the same keys (SQLite)."""
    keys = sorted(set().union(*(r.keys() for r in rows)))
    if conn.dialect.name != "postgresql":
        return keys, [{k: r.get(k) for k in keys} for r in rows]
    json_cols = {c.name for c in model.__table__.columns if isinstance(c.type, JSON)}
    return keys, [[json.dumps(r.get(k), ensure_ascii=False) if k in json_cols and r.get(k) is not None else r.get(k)
                   for k in keys] for r in rows]


def bare_copy(conn: Connection, model: Any, ready: tuple[list[str], list[Any]]) -> None:
    """A floor: the prepared rows written with nothing around them, COPY on PostgreSQL (constraints and indexes as
    they are), one executemany on SQLite."""
    keys, values = ready
    if not values:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(model.__table__), values)
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(f'"{k}"' for k in keys)
    with cursor.copy(f'COPY "{model.__tablename__}" ({names}) FROM STDIN') as copy:
        for row in values:
            copy.write_row(row)


def timed_copies(conn: Connection, ready: list[tuple[Any, tuple[list[str], list[Any]]]]) -> float:
    """Seconds of the `bare_copy` of each table's prepared rows, in order; then all of it rolled back."""
    t0 = time.perf_counter()
    for model, values in ready:
        bare_copy(conn, model, values)
    seconds = time.perf_counter() - t0
    conn.rollback()
    return seconds


def person_import_floor(url: str, path: Path, start: int, stop: int | None) -> dict[str, Any]:
    """The floor of a person import (issue #15): a bare COPY of the rows an import of lines [start, stop) writes
    (persons, versions, every list, the change feed with its hashes and the units of each change) into the same
    tables, with the same indexes and constraints, in one transaction that is rolled back. The rows are made by the
    app's own functions (see `_person_rows`) before the clock starts; only the writes are timed."""
    from app.db import build_engine

    eng = build_engine(url)
    try:
        with eng.connect() as conn:
            units, ids, rows, n = _unit_ids(conn), Ids(conn), _rows(), 0
            txn = _txn(conn, "bench floor")
            for line in person_lines(path, start, stop):
                _person_rows(rows, ids, txn, units, PersonRecord.model_validate_json(line), True)
                n += 1
            for change in rows["change"]:
                change["prev_hash"] = change["hash"] = "0" * 64
            ready = [(m, prepared(conn, m, rows[m.__tablename__])) for m in ORDER if rows[m.__tablename__]]
            seconds = timed_copies(conn, ready)
    finally:
        eng.dispose()
    return {"persons": n, "rows": {m.__tablename__: len(v[1]) for m, v in ready}, "seconds": round(seconds, 3),
            "per_second": round(n / seconds, 1)}


def main() -> None:  # pragma: no cover - used by bench.run
    import argparse

    from app.db import build_engine

    parser = argparse.ArgumentParser(description="bulk-load a generated registry")
    parser.add_argument("url")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    engine = build_engine(args.url)
    with engine.begin() as conn:
        load_org_units(conn, args.directory / "org-units.jsonl")
        load_statistics(conn, args.directory / "statistics.jsonl")
    print(json.dumps({"persons": load_persons(engine.connect, args.directory / "persons.jsonl")}))  # noqa: T201


if __name__ == "__main__":
    main()
