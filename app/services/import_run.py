"""One import run: batches of lines (or spreadsheet rows) written in their own transactions.

Used by the synchronous `POST /imports/{kind}`, by background jobs (app.services.jobs) and by
`registry import`. A run may be given a checkpoint: it is called in each batch's transaction just
before the commit, so that a job's progress is committed with exactly the rows it counts (in a dry
run, whose batches are rolled back, it is committed on its own).
"""

import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_lookup_session_factory, get_session_factory
from app.services import codelists, imports, labels, tabular, unit_import
from app.services.context import Actor

ANALYZE_AFTER = 1000
FULL_ANALYZE_SHARE = 0.1  # autovacuum's own threshold: a table changed by a tenth of its rows needs new statistics
log = logging.getLogger(__name__)

Checkpoint = Callable[[Session, "Mark"], None]
_Ahead = tuple[list[imports.Line], "Mark", Future[imports.Parsed | None]]  # a batch, its mark, its parse under way


@dataclass
class Mark:
    """How far a run has got: the last input line of the batch and the byte offset after it (JSON Lines)."""

    line_no: int
    offset: int | None


def jsonl_lines(source: BinaryIO, start_offset: int = 0, start_line: int = 0) -> Iterator[tuple[imports.Line, int]]:
    """Non-blank lines of a JSON Lines file from a byte offset, each with the offset just after it."""
    source.seek(start_offset)
    offset, number = start_offset, start_line
    for raw in source:
        offset += len(raw)
        number += 1
        stripped = raw.rstrip(b"\n").rstrip(b"\r")
        if stripped.strip():
            yield imports.Line(number, stripped), offset


def _key_of(line: imports.Line, kind: str) -> imports.Key:
    """The record key of a line, if it can be read at all."""
    try:
        data = json.loads(line.raw)
    except (ValueError, RecursionError):
        return None
    return imports.record_key(kind, data) if isinstance(data, dict) else None


class ImportRun:
    """One import: batches written in their own transactions (rolled back in a dry run)."""

    def __init__(self, actor: Actor, kind: str, dry_run: bool, *, report: imports.Report | None = None,
                 checkpoint: Checkpoint | None = None):
        self.actor, self.kind = actor, kind
        self.report = report or imports.Report(kind, dry_run)
        self.settings = get_settings()
        self.factory = get_session_factory()
        self.checkpoint = checkpoint
        self.fmt = "jsonl"
        self.next_analyze = ANALYZE_AFTER  # lines read after which the stale tables are analyzed, doubling
        self.rows_before: float | None = None  # the kind's table before the run's first write (`_large`)

    def _in_session(self, work: Any, lines: list[imports.Line], mark: Mark | None = None) -> None:
        """Run one batch; if it fails as a whole, undo its report and write its lines one by one (or report them)."""
        before = self._snapshot()
        try:
            self._attempt(work, lines, mark)
        except Exception as exc:  # noqa: BLE001 - whatever stopped the batch, each of its lines is reported
            log.warning("import batch of lines %s-%s failed (%s); its lines are retried one by one",
                        lines[0].number if lines else "-", lines[-1].number if lines else "-", type(exc).__name__)
            self._restore(before)
            if len(lines) > 1 and getattr(work, "func", work) is imports.import_batch:
                for line in lines:
                    self._in_session(imports.import_batch, [line])
            else:
                self._not_written(lines, exc)
            if self.checkpoint and mark:
                with self.factory.begin() as session:
                    self.checkpoint(session, mark)

    def _snapshot(self) -> tuple[int, int, int, int, int, datetime | None]:
        r = self.report
        return r.lines, r.created, r.updated, r.unchanged, len(r.errors), r.recorded_at

    def _restore(self, snapshot: tuple[int, int, int, int, int, datetime | None]) -> None:
        r = self.report
        r.lines, r.created, r.updated, r.unchanged, errors, r.recorded_at = snapshot
        del r.errors[errors:]

    def _not_written(self, lines: list[imports.Line], exc: Exception) -> None:
        """Every line of a batch that failed as a whole: not written, said so (the database's own text is not shown)."""
        reason = "the database refused it" if isinstance(exc, DBAPIError) else f"an unexpected {type(exc).__name__}"
        for line in lines:
            self.report.lines += 1
            self.report.errors.append({"line": line.number, **imports.key_entry(self.kind, _key_of(line, self.kind)),
                                       "field": None, "message": f"not written: {reason}", "error": "not_written"})

    def _attempt(self, work: Any, lines: list[imports.Line], mark: Mark | None = None) -> None:
        with self.factory() as session:
            work(session, self.actor, self.report, lines, self.settings.max_line_bytes)
            txn = session.info.get("txn")
            if self.report.dry_run:
                session.rollback()
            else:
                if txn is not None:  # committed below with the batch (and a job's checkpoint of it)
                    self.report.recorded_at = txn.at
                if self.checkpoint and mark:
                    self.checkpoint(session, mark)
            session.commit()
        if self.report.dry_run and self.checkpoint and mark:
            with self.factory.begin() as session:
                self.checkpoint(session, mark)

    def batch(self, lines: list[imports.Line], mark: Mark | None = None, parsed: imports.Parsed | None = None) -> None:
        """Write a batch of lines (persons, statistics, courses, enrolments); `parsed`: its `parse`, done already."""
        self._measure_table()
        self._in_session(functools.partial(imports.import_batch, parsed=parsed), lines, mark)
        self._analyze_as_it_grows()

    def parse(self, lines: list[imports.Line]) -> imports.Parsed | None:
        """The lines read and validated in shape, in a session of their own, while the batch before is being written
        (POST /imports, bench F24); `batch(lines, parsed=...)` then writes them. None if that failed: `batch` then
        parses the lines itself, and reports what stopped it line by line."""
        try:  # reads only: on the primary (the latest units), taking no write lock (SQLite) and no transaction (PG)
            with get_lookup_session_factory()() as session:
                return imports.parse_batch(session, self.kind, lines, self.settings.max_line_bytes)
        except Exception:  # noqa: BLE001 - the write, parsing again, meets the same cause and reports it per line
            log.warning("import: reading lines %s-%s ahead failed; they are read again as they are written",
                        lines[0].number if lines else "-", lines[-1].number if lines else "-", exc_info=True)
            return None

    def _measure_table(self) -> None:
        if self.rows_before is None and not self.report.dry_run:
            with self.factory() as session:
                self.rows_before = imports.table_rows(session, imports.ANALYZED[self.kind][0])

    def _analyze_as_it_grows(self) -> None:
        """Analyze the tables the run has made stale once it has read 1,000 lines, then 2,000, 4,000...

        PostgreSQL checks every foreign key of every row copied (a qualification names its person) with a plan
        it keeps for the connection, made while the tables were small: a scan of the whole person table. Kept
        for the rest of the run, each check read more of it: 20,000 persons into a new registry ran at 260/s,
        the copy of their qualifications taking half the time (bench F22). An ANALYZE makes PostgreSQL plan
        the checks again, on the tables' new size; doubling, a run of n lines analyzes about log2(n / 1,000)
        times.
        """
        if self.report.dry_run or self.report.lines < self.next_analyze:
            return
        while self.next_analyze <= self.report.lines:
            self.next_analyze *= 2
        try:  # only the planner's statistics: a refusal (another ANALYZE, a VACUUM holding the table) costs nothing
            with self.factory.begin() as session:
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text("SET LOCAL lock_timeout = '2s'"))
                imports.analyze(session, self.kind, only_stale=True)
        except DBAPIError as exc:
            log.warning("import: analyzing the stale tables after %s lines failed (%s); the run goes on",
                        self.report.lines, type(exc).__name__)

    def whole(self, lines: list[imports.Line], mark: Mark | None = None) -> None:
        self._measure_table()
        self._in_session(unit_import.import_org_units, lines, mark)

    def stream(self, numbered: Iterable[tuple[imports.Line, int | None]]) -> None:
        """JSON Lines: persons and statistics batch by batch; org units as one whole (parents first)."""
        pending: list[imports.Line] = []
        offset: int | None = None
        if self.kind == "org-units":
            every = list(numbered)
            self.whole([line for line, _offset in every], Mark(every[-1][0].number, every[-1][1]) if every else None)
            return
        # each batch is parsed in a helper thread while the one before is written in this one (bench F24)
        with ThreadPoolExecutor(1, thread_name_prefix="import-read-ahead") as ahead:
            before: _Ahead | None = None
            for line, offset in numbered:
                pending.append(line)
                if len(pending) >= self.settings.import_batch_size:
                    before = self._next(ahead, before, pending, Mark(line.number, offset))
                    pending = []
            if pending:
                before = self._next(ahead, before, pending, Mark(pending[-1].number, offset))
            if before is not None:
                self.batch(before[0], before[1], before[2].result())

    def _next(self, ahead: ThreadPoolExecutor, before: _Ahead | None, lines: list[imports.Line], mark: Mark) -> _Ahead:
        """Start parsing `lines`, then write the batch before them (parsed meanwhile): the batch now pending."""
        parsing = ahead.submit(self.parse, lines)
        if before is not None:
            self.batch(before[0], before[1], before[2].result())
        return lines, mark, parsing

    def spreadsheet(self, source: Any, fmt: str) -> None:
        """CSV or XLSX: rows grouped into records, written by the JSON Lines path, errors given rows and cells.

        The file is read once as a whole first: one that cannot be read is refused (InvalidInput) before any write.
        """
        self.fmt = fmt
        split = tabular.check_csv(source, self.kind) if fmt == "csv" else tabular.check_xlsx(source, self.kind)
        rows = tabular.csv_rows(source, self.kind) if fmt == "csv" else tabular.xlsx_rows(source, self.kind)
        with self.factory() as session:
            names = labels.Names(codelists.load(session))  # "Nữ", "Khơ-me": a spreadsheet may name a code
        pending: list[imports.Line] = []
        places: dict[int, tabular.Grouped] = {}
        for grouped in tabular.group(rows, self.kind):
            runs = split.get(grouped.record.get(tabular.key_column(self.kind)) or "")
            if runs:  # one of its runs; reported once, on its first
                if grouped.first_row == runs[0]:
                    self._split(grouped, runs)
                continue
            if grouped.errors:
                self._bad_cells(grouped, names)
                continue
            places[grouped.first_row] = grouped
            record = names.record(self.kind, grouped.record)
            pending.append(imports.Line(grouped.first_row, json.dumps(record, ensure_ascii=False).encode()))
            if self.kind != "org-units" and len(pending) >= self.settings.import_batch_size:
                self._located(self.batch, pending, places)
                pending, places = [], {}
        if self.kind == "org-units":
            self._located(self.whole, pending, places)
        elif pending:
            self._located(self.batch, pending, places)

    def _split(self, grouped: tabular.Grouped, runs: list[int]) -> None:
        """A record whose rows are not together (`tabular.SplitRecords`): not written, its runs named."""
        self.report.lines += 1
        key = imports.record_key(self.kind, grouped.record)
        column = tabular.key_column(self.kind)
        self.report.errors.append({
            "line": grouped.first_row, **imports.key_entry(self.kind, key), "field": column,
            "message": tabular.split_error(self.kind, str(key), runs), "error": "split_record", "row": grouped.first_row,
            "column": column, "cell": grouped.cell(self.kind, column, grouped.first_row)})

    def _bad_cells(self, grouped: tabular.Grouped, names: labels.Names) -> None:
        """A record with cells that could not be read: not written; those cells and every other error of it reported."""
        self.report.lines += 1
        key = imports.key_entry(self.kind, imports.record_key(self.kind, grouped.record))
        errors = [{"line": grouped.first_row, **key, "field": e["column"], "message": e["message"],
                   "error": "invalid_cell", "row": e["row"], "column": e["column"], "cell": e["cell"]}
                  for e in grouped.errors]
        bad = {e.get("field") for e in grouped.errors}
        with self.factory() as session:
            others = imports.check(session, self.kind, names.record(self.kind, grouped.record), names.book)
        for err in others:
            if err["field"] in bad:
                continue  # that cell's own error is reported (the field was left out of the record)
            errors.append({"line": grouped.first_row, **key, **err,
                           **tabular.locate(grouped, err["field"], self.kind)})
        self.report.errors += sorted(errors, key=lambda e: (e["row"], tabular.COLUMNS[self.kind].index(e["column"])
                                                            if e["column"] else -1))

    def _located(self, work: Any, lines: list[imports.Line], places: dict[int, tabular.Grouped]) -> None:
        before = len(self.report.errors)
        work(lines, Mark(lines[-1].number, None) if lines else None)
        for err in self.report.errors[before:]:
            if err["line"] in places:
                err.update(tabular.locate(places[err["line"]], err.get("field"), self.kind))

    def analyze_if_large(self) -> None:
        """Fresh planner statistics after a write (bench F4): of every table after a large import, of the
        stale ones after any other (PostgreSQL: many small imports add up to a table the planner never saw).

        Large: at least ANALYZE_AFTER lines, writing at least a tenth as many records as the kind's table held
        before the run.
        An import of 2,000 persons into a registry of 98,000 analyzed every table again, 0.44 s of its 2.3 s
        (bench F24), to refresh statistics it had hardly moved; the stale check still catches any table it did.
        """
        if self.report.dry_run:
            return
        with self.factory.begin() as session:
            imports.analyze(session, self.kind, only_stale=not self._large())

    def _large(self) -> bool:
        written = self.report.created + self.report.updated
        if self.report.lines < ANALYZE_AFTER or not written:
            return False
        return written >= FULL_ANALYZE_SHARE * (self.rows_before or 0)

    def finish(self) -> dict[str, Any]:
        """Record the finished run as a job (the synchronous path) and answer its report."""
        self.analyze_if_large()
        with self.factory.begin() as session:
            job = imports.new_job(session, self.actor, self.kind, self.report.dry_run, self.fmt)
            imports.finish_job(job, self.report)
            return {"id": job.id, **self.report.as_dict()}
