"""Bulk import of JSON Lines: each line validated and written on its own, errors per line and field."""

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import DomainError, InvalidInput, db_refusal, driver_text
from app.models import ImportJob
from app.schemas.common import CONTROL, CONTROLS_CHECKED, control_character
from app.schemas.interchange import CourseRecord, EnrolmentRecord, OrgUnitRecord, PersonRecord, StatisticRecord
from app.services import codelists, history, labels, persons, statistics, training
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.person_records import without_awarded
from app.services.persons import pydantic_errors

log = logging.getLogger("registry.imports")


KINDS: dict[str, type[BaseModel]] = {"org-units": OrgUnitRecord, "persons": PersonRecord, "statistics": StatisticRecord,
                                     "courses": CourseRecord, "enrolments": EnrolmentRecord}
KEY_FIELD = {"org-units": "code", "persons": "external_id", "statistics": "code", "courses": "code", "enrolments": "person"}
# how an error names its record (interchange.md: "external_id" or "code"): an enrolment by its person and course
KEY_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    kind: ((fld, fld),) for kind, fld in KEY_FIELD.items() if kind != "enrolments"} | {
    "enrolments": (("person", "external_id"), ("course", "code"))}

Key = str | tuple[str | None, ...] | None


def record_key(kind: str, data: Any) -> Key:
    """The key of a record (a parsed line, a model or a dict): a string, or (person, course) for an enrolment."""
    def value(fld: str) -> str | None:
        found = data.get(fld) if isinstance(data, dict) else getattr(data, fld, None)
        return found if isinstance(found, str) and not control_character(found) else None

    names = KEY_NAMES[kind]
    return value(names[0][0]) if len(names) == 1 else tuple(value(fld) for fld, _name in names)


def key_entry(kind: str, key: Key) -> dict[str, Any]:
    """The key fields of an error entry: {"external_id": ...} or {"code": ...}, both for an enrolment."""
    names = KEY_NAMES[kind]
    if len(names) == 1:
        return {names[0][1]: key if not isinstance(key, tuple) else None}
    values = key if isinstance(key, tuple) else (key, None)
    return {name: v for (_fld, name), v in zip(names, values, strict=True)}


@dataclass
class Report:
    """What an import did (or, in a dry run, would do)."""

    kind: str
    dry_run: bool
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    recorded_at: datetime | None = None  # the moment of the last transaction that wrote (None: nothing written)

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)

    @property
    def failed(self) -> int:
        return len({e["line"] for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dry_run": self.dry_run, "lines": self.lines, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed, "errors": self.errors,
                "recorded_at": history.moment(self.recorded_at) if self.recorded_at else None}


@dataclass
class Line:
    number: int
    raw: bytes

    def __post_init__(self) -> None:
        if self.number == 1:  # a file saved "UTF-8 with BOM" (Notepad, Excel) is UTF-8: its first record is read
            self.raw = self.raw.removeprefix(b"\xef\xbb\xbf")


def add_error(report: Report, line: int, key: Key, fld: str | None, message: str, code: str) -> None:
    """One error of one line (or record) in the report."""
    entry: dict[str, Any] = {"line": line, **key_entry(report.kind, key), "field": fld, "message": message,
                             "error": code}
    report.errors.append(entry)


Units = Callable[[set[str]], Mapping[str, Any]]  # org unit codes -> those that exist (persons.unit_index)


def parse(report: Report, line: Line, max_bytes: int, book: CodeBook | None = None,
          units: Units | None = None) -> BaseModel | None:
    """The line as a validated record, or None with its errors added to the report.

    Given the code book (and a look-up of org units), a line whose shape is invalid also gets the errors of its
    codes (and org units) on the fields whose shape was valid: one bad field does not hide the others.
    """
    if len(line.raw) > max_bytes:
        add_error(report, line.number, None, None, f"line is {len(line.raw)} bytes, over the limit of {max_bytes}",
               "line_too_long")
        return None
    try:
        text = line.raw.decode("utf-8")
        data = json.loads(text)
        bad = None if _plain(text) else _control(data, "")
    except UnicodeDecodeError as exc:
        add_error(report, line.number, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "invalid_encoding")
        return None
    except json.JSONDecodeError as exc:
        add_error(report, line.number, None, None, f"not valid JSON: {exc.msg} at column {exc.colno}", "invalid_json")
        return None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        add_error(report, line.number, None, None, f"not valid JSON: {exc}", "invalid_json")
        return None
    except RecursionError:
        add_error(report, line.number, None, None, "JSON nested too deeply to read (a record is at most a few levels deep)",
               "nested_too_deep")
        return None
    if not isinstance(data, dict):
        add_error(report, line.number, None, None, f"expected a JSON object, got {type(data).__name__}", "invalid_json")
        return None
    key = record_key(report.kind, data)
    if bad:
        add_error(report, line.number, key, bad[0] or "(record)", f"holds the control character {bad[1]}: control "
               "characters (U+0000-U+001F, U+007F-U+009F) and lone surrogates are not accepted", "control_character")
        return None
    try:
        return KINDS[report.kind].model_validate_json(text, context={CONTROLS_CHECKED: True})  # `bad` is None
    except ValidationError as exc:
        shape = shape_errors(exc)
        for err in shape:
            add_error(report, line.number, key, err["field"], err["message"], err["error"])
        if book is not None:
            failed = {e["field"] for e in shape}
            for err in unvalidated_problems(report.kind, data, book, units, failed):
                add_error(report, line.number, key, err["field"], err["message"], "invalid_input")
        return None


def shape_errors(exc: ValidationError) -> list[dict[str, str]]:
    """A record's validation errors as [{field, message, error}] (error: invalid_field or control_character)."""
    types = [e["type"] for e in exc.errors()]
    return [err | {"error": "control_character" if kind == "control_character" else "invalid_field"}
            for err, kind in zip(pydantic_errors(exc), types, strict=True)]


def unvalidated_problems(kind: str, data: dict[str, Any], book: CodeBook, units: Units | None,
                         failed: set[str]) -> list[dict[str, str]]:
    """The code (and org unit) errors of a record whose shape is invalid, on the fields whose shape was valid.

    Pydantic reports every shape error of a record, but the rules that need the code lists or the database
    run on shape-valid records only: without this, an impossible date would hide an unknown gender.
    """
    errs: list[dict[str, str]] = []

    def check(path: str, list_name: str, value: Any, on: Any = None) -> None:
        if path in failed or not isinstance(value, str):
            return
        message = book.problem(list_name, value, _day(on))
        if message:
            errs.append({"field": path, "message": message})

    if kind == "org-units":
        for fld, list_name in labels.UNIT_FIELDS.items():
            check(fld, list_name, data.get(fld))
        return errs
    if kind in ("courses", "enrolments"):
        fields = training.COURSE_CODED if kind == "courses" else {"status": "enrolment_status"}
        for fld, list_name in fields.items():
            check(fld, list_name, data.get(fld))
        return errs
    if kind != "persons":
        return errs
    for fld, list_name in labels.PERSON_FIELDS.items():
        check(fld, list_name, data.get(fld))
    named: dict[str, str] = {}  # org unit code -> the first field naming it
    for name, coded in persons.CODED.items():
        items = data.get(name)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            for fld, list_name, on_field in coded:
                check(f"{name}[{i}].{fld}", list_name, item.get(fld), item.get(on_field))
            ref = f"{name}[{i}].{'body' if name == 'memberships' else 'org_unit'}"
            code = item.get(ref.rsplit(".", 1)[1])
            if name in persons.ASSIGNMENTS and isinstance(code, str) and ref not in failed:
                named.setdefault(ref, code)
    known = units(set(named.values())) if units is not None and named else {}
    if units is not None:
        errs += [{"field": ref, "message": f"unknown org unit {code!r}"} for ref, code in named.items() if code not in known]
    return errs


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def check(session: Session, kind: str, data: dict[str, Any], book: CodeBook) -> list[dict[str, str]]:
    """Every error of one record that can be told without writing it: [{field, message, error}].

    Its shape, then (valid shape) the rules of its kind on codes, org units and dates, or (invalid shape) the
    codes and org units of the fields whose shape was valid. Used for a spreadsheet record with a bad cell,
    which is never written but whose other errors are reported with it.
    """
    lookup = functools.partial(persons.unit_index, session)
    try:
        record = KINDS[kind].model_validate_json(json.dumps(data, ensure_ascii=False))
    except ValidationError as exc:
        shape = shape_errors(exc)
        failed = {e["field"] for e in shape}
        return shape + [e | {"error": "invalid_input"} for e in unvalidated_problems(kind, data, book, lookup, failed)]
    if kind == "persons":
        dumped = record.model_dump(mode="json")
        units = persons.unit_index(session, persons.referenced_units(dumped))
        return [e | {"error": "invalid_input"} for e in persons.problems(dumped, book, units)]
    return [e | {"error": "invalid_input"} for e in unvalidated_problems(kind, data, book, None, set())]


def _plain(text: str) -> bool:
    """Whether no text of the parsed line can hold a control character: the line holds none, nor a backslash.

    A string of JSON holds a control character only as itself or through an escape, and every escape starts
    with a backslash; lone surrogates come only from escapes (`text` is decoded UTF-8). Most lines hold
    neither, and walking every key and value of a person again cost a tenth of its import (bench F22).
    """
    return "\\" not in text and CONTROL.search(text) is None


def _control(data: Any, path: str) -> tuple[str, str] | None:
    """(field path, 'U+0007 at position 3') of the first control character in a parsed line, keys included."""
    if isinstance(data, str):
        where = control_character(data)
        return (path, where) if where else None
    if isinstance(data, list):
        items: Iterable[tuple[str, Any]] = ((f"{path}[{i}]", v) for i, v in enumerate(data))
    elif isinstance(data, dict):
        for k in data:
            where = control_character(k)
            if where:
                return (f"{path}.{k!r}" if path else repr(k), where)
        items = ((f"{path}.{k}" if path else k, v) for k, v in data.items())
    else:
        return None
    for sub, value in items:
        found = _control(value, sub)
        if found:
            return found
    return None


def _key(record: BaseModel, kind: str) -> Key:
    return record_key(kind, record)


def refusal(exc: DomainError | DBAPIError) -> tuple[str, list[dict[str, Any]]]:
    """Why one record was rejected: its error code and the [{field, message}] to report."""
    listed = getattr(exc, "errors", None)  # InvalidInput, write_scope.OutOfScope: every problem with its field
    if isinstance(exc, DomainError) and listed:
        return exc.code, list(listed)
    if isinstance(exc, InvalidInput):
        return exc.code, exc.errors or [{"field": None, "message": exc.detail}]
    if isinstance(exc, DomainError):
        return exc.code, [{"field": None, "message": exc.detail}]
    code, message = db_refusal(exc)
    log.warning("import line refused by the database (%s): %s", code, driver_text(exc))  # log only
    return code, [{"field": None, "message": message}]


def write_one(session: Session, report: Report, line: int, record: BaseModel, write: Callable[[], str]) -> None:
    """Write one record inside a savepoint: all of it, or nothing of it."""
    savepoint = session.begin_nested()
    try:
        status = write()
        savepoint.commit()
    except (DomainError, DBAPIError) as exc:
        savepoint.rollback()
        code, errors = refusal(exc)
        for err in errors:  # an error may carry its own code (e.g. term_end_before_start), else the record's
            add_error(report, line, _key(record, report.kind), err["field"], err["message"], err.get("error") or code)
        return
    report.count(status)


@dataclass
class Parsed:
    """A batch's lines read and validated in shape (`parse_batch`), not yet written: its records by line, and the
    errors and count of lines that `import_batch` adds to the run's report when it writes the batch."""

    lines: int
    records: list[tuple[int, BaseModel]]
    errors: list[dict[str, Any]]
    ready: dict[int, tuple[dict[str, Any], dict[str, Any] | None]] = field(default_factory=dict)
    # a person's record (by line) as person_batch plans it: its JSON dump without awarded items, and its
    # canonical form (None where computing it failed: the plan's own checks come first, and say why)


def parse_batch(session: Session, kind: str, lines: list[Line], max_bytes: int) -> Parsed:
    """The lines as records, or their errors: JSON, shape and (for a record of invalid shape) its codes and units.

    Reads only the code book and units, so that it can run beside the writing of the batch before (bench F24)."""
    scratch = Report(kind, dry_run=False)
    book = codelists.load(session) if kind in BOOKED else None
    records: list[tuple[int, BaseModel]] = []
    for line in lines:
        scratch.lines += 1
        record = parse(scratch, line, max_bytes, book, functools.partial(persons.unit_index, session))
        if record is not None:
            records.append((line.number, record))
    ready = {number: _ready(record) for number, record in records if isinstance(record, PersonRecord)}
    return Parsed(scratch.lines, records, scratch.errors, ready)


def _ready(record: PersonRecord) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What `person_batch` computes of a record before it reads the database, computed here ahead of it."""
    data = without_awarded(record.model_dump(mode="json"))
    try:
        return data, persons.canonical(data)
    except Exception:  # noqa: BLE001 - a record the domain rules refuse: the plan checks them first, and reports it
        return data, None


BOOKED = ("persons", "courses", "enrolments")  # the kinds whose records name codes of the code book


def import_batch(session: Session, actor: Actor, report: Report, lines: list[Line], max_bytes: int,
                 parsed: Parsed | None = None) -> None:
    """Validate and write one batch of lines (persons and enrolments by their set-based batch paths); `parsed`: the
    lines' `parse_batch`, when it was done already."""
    from app.services import enrolment_batch, person_batch

    if parsed is None:
        parsed = parse_batch(session, report.kind, lines, max_bytes)
    before = len(report.errors)
    report.lines += parsed.lines
    report.errors.extend(parsed.errors)
    book = codelists.load(session) if report.kind in BOOKED else None
    items: list[person_batch.Item] = []
    enrolments: list[enrolment_batch.Item] = []
    for number, record in parsed.records:
        if isinstance(record, PersonRecord):
            items.append(person_batch.Item(number, record, *parsed.ready.get(number, (None, None))))
        elif isinstance(record, StatisticRecord):
            write_one(session, report, number, record,
                      lambda r=record: statistics.upsert(session, actor, r).status)  # type: ignore[misc]
        elif isinstance(record, CourseRecord) and book is not None:
            write_one(session, report, number, record,
                      lambda r=record: training.upsert_course(session, actor, r, book).status)  # type: ignore[misc]
        elif isinstance(record, EnrolmentRecord):
            enrolments.append(enrolment_batch.Item(number, record))
    if items:
        assert book is not None

        def failed(f: person_batch.Failure) -> None:
            for err in f.errors:
                add_error(report, f.line, f.key, err.get("field"), err["message"], f.code)

        person_batch.write(session, actor, items, book, lambda _line, status: report.count(status), failed)
    if enrolments:
        assert book is not None
        enrolment_batch.write(session, actor, enrolments, book, lambda _item, status: report.count(status),
                              functools.partial(_refused, report))
    report.errors[before:] = sorted(report.errors[before:], key=lambda e: e["line"])  # line order, as one by one


def _refused(report: Report, item: Any, code: str, errors: list[dict[str, Any]]) -> None:
    """The errors of a record a batch path refused (`item`: its line and record)."""
    for err in errors:
        add_error(report, item.line, _key(item.record, report.kind), err.get("field"), err["message"], code)


def new_job(session: Session, actor: Actor, kind: str, dry_run: bool, fmt: str = "jsonl") -> ImportJob:
    job = ImportJob(kind=kind, status="running", dry_run=dry_run, actor=actor.name, created_at=datetime.now(UTC),
                    counts={}, errors=[], format=fmt)
    session.add(job)
    session.flush()
    return job


COUNTED = ("lines", "created", "updated", "unchanged", "failed", "recorded_at")  # what a job keeps of its report


def finish_job(job: ImportJob, report: Report) -> None:
    result = report.as_dict()
    job.status = "done"
    job.finished_at = datetime.now(UTC)
    job.total = job.done = report.lines
    job.counts = {k: result[k] for k in COUNTED}
    job.errors = report.errors


def job_view(job: ImportJob) -> dict[str, Any]:
    """An import as the API shows it: progress while a job runs, the full report once it is done."""
    return {"id": job.id, "kind": job.kind, "status": job.status, "dry_run": job.dry_run, "format": job.format,
            "created_at": job.created_at, "finished_at": job.finished_at, "done": job.done, "total": job.total,
            **{k: job.counts.get(k, 0) for k in ("lines", "created", "updated", "unchanged", "failed")},
            "recorded_at": job.counts.get("recorded_at"), "errors": job.errors, "message": job.message, "code": job.code}


ANALYZED = {"org-units": ("org_unit", "org_unit_version", "org_unit_parent", "org_unit_successor", "org_unit_language"),
            "persons": ("person", "person_version", "employment", "position", "membership", "qualification", "separation",
                        "discipline"),
            "statistics": ("statistic",), "courses": ("course", "qualification"),
            "enrolments": ("enrolment", "qualification")}


def analyze(session: Session, kind: str, *, only_stale: bool = False) -> None:
    """Refresh the planner's statistics of the tables an import of `kind` wrote.

    `only_stale` (PostgreSQL): only the tables never analyzed or changed by more than autovacuum's
    default threshold (50 rows + 10 %) since they last were. Autovacuum may be off, or a minute
    behind; until it runs, the planner believes a table of thousands of units holds one row and
    nests loops over it (a closed province's territory took 60 s a figure instead of 20 ms).
    """
    tables: tuple[str, ...] = ANALYZED[kind]
    if only_stale:
        tables = stale_tables(session, tables)
    for table in sorted(tables):  # one order for every run: two runs analyzing at once never wait on each other in a cycle
        session.execute(text(f'ANALYZE "{table}"'))


def table_rows(session: Session, table: str) -> float:
    """How many rows the table holds: the planner's estimate on PostgreSQL (0 if it has none), a count on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return max(0.0, float(session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                             {"t": table}) or 0))
    return float(session.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)


def stale_tables(session: Session, tables: tuple[str, ...]) -> tuple[str, ...]:
    """Of these tables, those whose planner statistics are missing or stale (PostgreSQL; none on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return ()
    rows = session.execute(text(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.schemaname = current_schema() AND s.relname = ANY(:tables) "
        "AND (c.reltuples < 0 OR s.n_mod_since_analyze > 50 + 0.1 * c.reltuples)"), {"tables": list(tables)})
    return tuple(sorted(r[0] for r in rows))
