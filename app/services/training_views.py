"""What the dashboard shows of training (planning.md 'What the dashboard shows'): a unit's courses and enrolments of a
year, its plan of the year with actuals and need, and the names of the courses a person's record names.

Everything is read through `training.list_courses`, `list_enrolments` and `read_course`, so scope and `known_at` hold
exactly as in the API; the counts are summed here from those listings rather than by a query of their own, so that
the page cannot count an enrolment the API would not list.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound
from app.services import training, training_needs, training_plan_progress, training_plans, tree
from app.services.context import Actor

FIRST_YEAR, LAST_YEAR = 1900, 2200  # as the API's `year`
PAGE = 1000
STATUSES = ("planned", "enrolled", "completed", "failed", "withdrawn")  # code list enrolment_status, in its order


@dataclass
class CourseGroup:
    """One course's enrolments of the unit's persons: counts by status, and who (for roles that may see persons)."""

    code: str
    name: str | None  # None: a course the caller's units cannot read
    counts: Counter[str] = field(default_factory=Counter)
    persons: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def totals(groups: list[CourseGroup]) -> Counter[str]:
    """The counts of every course together, by status."""
    out: Counter[str] = Counter()
    for group in groups:
        out.update(group.counts)
    return out


def check_year(value: str | None, today: date) -> int:
    """The year asked for (this year when none is), or InvalidInput outside the API's range."""
    text = value or ""
    if not text.strip():
        return today.year
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise InvalidInput("not a year", errors=[{"field": "year", "message": f"{FIRST_YEAR}–{LAST_YEAR}, not {value!r}"}])
    return int(text)


def readable_unit(session: Session, actor: Actor, code: str) -> int:
    """The unit's id: NotFound for an unknown code, Forbidden outside the caller's units (as the indicator pages)."""
    uid = tree.unit_id(session, code)
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise Forbidden(f"org unit {code!r} is outside your org units", code="out_of_scope")
    return uid


def unit_courses(session: Session, actor: Actor, *, org_unit: str, year: int, cut: int | None) -> list[dict[str, Any]]:
    """The courses the caller can see that run in `year`, organised at the unit, above it or below it."""
    related = _related_units(session, readable_unit(session, actor, org_unit))
    return [c for c in _all_courses(session, actor, year, cut) if c["org_unit"] in related]


def unit_enrolments(session: Session, actor: Actor, *, org_unit: str, year: int, cut: int | None,
                    with_persons: bool) -> list[CourseGroup]:
    """The enrolments of the unit's persons in `year`, by course (in code order) and status."""
    readable_unit(session, actor, org_unit)
    enrolments = _all_enrolments(session, actor, org_unit, year, cut)
    names = course_names(session, actor, {e["course"] for e in enrolments}, cut)
    groups: dict[str, CourseGroup] = {}
    for e in enrolments:
        group = groups.setdefault(e["course"], CourseGroup(e["course"], names.get(e["course"])))
        group.counts[e["status"]] += 1
        if with_persons:
            group.persons.setdefault(e["status"], []).append(e["person"])
    return [groups[k] for k in sorted(groups)]


def _related_units(session: Session, uid: int) -> set[str]:
    """Codes of the unit, the units above it (where it sends its people) and the units below it."""
    whole = tree.Tree(session)
    today = date.today()
    ids = set(whole.ancestors_on(uid, whole.last_day(uid, today))) | whole.reach({uid}, today)
    return {whole.units[i].code for i in ids}


def _all_courses(session: Session, actor: Actor, year: int, cut: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        items, after = training.list_courses(session, actor, org_unit=None, kind=None, year=year, cut=cut,
                                             after=after, limit=PAGE)
        out += items
        if after is None:
            return out


def _all_enrolments(session: Session, actor: Actor, org_unit: str, year: int, cut: int | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        items, after = training.list_enrolments(session, actor, person=None, course=None, status=None,
                                                org_unit=org_unit, year=year, cut=cut, after=after, limit=PAGE)
        out += items
        if after is None:
            return out


def unit_plan(session: Session, actor: Actor, *, org_unit: str, year: int, cut: int | None,
              today: date) -> dict[str, Any] | None:
    """The unit's plan of the year with actuals and need, as GET /training-plans/{unit}/{year} answers; None when no
    plan is recorded (scope and unknown units refused as there)."""
    try:
        uid, plan = training_plans.get_or_raise(session, actor, org_unit, year, cut)
    except NotFound as exc:
        if exc.code != "training_plan_not_found":
            raise
        return None
    return training_plan_progress.progress(session, plan, uid, cut, today, named=training_needs.names_persons(actor))


def person_enrolments(session: Session, actor: Actor, external_id: str, cut: int | None) -> list[dict[str, Any]]:
    """Every enrolment of one person the caller may read (as GET /enrolments?person= lists them)."""
    items, _ = training.list_enrolments(session, actor, person=external_id, course=None, status=None, org_unit=None,
                                        year=None, cut=cut, after=None, limit=PAGE)
    return items


def course_names(session: Session, actor: Actor, codes: set[str], cut: int | None) -> dict[str, str]:
    """The names of the courses among `codes` the caller's units can read (the others are left out)."""
    out = {}
    for code in sorted(codes):
        try:
            out[code] = str(training.read_course(session, actor, code, cut)["name"])
        except NotFound:
            continue
    return out
