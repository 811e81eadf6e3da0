"""SQL of the training needs: the title-standard rows each person under a unit misses on a date, and the
enrolments that will meet a need (planning.md, 'Training'). The standards and highest levels are those of
the indicators (`fields.standards_in_force`, `fields.STANDARD_LEVELS`), so a need is exactly a failed row of
"meets the title standard"."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, and_, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from app.models import Course, Employment, Enrolment, Person, PersonVersion, Position
from app.services.codelists import CodeBook
from app.services.indicators import compiler
from app.services.indicators.fields import ROOT, STANDARD_LEVELS, Ctx, Row, StandardLevel, active, employed
from app.services.indicators.fields import standards_in_force as standards

# code list of a level -> the qualification's list name in the interchange (planning.md: a course's `awards`)
QUALIFICATIONS = {"degree_level": "degrees", "political_theory": "political_theory", "state_management": "state_management"}
CODE_LISTS = {name: list_name for list_name, name in QUALIFICATIONS.items()}
OPEN_STATUSES = ("planned", "enrolled")
CHUNK = 5000


@dataclass(frozen=True)
class Miss:
    """One title-standard row a person misses on D through one job record."""

    person_id: int
    external_id: str
    full_name: str
    unit_id: int
    subject: str  # rank | occupation | category
    code: str
    qualification: str  # interchange list name: degrees, political_theory, state_management
    required: str
    required_ord: int
    held_ord: int


def _jobs(ctx: Ctx) -> Any:
    """(person_id, unit_id, subject, code): the job records in force on D that a title standard may name, each
    anchored where the indicators anchor it (a position at its unit while the person is employed; the occupation
    and category at the primary employment's unit)."""

    def build() -> Any:
        p: Any = aliased(Position)
        e: Any = aliased(Employment)
        posts = select(p.person_id, p.org_unit_id, literal("rank", String()), p.rank).where(
            active(p, ctx), employed(p.person_id, ctx))
        primary = [
            select(e.person_id, e.org_unit_id, literal(subject, String()), column).where(
                e.is_primary.is_(True), active(e, ctx), column.is_not(None))
            for subject, column in (("occupation", e.occupation), ("category", e.category))
        ]
        jobs = union_all(posts, *primary).subquery()
        names = ("person_id", "unit_id", "subject", "code")
        return select(*[c.label(n) for c, n in zip(jobs.c, names, strict=True)]).cte("jobs")

    return ctx.cache("jobs", build)


def _level_misses(ctx: Ctx, level: StandardLevel) -> Any:
    """Every (job under the unit, standard row) requiring `level`, with the level required and the level held."""
    jobs, scope = _jobs(ctx), compiler.subtree(ctx)
    stmt, ts, required = standards(ctx, jobs.c.subject, jobs.c.code)
    ci = required[level.column]
    held = level.held(Row("person", jobs.c.person_id, None, None, None), ctx)
    columns = (jobs.c.person_id, jobs.c.unit_id, jobs.c.subject, jobs.c.code,
               literal(QUALIFICATIONS[level.list_name], String()).label("qualification"),
               getattr(ts, level.column).label("required"), ci.ord.label("required_ord"), held.label("held_ord"))
    return stmt.with_only_columns(*columns).where(ci.ord.is_not(None), jobs.c.unit_id.in_(select(scope.c.unit_id)))


def misses_stmt(ctx: Ctx) -> Any:
    """(person, external id, name, unit, subject, code, qualification, required, its order, order held) of every
    row missed under the unit (bound parameter `root_id`) on D."""
    rows = union_all(*[_level_misses(ctx, level) for level in STANDARD_LEVELS]).subquery("misses")
    pv = aliased(PersonVersion)
    return (
        select(rows.c.person_id, Person.external_id, pv.full_name, *list(rows.c)[1:])
        .join(Person, Person.id == rows.c.person_id)
        .join(pv, and_(pv.person_id == rows.c.person_id, ctx.current(pv)))
        .where(rows.c.held_ord < rows.c.required_ord)
    )


def misses(session: Session, ctx: Ctx, unit_id: int) -> list[Miss]:
    """The title-standard rows missed under the unit on ctx's date, one per (person, job record, level)."""
    found = session.execute(misses_stmt(ctx), ctx.values() | {ROOT: unit_id})
    return sorted({Miss(*r) for r in found}, key=lambda m: (m.external_id, m.qualification, m.required_ord, m.subject))


def awarding_courses(session: Session, book: CodeBook) -> dict[str, tuple[str, int]]:
    """Course code -> (qualification, order of the level) for every current course whose award has an ordered level."""
    found: dict[str, tuple[str, int]] = {}
    for code, awards in session.execute(select(Course.code, Course.awards).where(Course.sys_to.is_(None))):
        for name, item in (awards or {}).items():
            level = item.get("level") if isinstance(item, dict) else None
            known = book.get(CODE_LISTS.get(name, ""), str(level)) if level is not None else None
            if known is not None and known.ord is not None:
                found[code] = (name, known.ord)
    return found


def enrolled(session: Session, person_ids: Iterable[int], courses: Iterable[str], before: date) -> dict[int, set[str]]:
    """Person -> the courses they are enrolled in (planned or enrolled, current) expected to finish by `before`."""
    ids, codes = sorted(set(person_ids)), sorted(set(courses))
    found: dict[int, set[str]] = {}
    if not codes:
        return found
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(select(Enrolment.person_id, Enrolment.course).where(
            Enrolment.person_id.in_(ids[start:start + CHUNK]), Enrolment.course.in_(codes), Enrolment.sys_to.is_(None),
            Enrolment.status.in_(OPEN_STATUSES), Enrolment.expected_completion <= before))
        for pid, course in rows:
            found.setdefault(pid, set()).add(course)
    return found
