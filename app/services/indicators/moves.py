"""What a projection moves (planning.md, 'Projection'): statutory retirements and expected completions, in SQL.

A projection evaluates the indicator's own compiled statements on each date after D0 (`Ctx.projection`),
so that everything the engine already knows by date (ages, records dated in the future, the tree) moves
as it does for any date, and adds the two events the registry does not record:

- **statutory retirement**: a person retires at the end of the last day of the month in which they reach
  the statutory age (app/data/retirement.yaml, read by `retirement`); from the next day every employment,
  position and seat of theirs that was in force on that day has ended (`Projected.not_retired`, applied by
  `fields.active`). Only retirements on or after D0 move anything: the registry as it stands on D0 is the
  projection's start, and a person still recorded at work past the age (a special regime) stays so.
- **expected completions** (`training=expected`): each `planned` or `enrolled` enrolment with an expected
  completion after D0, in a course that awards a qualification, gives the person that qualification from the
  expected completion, exactly as the completed enrolment would (`Projected.qualifications`).

Who retires between D0 and a date is a range of birth dates per gender (`retired_before`, computed here from
the schedule and bound as parameters), so the check costs two comparisons per person. The retirement day itself
is computed in SQL only for a record that starts after D0: the age (in months) is constant over runs of birth
months, read from the schedule once (`schedule_runs`), so it is a CASE over a few dozen birth dates, and the day
is the last day of the birth month plus that many months (`month_end`).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.visitors import InternalTraversal

from app.models import Course, Enrolment, PersonVersion
from app.services import retirement

if TYPE_CHECKING:
    from app.services.indicators.fields import Ctx

PROJECTED_FROM = "projected_from"
AWARDS_AFTER = "awards_after"
PENDING = ("planned", "enrolled")
# the qualification columns an expression may read, with their types (a pending award fills the same ones)
COLUMNS: dict[str, Any] = {"kind": String(30), "code": String(40), "level_num": Integer(), "language": String(8),
                           "language_kind": String(20), "is_fluent": Boolean(), "country": String(2)}


def start() -> Any:
    """D0, the projection's first date (a bound parameter)."""
    return bindparam(PROJECTED_FROM, type_=Date())


def awards_after() -> Any:
    """Pending enrolments award when expected to complete after this date (D0; the gap's coverage: any date)."""
    return bindparam(AWARDS_AFTER, type_=Date())


@cache
def schedule_runs() -> dict[str, tuple[tuple[date, int], ...]]:
    """Per gender, ((first birth month of a run, retirement age in months), ...) from 1940 to 2030.

    The age depends on the birth month only; outside these years it is that of the nearest run (the schedule is
    flat before 1961 and after 1966 for men, 1975 for women). Read from `retirement.reached`, so that the SQL
    and the statutory schedule cannot part."""
    out: dict[str, tuple[tuple[date, int], ...]] = {}
    for gender in ("male", "female"):
        runs: list[tuple[date, int]] = []
        for year in range(1940, 2031):
            for month in range(1, 13):
                born = date(year, month, 1)
                age = retirement.reached(born, gender).age_months
                if not runs or runs[-1][1] != age:
                    runs.append((born, age))
        out[gender] = tuple(runs)
    return out


class month_end(ColumnElement[Any]):  # noqa: N801 - a SQL function, named as one
    """The last day of the month `months` after a date's month."""

    inherit_cache = True
    type = Date()
    _traverse_internals = [("day", InternalTraversal.dp_clauseelement), ("months", InternalTraversal.dp_clauseelement)]

    def __init__(self, day: Any, months: Any) -> None:
        self.day = day
        self.months = months


@compiles(month_end)
def _month_end_default(element: month_end, compiler: Any, **kw: Any) -> str:
    day, months = compiler.process(element.day, **kw), compiler.process(element.months, **kw)
    return f"(CAST(date_trunc('month', {day}) + make_interval(months => CAST({months} AS INTEGER) + 1) AS DATE) - 1)"


@compiles(month_end, "sqlite")
def _month_end_sqlite(element: month_end, compiler: Any, **kw: Any) -> str:
    day, months = compiler.process(element.day, **kw), compiler.process(element.months, **kw)
    return f"date({day}, 'start of month', '+' || ({months} + 1) || ' months', '-1 day')"


def retirement_months(birth: Any, gender: Any) -> ColumnElement[int]:
    """The statutory retirement age in months of a person born on `birth` (NULL for a gender without a track)."""
    whens = []
    for g, runs in schedule_runs().items():
        for (_first, age), (following, _next) in zip(runs, runs[1:], strict=False):
            whens.append((and_(gender == g, birth < following), literal(age)))
        whens.append((gender == g, literal(runs[-1][1])))
    return case(*whens, else_=null())


def _age_of(gender: str, month: int) -> int:
    """The retirement age in months of a person born in the month (months since year 0), from `schedule_runs`."""
    runs = schedule_runs()[gender]
    age = runs[0][1]
    for first, months in runs:
        if first.year * 12 + first.month - 1 <= month:
            age = months
    return age


def retired_before(gender: str, day: date) -> date:
    """The first birth date of those not yet retired on `day`: a person born before it has retired (their last day in
    service is before `day`), one born on or after it has not. Exists because the birth month plus the retirement age
    grows strictly with the birth month."""
    target = day.year * 12 + day.month - 1
    lo, hi = target - 12 * 80, target  # retired at most 80 years after birth, and never before being born
    while lo < hi:
        mid = (lo + hi) // 2
        if mid + _age_of(gender, mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return date(max(1, lo // 12), lo % 12 + 1, 1)


def retirement_day(birth: Any, gender: Any) -> ColumnElement[date]:
    """The last day in service: the last day of the month in which the statutory age is reached."""
    return month_end(birth, retirement_months(birth, gender))


@dataclass(frozen=True)
class Award:
    """What a course awards, as qualification columns (the completed enrolment's own columns)."""

    course: str
    columns: tuple[tuple[str, Any], ...]


def course_awards(session: Session) -> tuple[Award, ...]:
    """The awards of the courses as known now, as the completed enrolment would record them."""
    from app.services.person_records import SPECS
    from app.services.training import PERSON_OWN_KEY, award_of

    out = []
    for code, awards in session.execute(select(Course.code, Course.awards).where(Course.sys_to.is_(None),
                                                                                  Course.awards.is_not(None))):
        found = award_of("completed", date(2000, 1, 1), code, awards)
        if found is None:
            continue
        name, item = found
        spec = SPECS[name]
        cols = spec.to_columns({k: v for k, v in item.items() if k != PERSON_OWN_KEY}, {}) | {"kind": spec.qual_kind}
        out.append(Award(code, tuple((c, cols.get(c)) for c in COLUMNS)))
    return tuple(sorted(out, key=lambda a: a.course))


@dataclass(frozen=True)
class Projected:
    """A projection's moves from D0 (`start`): retirements always; expected completions when `awards` is given."""

    start: date
    awards: tuple[Award, ...] | None = None
    overdue: bool = False  # also award enrolments still under way whose expected completion is on or before D0
    digest: str = field(init=False, default="")

    def values(self, as_of: date) -> dict[str, date]:
        """The bound parameters of the moves on the date: D0, and per gender the birth dates between which a
        person retires after D0 and before the date (`retired_before`)."""
        found = {PROJECTED_FROM: self.start, AWARDS_AFTER: date.min if self.overdue else self.start}
        for gender in schedule_runs():
            found[f"retiring_{gender}_from"] = retired_before(gender, self.start)
            found[f"retiring_{gender}_to"] = retired_before(gender, as_of)
        return found

    def __post_init__(self) -> None:
        raw = json.dumps([[a.course, list(a.columns)] for a in self.awards or ()], default=str)
        object.__setattr__(self, "digest", hashlib.sha256(raw.encode()).hexdigest()[:16])

    @property
    def key(self) -> tuple[Any, ...]:
        """What the shape of a statement depends on (the date D0 is a parameter)."""
        return ("training", self.digest) if self.awards is not None else ("no_training",)

    def not_retired(self, model: Any, ctx: "Ctx") -> ColumnElement[bool]:
        """The record (employment, position, seat) has not ended by the holder's retirement by the date.

        Whether a person retired after D0 and before the date is a range of birth dates per gender (the last day in
        service grows with the birth month: `retired_before`), so the persons concerned are found by two comparisons;
        only for a record that starts after D0 is the retirement day itself computed (a start decided after it
        stands: it was not in force when the person retired)."""
        pv = aliased(PersonVersion)
        retiring = or_(*[and_(pv.gender == g, pv.birth_date >= bindparam(f"retiring_{g}_from", type_=Date()),
                              pv.birth_date < bindparam(f"retiring_{g}_to", type_=Date())) for g in schedule_runs()])
        retired = (
            select(pv.id)
            .where(pv.person_id == model.person_id, ctx.current(pv), retiring,
                   or_(model.start_date <= start(), model.start_date <= retirement_day(pv.birth_date, pv.gender)))
            .correlate_except(pv)
            .exists()
        )
        return ~retired

    def pending(self) -> Any:
        """The qualifications pending enrolments award on their expected completion after D0, as qualification rows.

        A pending award's columns are read from its course code by CASE (the courses' awards written in the
        statement, quoted by the dialect at execution): a per-person subquery reading them looks at the person's own
        enrolment rows only, with no join to run for each person."""
        e = Enrolment.__table__
        awards = self.awards or ()
        columns = []
        for name, type_ in COLUMNS.items():
            given = {a.course: dict(a.columns)[name] for a in awards if dict(a.columns)[name] is not None}
            columns.append((case({_inline(k, String(64)): _inline(v, type_) for k, v in given.items()}, value=e.c.course,
                                 else_=cast(null(), type_)) if given else cast(null(), type_)).label(name))
        codes = bindparam("awarding_courses", value=[a.course for a in awards] or [""], expanding=True,
                          literal_execute=True, type_=String(64))
        return (
            select((-e.c.id).label("id"), e.c.person_id, *columns, e.c.expected_completion.label("awarded_on"),
                   literal(0, Integer()).label("sys_from"), cast(null(), Integer()).label("sys_to"))
            .where(e.c.status.in_(PENDING), e.c.expected_completion > awards_after(), e.c.sys_to.is_(None),
                   e.c.course.in_(codes))
            .subquery("pending_qualification")
        )


def _inline(value: Any, type_: Any) -> Any:
    """A constant written into the statement when it runs (quoted by the dialect), not a bound parameter."""
    return literal(value, type_, literal_execute=True)
