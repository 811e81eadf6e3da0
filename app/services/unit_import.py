"""Org units imported as a whole file: every unit is written after the units it names, whatever the line order.

A unit names its parents and its successors; both must exist when it is written, so a merger's line
may come before the line of the unit that continues it. Parent links may not form a cycle (each
line of one is an error, and so is every line below it). Successor links may close a loop with
parent links, as when a district is continued by a commune that lay under it: the units of such a
group are written together, all or nothing, each first without the successors not yet written and
then, once they are, with them.
"""

from collections.abc import Iterable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.schemas.interchange import OrgUnitRecord
from app.services import codelists, orgunits, pool_attributes, tree
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.imports import Line, Report, add_error, parse, refusal, write_one

Parsed = dict[str, tuple[int, OrgUnitRecord]]


def import_org_units(session: Session, actor: Actor, report: Report, lines: Iterable[Line], max_bytes: int) -> None:
    """Validate and write every org-unit line of a file (dependencies first), each all or nothing."""
    before = len(report.errors)
    book = codelists.load(session)
    parsed, unreadable = _parse(report, lines, max_bytes, book)
    in_db = set(tree.unit_ids(session, {dep for _n, r in parsed.values() for _f, dep in depends_on(r)}))
    writer = _Writer(session, actor, report, parsed, book, in_db)
    writer.failed |= unreadable - in_db  # a unit whose line was refused, named by another line: rejected, not unknown
    for group in _groups(parsed, _parents_first(parsed, report)):
        writer.write(group)
    report.errors[before:] = sorted(report.errors[before:], key=lambda e: e["line"])  # line order, whatever the write order


def _parse(report: Report, lines: Iterable[Line], max_bytes: int, book: CodeBook) -> tuple[Parsed, set[str]]:
    """The valid records by code, and the codes of the lines refused as they were read (each with all its errors)."""
    parsed: Parsed = {}
    unreadable: set[str] = set()
    for line in lines:
        report.lines += 1
        before = len(report.errors)
        record = parse(report, line, max_bytes, book)
        unreadable.update(e["code"] for e in report.errors[before:] if e.get("code"))
        if isinstance(record, OrgUnitRecord):
            if record.code in parsed:
                add_error(report, line.number, record.code, "code",
                          f"code {record.code!r} appears again (first on line {parsed[record.code][0]})", "duplicate_key")
                continue
            parsed[record.code] = (line.number, record)
    return parsed, unreadable - set(parsed)


def depends_on(record: OrgUnitRecord) -> list[tuple[str, str]]:
    """(field, code) of the units a record names, which must exist before it is written: parents, successors and
    the unit of a planning pool's title."""
    deps = [("parents", p.code) for p in record.parents]
    deps += [("pool_for.org_unit", c) for c in sorted(pool_attributes.named(record))]
    return deps + [(f"successors[{i}]", c) for i, c in enumerate(record.successors) if c != record.code]


def _what(fld: str) -> str:
    return "parent" if fld == "parents" else "pool_for" if fld.startswith("pool_for") else "successor"


def _parents_first(parsed: Parsed, report: Report) -> list[str]:
    """Codes in an order that writes parents first; a line in a cycle, or below one, gets an error."""
    order: list[str] = []
    state: dict[str, str] = {}  # visiting | done | failed

    def fail(code: str, message: str, error: str) -> None:
        state[code] = "failed"
        add_error(report, parsed[code][0], code, "parents", message, error)

    def visit(code: str, trail: list[str]) -> bool:
        if state.get(code) in ("done", "failed"):
            return state[code] == "done"
        if state.get(code) == "visiting":
            cycle = [*trail[trail.index(code):], code]
            for member in cycle[:-1]:
                fail(member, "parent links form a cycle: " + " -> ".join(cycle), "cycle")
            return False
        state[code] = "visiting"
        bad = [p.code for p in parsed[code][1].parents if p.code in parsed and not visit(p.code, [*trail, code])]
        if state[code] == "failed":
            return False
        if bad:
            fail(code, f"parent {bad[0]!r} was rejected (see its line)", "parent_rejected")
            return False
        state[code] = "done"
        order.append(code)
        return True

    for code in parsed:
        visit(code, [])
    return order


def _groups(parsed: Parsed, order: list[str]) -> list[list[str]]:
    """The codes of `order` in groups written together: the strongly connected components of parent and
    successor links (Tarjan), units named before the units naming them, each group in parent order."""
    rank = {code: i for i, code in enumerate(order)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(code: str) -> None:
        index[code] = low[code] = len(index)
        stack.append(code)
        for _fld, dep in depends_on(parsed[code][1]):
            if dep not in rank:
                continue
            if dep not in index:
                connect(dep)
                low[code] = min(low[code], low[dep])
            elif dep in stack:
                low[code] = min(low[code], index[dep])
        if low[code] == index[code]:
            group = stack[stack.index(code):]
            del stack[stack.index(code):]
            groups.append(sorted(group, key=rank.__getitem__))

    for code in order:
        if code not in index:
            connect(code)
    return groups


class _Writer:
    """Writes groups of lines, remembering which units were written and which were rejected."""

    def __init__(self, session: Session, actor: Actor, report: Report, parsed: Parsed, book: CodeBook, in_db: set[str]):
        self.session, self.actor, self.report, self.parsed, self.book = session, actor, report, parsed, book
        self.known = set(in_db)  # units that exist: in the database before, or written by this import
        self.failed: set[str] = set()

    def write(self, group: list[str]) -> None:
        if self._rejected_dependency(group):
            return
        if len(group) == 1:
            code = group[0]
            number, record = self.parsed[code]
            before = len(self.report.errors)
            write_one(self.session, self.report, number, record, lambda: self._upsert(record))
            (self.failed if len(self.report.errors) > before else self.known).add(code)
            return
        self._write_tied(group)

    def _upsert(self, record: OrgUnitRecord) -> str:
        return orgunits.upsert(self.session, self.actor, record, self.book, self.known).status

    def _rejected_dependency(self, group: list[str]) -> bool:
        """A group naming a unit whose line was rejected is rejected: each of its lines says which."""
        bad = {code: [(f, d) for f, d in depends_on(self.parsed[code][1]) if d in self.failed] for code in group}
        first = next((code for code in group if bad[code]), None)
        if first is None:
            return False
        for code in group:
            fld, dep = bad[code][0] if bad[code] else (self._tie(code, group), first)
            add_error(self.report, self.parsed[code][0], code, fld, f"{_what(fld)} {dep!r} was rejected (see its line)",
                      f"{_what(fld)}_rejected")
        self.failed.update(group)
        return True

    def _tie(self, code: str, group: list[str]) -> str:
        """The field by which a unit names another unit of its group."""
        return next(f for f, d in depends_on(self.parsed[code][1]) if d in group)

    def _write_tied(self, group: list[str]) -> None:
        """Units tied by a loop of parent and successor links: written together in one savepoint, or not at all."""
        savepoint = self.session.begin_nested()
        statuses: dict[str, str] = {}
        pending: list[OrgUnitRecord] = []
        current = group[0]
        try:
            for current in group:
                record = self.parsed[current][1]
                now = [s for s in record.successors if s in self.known]
                statuses[current] = self._upsert(record.model_copy(update={"successors": now}))
                self.known.add(current)
                if now != record.successors:
                    pending.append(record)
            for record in pending:
                current = record.code
                self._upsert(record)
            savepoint.commit()
        except (DomainError, DBAPIError) as exc:
            savepoint.rollback()
            self._refuse_tied(group, current, exc)
            return
        for code in group:
            self.report.count(statuses[code])

    def _refuse_tied(self, group: list[str], culprit: str, exc: DomainError | DBAPIError) -> None:
        code, errors = refusal(exc)
        line = self.parsed[culprit][0]
        for err in errors:
            add_error(self.report, line, culprit, err["field"], err["message"], err.get("error") or code)
        for other in group:
            if other != culprit:
                fld = self._tie(other, group)
                add_error(self.report, self.parsed[other][0], other, fld,
                          f"not written: its parent and successor links tie it to line {line} ({culprit!r}), which was "
                          "rejected, and such units are written together", f"{_what(fld)}_rejected")
        self.known.difference_update(group)
        self.failed.update(group)
