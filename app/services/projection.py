"""Will the unit reach the target by the deadline? The projection, its events, the gap and who closes it.

planning.md, 'Projection' and 'The gap and who closes it'. The figures of every date are the indicator's own
compiled statements (the ones `/value` runs), evaluated on that date with a projection's moves in the context
(`app/services/indicators/moves.py`: statutory retirements, expected completions): set-based, one statement
per date and scenario, never a query per person. The events that move each figure are read afterwards for the
persons whose state changed between two dates only.
"""

import os
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.pool import QueuePool

from app.errors import Forbidden, InvalidInput
from app.models import (
    Course,
    Employment,
    Enrolment,
    Membership,
    OrgUnit,
    OrgUnitParent,
    OrgUnitVersion,
    Person,
    PersonVersion,
    Position,
    Qualification,
)
from app.services import codelists, retirement
from app.services.context import Actor
from app.services.indicators import catalog, compiler, disclosure, kinds, ratios, service
from app.services.indicators.fields import FIELDS, ROOT, Ctx, Row
from app.services.indicators.moves import PENDING, Projected, course_awards
from app.services.indicators.spec import AllOf, Atom, IndicatorSpec, atoms

TRAINING = ("none", "expected", "completion_rate")
SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")  # what pg_export_snapshot() answers, e.g. 00000003-0000001B-1
PROJECTED_KINDS = ("ratio", "per_capita", "coverage")
FINISHED = ("completed", "failed", "withdrawn")
ASSUMPTIONS = [
    "from the registry as it stands on the first date, as known now",
    "statutory retirement (Labour Code 2019 art. 169, Decree 135/2020 Appendix I): every employment, position and "
    "seat in force at the end of the month the age is reached ends then; special regimes are not applied",
    "records already dated in the future (ends of terms, starts decided) and ages move as recorded",
    "no recruitment and no other departure",
]
# the qualification kinds each field reads: what a course must award to change it (closable by training)
QUALIFICATION_FIELDS: dict[str, tuple[str, ...]] = {
    "person.highest_degree": ("degree",),
    "person.highest_foreign_language": ("language",),
    "person.highest_political_theory": ("political_theory",),
    "person.highest_state_management": ("state_management",),
    "person.highest_specialist": ("specialty",),
    "person.postgraduate": ("degree", "specialty"),
    "person.international": ("language", "degree"),
    "person.ethnic_language_fluent": ("language",),
    "person.ethnic_language_local": ("language",),
    "person.meets_standard.job": ("degree", "political_theory", "state_management"),
    "person.meets_standard.positions": ("degree", "political_theory", "state_management"),
    "person.meets_standard.occupation": ("degree", "political_theory", "state_management"),
    "person.meets_standard.category_degree": ("degree",),
}
CLOSED_BY = {
    "vi": "bổ nhiệm, điều động, luân chuyển và quy hoạch cán bộ (không phải đào tạo)",
    "en": "appointments, transfers and planning pools (not training)",
}
State = tuple[float, float]  # (in the population, in the numerator): 0/1, or expected values


@dataclass
class Setup:
    code: str
    spec: IndicatorSpec
    unit_id: int
    org_unit: str
    start: date
    end: date
    training: str
    book: codelists.CodeBook
    awards: Any

    def projected(self, training: str, overdue: bool = False) -> Projected:
        return Projected(self.start, self.awards if training != "none" else None, overdue)

    def ctx(self, day: date, training: str, overdue: bool = False) -> Ctx:
        return Ctx(as_of=day, cut=None, book=self.book, policy=self.spec.policy,
                   projection=self.projected(training, overdue))


def _setup(session: Session, actor: Actor, code: str, *, org_unit: str, start: date, end: date | None,
           training: str, what: str) -> Setup:
    _row, spec = catalog.get(session, code)
    unit_id = service.unit_in_reach(session, actor, org_unit)  # scope first: a refusal tells nothing of the unit
    if disclosure.protects(actor, spec):
        raise Forbidden("this population is defined by sensitive personal data: its projection singles out persons; "
                        "only the published aggregates are shown to your role", code="sensitive_population")
    kind = kinds.of(spec)
    if kind.name not in PROJECTED_KINDS:
        raise InvalidInput(f"indicator {code!r} is a {spec.kind}: only ratios, per-capita figures and coverage are "
                           "projected (flow counts and reported statistics have no projection)", code="no_projection",
                           errors=[{"field": "code", "message": f"a {spec.kind} has no projection"}])
    if training not in TRAINING:
        raise InvalidInput(f"training must be one of {', '.join(TRAINING)}", code="invalid_training",
                           errors=[{"field": "training", "message": f"unknown scenario {training!r}"}])
    if training == "completion_rate" and not person_level(spec):
        raise InvalidInput(f"indicator {code!r} counts units, not persons: completion_rate needs persons",
                           code="invalid_training", errors=[{"field": "training", "message": "use none or expected"}])
    if end is None:
        if spec.deadline is None:
            raise InvalidInput(f"indicator {code!r} has no deadline: give the last date", code="missing_date",
                               errors=[{"field": what, "message": "required: the indicator has no deadline"}])
        end = spec.deadline
    if end < start:
        raise InvalidInput(f"{what} ({end}) is before from ({start})", code="invalid_range",
                           errors=[{"field": what, "message": f"must be on or after from ({start})"}])
    if end.year - start.year > 50:
        raise InvalidInput("a projection spans at most 50 years", code="invalid_range",
                           errors=[{"field": what, "message": "at most 50 years after from"}])
    return Setup(code, spec, unit_id, org_unit, start, end, training, codelists.load(session),
                 course_awards(session) if training != "none" else None)


def person_level(spec: IndicatorSpec) -> bool:
    """Whether the indicator counts persons (a drill-down names them), not units."""
    return type(kinds.of(spec)).drill is not kinds.Kind.drill


def point_dates(start: date, end: date) -> list[date]:
    """D0, every 31 December strictly between, and D1 (once when they are the same day)."""
    years = [date(y, 12, 31) for y in range(start.year, end.year + 1)]
    return sorted({start, end, *[d for d in years if start < d < end]})


def _states(session: Session, setup: Setup, day: date, training: str) -> dict[int, State]:
    """Every person of the population under the unit on the day, with the scenario's moves: (1, in numerator)."""
    drilled = kinds.of(setup.spec).drill(session, setup.spec, setup.ctx(day, training), setup.unit_id) or {}
    return {pid: (1.0, float(flag)) for pid, (flag, _extra) in drilled.items()}


def _pending(session: Session, setup: Setup, overdue: bool = False) -> dict[int, list[dict[str, Any]]]:
    """Per person, the pending enrolments (planned, enrolled) completing after D0 (with `overdue`, those still under way
    whose expected completion is on or before D0 too, marked) in a course that awards something."""
    awarding = {a.course: dict(a.columns) for a in (setup.awards or ())}
    after = Enrolment.expected_completion > setup.start if not overdue else Enrolment.expected_completion.is_not(None)
    rows: Any = session.execute(
        select(Enrolment.person_id, Enrolment.course, Enrolment.expected_completion, Enrolment.status, Course.kind)
        .join(Course, and_(Course.code == Enrolment.course, Course.sys_to.is_(None)))
        .where(Enrolment.sys_to.is_(None), Enrolment.status.in_(PENDING), after,
               Enrolment.expected_completion <= setup.end, Enrolment.course.in_(sorted(awarding)))
    ) if awarding else []
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pid, course, due, status, kind in rows:
        out[pid].append({"course": course, "expected_completion": due, "status": status, "course_kind": kind,
                         "awards": awarding[course].get("kind"), "overdue": due <= setup.start})
    return out


def completion_rates(session: Session, setup: Setup) -> dict[str, dict[str, Any]]:
    """Per course kind, the unit's historic completion rate: completed / (completed + failed + withdrawn), over the
    enrolments (as known now) of persons employed on D0 under the unit; 1 where none has finished."""
    ctx = setup.ctx(setup.start, "none")
    units, params = compiler.prepared("scope_units", setup.spec, ctx, lambda fresh: select(compiler.subtree(fresh).c.unit_id))
    under = list(session.scalars(units, params | {ROOT: setup.unit_id}))
    employed = (select(Employment.person_id).where(
        Employment.org_unit_id.in_(under), Employment.sys_to.is_(None), Employment.start_date <= setup.start,
        or_(Employment.end_date.is_(None), Employment.end_date >= setup.start)))
    rows = session.execute(
        select(Course.kind, Enrolment.status)
        .join(Course, and_(Course.code == Enrolment.course, Course.sys_to.is_(None)))
        .where(Enrolment.sys_to.is_(None), Enrolment.status.in_(FINISHED), Enrolment.person_id.in_(employed))
    ).all() if under else []
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for kind, status in rows:
        tally[kind][0] += status == "completed"
        tally[kind][1] += 1
    return {kind: {"completed": c, "finished": n, "rate": c / n} for kind, (c, n) in sorted(tally.items())}


def _rate(rates: dict[str, dict[str, Any]], kind: str) -> float:
    found = rates.get(kind)
    return found["rate"] if found else 1.0


def _weighted(s0: dict[int, State], s1: dict[int, State], pending: dict[int, list[dict[str, Any]]],
              rates: dict[str, dict[str, Any]], day: date) -> dict[int, State]:
    """E[state] = none + (expected - none) x the chance that every pending completion due by the day happens."""
    out: dict[int, State] = {}
    for pid in s0.keys() | s1.keys():
        a0, n0 = s0.get(pid, (0.0, 0.0))
        a1, n1 = s1.get(pid, (0.0, 0.0))
        w = 1.0
        for e in pending.get(pid, []):
            if e["expected_completion"] <= day:
                w *= _rate(rates, e["course_kind"])
        out[pid] = (a0 + (a1 - a0) * w, n0 + (n1 - n0) * w)
    return out


def _figure(setup: Setup, day: date, num: Any, den: Any, extra: Any) -> dict[str, Any]:
    spec = setup.spec
    if isinstance(num, float) or isinstance(den, float):
        value = Fraction(num) / Fraction(den) if den else None
        num, den = round(num, 9), round(den, 9)
    else:
        value = service.value_of(spec, num, den, extra)
    return {"as_of": day.isoformat(), "numerator": num, "denominator": den,
            "value": ratios.as_number(value, whole_as_int=kinds.of(spec).whole_as_int) if value is not None else None,
            "status": ratios.status(value, spec.target), "band_position": ratios.band_position(value, spec.target)}


def _point(session: Session, setup: Setup, day: date, pending: dict[int, list[dict[str, Any]]],
           rates: dict[str, dict[str, Any]] | None) -> tuple[dict[str, Any], dict[int, State] | None]:
    """One date's figures and, for person-level kinds, every person's state."""
    spec, kind = setup.spec, kinds.of(setup.spec)
    if setup.training == "completion_rate":
        assert rates is not None
        states = _weighted(_states(session, setup, day, "none"), _states(session, setup, day, "expected"), pending,
                           rates, day)
        num = sum(n for _a, n in states.values())
        den = sum(a for a, _n in states.values())
        return _figure(setup, day, float(num), float(den), None), states
    ctx = setup.ctx(day, setup.training)
    num, den, extra = kind.counts(session, spec, ctx, setup.unit_id)
    figure = _figure(setup, day, num, den, extra)
    if service.tiered(spec):  # a target set at every level: not met while a tier with members is not (as /value)
        cells = service.tier_cells(spec, service._by_counts(session, spec, ctx, setup.unit_id, "tier"))
        figure["status"] = service.every_tier(figure["status"], cells)
    found = _states(session, setup, day, setup.training) if person_level(spec) else None
    return figure, found


def projection(session: Session, actor: Actor, code: str, *, org_unit: str, start: date, end: date | None,
               training: str) -> dict[str, Any]:
    """The indicator under the unit on D0, each 31 December, and D1, moved by dated events only, with the events."""
    setup = _setup(session, actor, code, org_unit=org_unit, start=start, end=end, training=training, what="to")
    pending = _pending(session, setup) if training != "none" else {}
    rates = completion_rates(session, setup) if training == "completion_rate" else None
    points, states = [], []
    for day in point_dates(setup.start, setup.end):
        point, state = _point(session, setup, day, pending, rates)
        points.append(point)
        states.append(state)
    answer: dict[str, Any] = {
        "indicator": code, "org_unit": org_unit, "from": setup.start.isoformat(), "to": setup.end.isoformat(),
        "training": training, "target": service._target(setup.spec), "kind": setup.spec.kind,
        "names": setup.spec.names, "points": points, "assumptions": _assumptions(training),
    }
    if rates is not None:
        answer["completion_rates"] = rates
        if service.tiered(setup.spec):
            answer["tiers"] = ("a target set at every level: under completion_rate the status is that of the whole "
                               "unit's expected value; the every-level rule is applied under none and expected")
    if any(s is None for s in states):
        answer["events"] = []
        answer["note"] = "a coverage counts units, not persons: the points are given, the events are not"
        return answer
    found = _events(session, setup, [date.fromisoformat(p["as_of"]) for p in points],
                    [s for s in states if s is not None], pending)
    answer["events"] = _disclosed_events(session, actor, setup, found, answer)
    return answer


def projections(session: Session, actor: Actor, code: str, *, under: str | None, start: date, end: date | None,
                training: str) -> dict[str, Any]:
    """Every unit in the caller's reach (under `under`) at once: one all-units pass per date (no events).

    Column by column (each unit's numerators at the `dates`, then its denominators, ...): a national registry has
    some 140,000 units, and 840,000 points as objects cost seconds to check and write."""
    if training == "completion_rate":
        raise InvalidInput("completion_rate weighs each unit's own history: ask /projection for one unit",
                           code="invalid_training", errors=[{"field": "training", "message": "use none or expected"}])
    root = under or _a_root(session, actor)
    setup = _setup(session, actor, code, org_unit=root, start=start, end=end, training=training, what="to")
    days = point_dates(setup.start, setup.end)
    columns = ("numerator", "denominator", "value", "status", "band_position")
    units: dict[str, dict[str, list[Any]]] = {}
    answers = in_parallel(session, days, lambda s, day: service.evaluate_all(
        s, actor, code, as_of=day, under=under, projection=setup.projected(training)))
    for i, items in enumerate(answers):
        for item in items:
            unit = units.setdefault(item["org_unit"], {c: [None] * len(days) for c in columns})
            for c in columns:
                unit[c][i] = item.get(c)
    return {"indicator": code, "under": under, "from": setup.start.isoformat(), "to": setup.end.isoformat(),
            "training": training, "target": service._target(setup.spec), "assumptions": _assumptions(training),
            "dates": [d.isoformat() for d in days],
            "units": [{"org_unit": unit, **figures} for unit, figures in sorted(units.items())]}


def in_parallel(session: Session, days: list[date], work: Callable[[Session, date], Any]) -> list[Any]:
    """`work` for each date; on PostgreSQL in parallel sessions (one per core) that share this transaction's snapshot
    (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`), so every date reads the same data as a sequential run would.
    Elsewhere, or when the snapshot cannot be shared, one date after the other in this session."""
    workers = min(len(days), len(os.sched_getaffinity(0)))
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or workers < 2 or not isinstance(bind, Engine) or not _free(bind, workers):
        return [work(session, day) for day in days]
    try:  # (not in a savepoint: a snapshot is exported from a top-level transaction only)
        snapshot = str(session.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    except DBAPIError:  # the request has only read: a new transaction reads on, one date after the other
        session.rollback()
        return [work(session, day) for day in days]
    if not SNAPSHOT_ID.fullmatch(snapshot):
        return [work(session, day) for day in days]

    def one(day: date) -> Any:
        # a connection of its own, closed after (not kept in the pool: a request needs these for seconds, and idle
        # extra connections of every engine add up against the server's max_connections)
        with bind.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                conn.execute(text("SET TRANSACTION READ ONLY"))
                with Session(bind=conn) as own:
                    return work(own, day)
            finally:
                conn.rollback()
                conn.invalidate()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="projection") as pool:
        return list(pool.map(one, days))


def _free(engine: Engine, wanted: int) -> bool:
    """Whether the engine's pool has `wanted` connections free now: a request that holds one of its connections and
    waits for more would wait for the others' (with every connection so held, for the pool's timeout)."""
    pool = engine.pool
    return not isinstance(pool, QueuePool) or pool.size() - pool.checkedout() >= wanted


def _a_root(session: Session, actor: Actor) -> str:
    """A unit the caller may read, for the checks of `_setup` when no unit is named (the scope itself is evaluate_all's)."""
    from app.services import tree

    allowed = tree.reach(session, actor)
    found = session.scalar(select(OrgUnit.code).where(OrgUnit.id.in_(sorted(allowed))).limit(1)) if allowed is not None \
        else session.scalar(select(OrgUnit.code).limit(1))
    if found is None:
        raise Forbidden("no org unit is in your reach", code="out_of_scope")
    return found


def sql(session: Session, actor: Actor, code: str, *, org_unit: str, start: date, as_of: date | None,
        training: str) -> dict[str, Any]:
    """The statements a projection runs for its figures on one date (binds inlined): the indicator's own, with the
    scenario's moves (`training=completion_rate` runs those of none and expected and weighs them per person)."""
    setup = _setup(session, actor, code, org_unit=org_unit, start=start, end=as_of, training=training, what="as_of")
    scenarios = ("none", "expected") if training == "completion_rate" else (training,)
    statements = []
    for scenario in scenarios:
        for s in service.sql_statements(session, code, org_unit=org_unit, as_of=setup.end,
                                        projection=setup.projected(scenario)):
            statements.append(s | {"purpose": f"training={scenario}: {s['purpose']}"} if len(scenarios) > 1 else s)
    return {"indicator": code, "org_unit": org_unit, "from": setup.start.isoformat(), "as_of": setup.end.isoformat(),
            "training": training, "dialect": session.get_bind().dialect.name,
            "sql": service.sql_script(statements), "statements": statements}


def _assumptions(training: str) -> list[str]:
    said = list(ASSUMPTIONS)
    if training == "none":
        said.append("training=none: no enrolment awards anything after the first date")
    elif training == "expected":
        said.append("training=expected: each planned or enrolled enrolment awards its course's qualification on its "
                    "expected completion")
    else:
        said.append("training=completion_rate: each planned or enrolled enrolment's award is weighed by the unit's "
                    "historic completion rate for its course kind (completion_rates); a person's figure is the expected "
                    "value, counting a change only when all of their completions due by the date happen (exact for "
                    "one pending completion)")
    return said


def _birthday(birth: date, years: int) -> date:
    """The first date on which a person born on `birth` is `years` old (as `age_cutoff` counts: 29 February -> 1 March)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def _ages(spec: IndicatorSpec) -> set[int]:
    """The ages at which a person's place in the definition can change (its age conditions)."""
    flts = [spec.share] + ([spec.population.where, *[a.where for a in spec.population.anchors]] if spec.population else [])
    out: set[int] = set()
    for flt in flts:
        for atom in atoms(flt):
            if FIELDS[atom.field].type == "age":
                value = atom.value(atom.op)
                years = int(value[0] if isinstance(value, list) else value)
                out |= {years, years + 1}
    return out


def _events(session: Session, setup: Setup, days: list[date], states: list[dict[int, State]],
            pending: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The dated events of the persons whose state changed between two points; the last one of each person in an
    interval carries the person's change (numerator, denominator), earlier ones 0."""
    moved: list[tuple[date, date, int, State]] = []
    for i in range(1, len(days)):
        before, after = states[i - 1], states[i]
        for pid in before.keys() | after.keys():
            a0, n0 = before.get(pid, (0.0, 0.0))
            a1, n1 = after.get(pid, (0.0, 0.0))
            if (a0, n0) != (a1, n1):
                moved.append((days[i - 1], days[i], pid, (a1 - a0, n1 - n0)))
    if not moved:
        return []
    ids = sorted({m[2] for m in moved})
    dated = _dated(session, setup, ids, pending)
    tree_changes = _tree_changes(session, setup.start, setup.end)
    out = []
    for lo, hi, pid, (d_den, d_num) in moved:
        mine = [e for e in dated.get(pid, []) if lo < e["date"] <= hi]
        if not mine:
            changes = [d for d in tree_changes if lo < d <= hi]
            mine = [{"date": changes[0] if changes else None, "kind": "org_unit" if changes else "unexplained"}]
        mine.sort(key=lambda e: (e["date"] or hi, e["kind"]))
        for i, e in enumerate(mine):
            last = i == len(mine) - 1
            out.append({"person_id": pid, "point": hi, **e,
                        "numerator": _delta(d_num) if last else 0, "denominator": _delta(d_den) if last else 0})
    out.sort(key=lambda e: (e["point"], e["date"] or e["point"], e["kind"], e["person_id"]))
    for e in out:
        e["point"] = e["point"].isoformat()
        e["date"] = e["date"].isoformat() if e["date"] else None
    return out


def _delta(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 9)


def _dated(session: Session, setup: Setup, ids: list[int], pending: dict[int, list[dict[str, Any]]]
           ) -> dict[int, list[dict[str, Any]]]:
    """Per person: birthdays at the definition's ages, retirement, starts and ends of records, awards, completions."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ages = _ages(setup.spec)
    for chunk in _chunks(ids):
        for pid, birth, gender in session.execute(select(PersonVersion.person_id, PersonVersion.birth_date,
                                                         PersonVersion.gender)
                                                  .where(PersonVersion.person_id.in_(chunk), PersonVersion.sys_to.is_(None))):
            for years in sorted(ages):
                out[pid].append({"date": _birthday(birth, years), "kind": "age", "age": years})
            try:
                reached = retirement.reached(birth, gender)
            except (KeyError, ValueError):
                continue
            if reached.on >= setup.start:
                out[pid].append({"date": reached.on + timedelta(days=1), "kind": "retirement",
                                 "last_day": reached.on.isoformat(), "source": reached.source})
        for model, subject, unit_col in ((Employment, "employment", Employment.org_unit_id),
                                         (Position, "position", Position.org_unit_id),
                                         (Membership, "membership", Membership.body_id)):
            unit = aliased(OrgUnit)
            for pid, s, end, code in session.execute(
                    select(model.person_id, model.start_date, model.end_date, unit.code)
                    .join(unit, unit.id == unit_col)
                    .where(model.person_id.in_(chunk), model.sys_to.is_(None),
                           or_(model.start_date > setup.start, model.end_date >= setup.start))):
                if s > setup.start:
                    out[pid].append({"date": s, "kind": "record_start", "subject": subject, "org_unit": code})
                if end is not None and end >= setup.start:
                    out[pid].append({"date": end + timedelta(days=1), "kind": "record_end", "subject": subject,
                                     "org_unit": code})
        for pid, kind, awarded in session.execute(
                select(Qualification.person_id, Qualification.kind, Qualification.awarded_on)
                .where(Qualification.person_id.in_(chunk), Qualification.sys_to.is_(None),
                       Qualification.awarded_on > setup.start)):
            out[pid].append({"date": awarded, "kind": "record_start", "subject": "qualification", "qualification": kind})
    for pid in ids:
        for e in pending.get(pid, []):
            out[pid].append({"date": e["expected_completion"], "kind": "training", "course": e["course"],
                             "status": e["status"]})
    return out


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _tree_changes(session: Session, start: date, end: date) -> list[date]:
    """The days after D0 on which a unit opens, closes (the day after) or moves (links start, end the day after)."""
    days: set[date] = set()
    for model, lo, hi in ((OrgUnitVersion, OrgUnitVersion.valid_from, OrgUnitVersion.valid_to),
                          (OrgUnitParent, OrgUnitParent.start_date, OrgUnitParent.end_date)):
        for a, b in session.execute(select(lo, hi).where(model.sys_to.is_(None), or_(lo > start, hi >= start))):
            if start < a <= end:
                days.add(a)
            if b is not None and start <= b < end:
                days.add(b + timedelta(days=1))
    return sorted(days)


def _disclosed_events(session: Session, actor: Actor, setup: Setup, found: list[dict[str, Any]],
                      answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Events naming their persons for the roles that see persons (within the caller's units); counts otherwise."""
    from app.services.training_needs import hidden, names_persons

    if names_persons(actor):
        ids = sorted({e["person_id"] for e in found})
        outside = service.outside_reach(session, actor, ids)
        rows: Any = session.execute(select(Person.id, Person.external_id).where(Person.id.in_(ids))) if ids else []
        external = {r[0]: r[1] for r in rows}
        shown = [{"person": external[e.pop("person_id")], **e} for e in found if e["person_id"] not in outside]
        if outside:
            answer["not_listed_outside_your_units"] = len(outside)
        service._log_disclosed(session, actor, setup.spec, sorted(set(ids) - outside), org_unit=setup.org_unit,
                               as_of=setup.end)
        return shown
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for e in found:
        if e["numerator"] == 0 and e["denominator"] == 0:
            continue
        g = groups.setdefault((e["point"], e["kind"]), {"point": e["point"], "kind": e["kind"], "persons": 0,
                                                         "numerator": 0, "denominator": 0})
        g["persons"] += 1
        g["numerator"] += e["numerator"]
        g["denominator"] += e["denominator"]
    out = []
    for g in groups.values():
        if hidden(g["persons"]):
            g |= {"persons": None, "numerator": None, "denominator": None, "suppressed": True}
        out.append(g)
    return out


# ---------------------------------------------------------------------------------------------------- the gap


def needed(num: Any, den: Any, spec: IndicatorSpec) -> int | None:
    """The smallest k >= 0 with (num + k) / den meeting the target (exact fractions; a per-capita figure: (num + k)
    per `per` inhabitants); None without one, or for a cap."""
    target = spec.target
    if target is None or not den or target.direction == "at_most":
        return None
    n, d = Fraction(num), Fraction(den)
    low = target.band[0]
    if low is None:
        return 0
    per = Fraction(spec.per) if kinds.of(spec).name == "per_capita" and spec.per else Fraction(1)  # (num + k) x per / den
    gap = ratios.exact(low) * d / per - n
    if gap < 0 or (gap == 0 and not target.strict):
        return 0
    k = int(gap) if gap.denominator == 1 else int(gap) + 1  # the ceiling
    if target.strict and Fraction(k) == gap:
        k += 1
    return k


def _needed_at_every_tier(session: Session, actor: Actor, setup: Setup, day: date, overall: int) -> dict[str, Any]:
    """`needed` of a target set at every level (domain.md: met only when the floor is reached at each tier that has
    members): each tier's own lack, summed, or the whole's when that is more. Persons who meet the condition at one
    tier do not raise another's share, so each tier's lack is closed by its own members; a person seated at two tiers
    that both fall short closes a lack at each, and the sum is then one more than such a person needs.

    A role whose `/value` suppresses the cell of a tier of fewer members than the threshold (those shown persons
    without their sensitive fields, `service.small_tier`) is not told that tier's lack either, which would tell its
    count: `needed` is withheld."""
    cells = service.tier_cells(setup.spec, service._by_counts(session, setup.spec, setup.ctx(day, setup.training),
                                                              setup.unit_id, "tier"))
    small = {c["tier"] for c in cells if c["denominator"] and c["denominator"] < service.threshold()}
    lacks = {c["tier"]: needed(c["numerator"], c["denominator"], setup.spec) or 0 for c in cells if c["denominator"]}
    total = sum(lacks.values())
    if not total:
        return {}
    if not actor.sees_sensitive and any(lacks[t] for t in small):
        return {"needed": None, "suppressed": True,
                "needed_note": "withheld from your role: a tier of fewer members than the suppression threshold falls "
                               "short at every level, and its lack would tell its count"}
    return {"needed": max(overall, total),
            "needed_note": "a target set at every level: the lacks of the tiers that fall short, summed ("
                           + ", ".join(f"{tier} {k}" for tier, k in lacks.items() if k)
                           + "); a person seated at two of them closes a lack at each"}


def _share_atoms(spec: IndicatorSpec) -> list[Atom] | None:
    """The share's conditions, each a lack of its own (an atom, or every atom of a top-level `all`); None otherwise."""
    share = spec.share
    if isinstance(share, Atom):
        return [share]
    if isinstance(share, AllOf) and all(isinstance(f, Atom) for f in share.all):
        return [f for f in share.all if isinstance(f, Atom)]
    return None


def _past(atom: Atom, held: Any, ctx: Ctx) -> bool:
    """The person holds more than an exact condition asks (CK2 where exactly CK1 counts): no course closes that."""
    if atom.op not in ("eq", "in") or held is None:
        return False
    field = FIELDS[atom.field]
    value = atom.value(atom.op)
    wanted = value if isinstance(value, list) else [value]
    if field.type == "ordinal" and field.list_name:
        orders = [ctx.book.order(field.list_name, v) for v in wanted]
    elif field.type == "int":
        orders = [int(v) for v in wanted]
    else:
        return False
    return int(held) > max(orders)


def _closable(atom: Atom) -> bool:
    return atom.field in QUALIFICATION_FIELDS and atom.op in ("gte", "gt", "eq", "is", "in")


def _evaluated(session: Session, ctx: Ctx, conditions: list[Atom], ids: list[int]) -> dict[int, list[tuple[Any, bool]]]:
    """Per person, each condition's (value of its field, whether it holds) on the context's date."""
    out: dict[int, list[tuple[Any, bool]]] = {}
    person = aliased(PersonVersion)
    row = Row("person", person.person_id, None, None, person)
    cols = []
    for i, atom in enumerate(conditions):
        cols.append(FIELDS[atom.field].sql(row, ctx).label(f"v{i}"))
        cols.append(compiler.compile_atom(atom, row, ctx).label(f"ok{i}"))
    for chunk in _chunks(ids):
        stmt = select(person.person_id, *cols).where(person.person_id.in_(chunk), ctx.current(person))
        for r in session.execute(stmt, ctx.values()):
            out[r[0]] = [(r[1 + 2 * i], bool(r[2 + 2 * i])) for i in range(len(conditions))]
    return out


def _required(atom: Atom, ctx: Ctx) -> tuple[Any, int | None]:
    """(the required value as written, its order when the field is ordered)."""
    field = FIELDS[atom.field]
    value = atom.value(atom.op)
    if field.type == "ordinal" and field.list_name and not isinstance(value, list):
        return value, ctx.book.order(field.list_name, value)
    if field.type == "int" and not isinstance(value, list):
        return value, int(value)
    return value, None


def _short_by(atom: Atom, held: Any, ctx: Ctx) -> int:
    _value, order = _required(atom, ctx)
    if order is None or held is None:
        return 1
    wanted = order + (1 if atom.op == "gt" else 0)
    return max(1, wanted - int(held))


def gap(session: Session, actor: Actor, code: str, *, org_unit: str, start: date, as_of: date | None,
        training: str) -> dict[str, Any]:
    """How many more persons must meet the condition on the date, and the candidates who can, ranked."""
    setup = _setup(session, actor, code, org_unit=org_unit, start=start, end=as_of, training=training, what="as_of")
    spec, day = setup.spec, setup.end
    if not person_level(spec):
        raise InvalidInput(f"indicator {code!r} counts units, not persons: it has no candidates", code="no_projection",
                           errors=[{"field": "code", "message": "a coverage has no gap in persons"}])
    # what pending enrolments would award, whatever the scenario: an enrolment due by the date covers a lack
    setup_all = Setup(**{**setup.__dict__, "awards": setup.awards if setup.awards is not None else course_awards(session)})
    rates = completion_rates(session, setup) if training == "completion_rate" else None
    point, states = _point(session, setup, day, _pending(session, setup_all), rates)
    # an enrolment still under way whose expected completion has passed covers a lack too (marked `overdue`): the
    # projection awards it nothing, since the registry as it stands on D0 does not hold it
    pending = _pending(session, setup_all, overdue=True)
    answer: dict[str, Any] = {
        "indicator": code, "org_unit": org_unit, "from": setup.start.isoformat(), "as_of": day.isoformat(),
        "training": training, "target": service._target(spec), "kind": spec.kind, "names": spec.names,
        **{k: point[k] for k in ("numerator", "denominator", "value", "status", "band_position")},
        "needed": needed(point["numerator"], point["denominator"], spec),
        "assumptions": _assumptions(training),
    }
    if service.tiered(spec) and training != "completion_rate" and answer["needed"] is not None:
        answer |= _needed_at_every_tier(session, actor, setup, day, answer["needed"])
    conditions = _share_atoms(spec)
    closable = conditions is not None and any(_closable(a) for a in conditions)
    answer["closable_by_training"] = closable
    assert states is not None
    base = states if training != "completion_rate" else _states(session, setup, day, "none")
    outside = sorted(pid for pid, (a, n) in base.items() if a > 0 and n < 1)
    if not closable or conditions is None:
        answer |= {"candidates": [], "candidates_count": 0, "beyond_training": len(outside), "closed_by": CLOSED_BY}
        return _disclose_candidates(session, actor, setup, answer)
    scenario = "none" if training == "completion_rate" else training
    here = _evaluated(session, setup_all.ctx(day, scenario), conditions, outside)
    hoped = _evaluated(session, setup_all.ctx(day, "expected", overdue=True), conditions, outside)
    ctx = setup.ctx(day, scenario)
    rows = _standard_rows(session, setup, setup_all, day, scenario, conditions, outside)
    candidates: list[dict[str, Any]] = []
    beyond = 0
    for pid in outside:
        held = here.get(pid, [])
        lacks = []
        for i, atom in enumerate(conditions):
            value, ok = held[i] if i < len(held) else (None, True)
            if ok:
                continue
            lacks.append((atom, value, hoped.get(pid, held)[i][1] if pid in hoped else False))
        if not lacks or any(not _closable(a) or _past(a, v, ctx) for a, v, _c in lacks):
            beyond += 1
            continue
        items = []
        for atom, value, covered in lacks:
            missed = rows.get((pid, atom.field))
            if missed:  # a title standard: the rows the person misses, level by level
                items += [m | {"covered_by": _cover_level(pending.get(pid, []), m, day, setup_all, ctx)} for m in missed]
                continue
            required, _order = _required(atom, ctx)
            cover = _cover(pending.get(pid, []), atom, day) if covered else None
            items.append({"field": atom.field, "held": service._readable(atom.field, value, ctx),
                          "required": required, "short_by": _short_by(atom, value, ctx), "covered_by": cover})
        candidates.append({"person_id": pid, "lacks": items, "enrolled": any(i["covered_by"] for i in items)})
    candidates.sort(key=lambda c: (not c["enrolled"], sum(i["short_by"] for i in c["lacks"]), c["person_id"]))
    answer |= {"candidates": candidates, "candidates_count": len(candidates), "beyond_training": beyond}
    return _disclose_candidates(session, actor, setup, answer)


STANDARD_SUBJECTS = {"person.meets_standard.job": ("rank", "occupation", "category"),
                     "person.meets_standard.positions": ("rank",), "person.meets_standard.occupation": ("occupation",),
                     "person.meets_standard.category_degree": ("category",)}
LEVEL_FIELDS = {"degrees": "person.highest_degree", "political_theory": "person.highest_political_theory",
                "state_management": "person.highest_state_management"}


def _standard_rows(session: Session, setup: Setup, setup_all: Setup, day: date, scenario: str,
                   conditions: list[Atom], ids: list[int]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """(person, title-standard field) -> the levels the person misses on the day, one per qualification (the highest
    required), with the rows that require it: the training needs' own query (`training_needs_queries.misses`)."""
    from app.services.training_needs import _held
    from app.services.training_needs_queries import misses

    fields = [a.field for a in conditions if a.field in STANDARD_SUBJECTS]
    if not fields or not ids:
        return {}
    wanted = set(ids)
    ctx = setup_all.ctx(day, scenario) if scenario != "none" else setup.ctx(day, "none")
    found = [m for m in misses(session, ctx, setup.unit_id) if m.person_id in wanted]
    out: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for field in fields:
        subjects = STANDARD_SUBJECTS[field]
        by: dict[tuple[int, str], list[Any]] = defaultdict(list)
        for m in found:
            if m.subject in subjects and (field != "person.meets_standard.category_degree" or m.qualification == "degrees"):
                by[(m.person_id, m.qualification)].append(m)
        for (pid, qualification), ms in sorted(by.items()):
            top = max(ms, key=lambda m: m.required_ord)
            out.setdefault((pid, field), []).append({
                "field": LEVEL_FIELDS[qualification], "for": field, "held": _held(ctx, qualification, top.held_ord),
                "required": top.required, "short_by": top.required_ord - top.held_ord, "required_ord": top.required_ord,
                "rows": sorted({(m.subject, m.code) for m in ms})})
    for items in out.values():
        for item in items:
            item["rows"] = [{"subject": s, "code": c} for s, c in item["rows"]]
    return out


def _cover_level(pending: list[dict[str, Any]], lack: dict[str, Any], day: date, setup_all: Setup,
                 ctx: Ctx) -> dict[str, Any] | None:
    """The enrolment due by the day whose course awards the qualification at the level required or above."""
    from app.services.training_needs_queries import CODE_LISTS

    qualification = next(q for q, f in LEVEL_FIELDS.items() if f == lack["field"])
    kind = {"degrees": "degree"}.get(qualification, qualification)
    awards = {a.course: dict(a.columns) for a in setup_all.awards or ()}
    wanted = lack.pop("required_ord")
    due = []
    for e in pending:
        award = awards.get(e["course"], {})
        if e["expected_completion"] > day or award.get("kind") != kind or award.get("code") is None:
            continue
        item = ctx.book.get(CODE_LISTS[qualification], str(award["code"]))
        if item is not None and item.ord is not None and item.ord >= wanted:
            due.append(e)
    if not due:
        return None
    e = max(due, key=lambda e: (e["expected_completion"], e["course"]))
    return {"course": e["course"], "expected_completion": e["expected_completion"].isoformat(), "status": e["status"]} \
        | ({"overdue": True} if e["overdue"] else {})


def _cover(pending: list[dict[str, Any]], atom: Atom, day: date) -> dict[str, Any] | None:
    """The enrolment due on or before the day that gives what the condition asks (the last one, when several)."""
    kinds_read = QUALIFICATION_FIELDS.get(atom.field, ())
    due = [e for e in pending if e["expected_completion"] <= day and e["awards"] in kinds_read]
    if not due:
        return None
    e = max(due, key=lambda e: (e["expected_completion"], e["course"]))
    return {"course": e["course"], "expected_completion": e["expected_completion"].isoformat(), "status": e["status"]} \
        | ({"overdue": True} if e["overdue"] else {})


def _disclose_candidates(session: Session, actor: Actor, setup: Setup, answer: dict[str, Any]) -> dict[str, Any]:
    from app.services.training_needs import hidden, names_persons

    found = answer["candidates"]
    if not names_persons(actor):
        count = len(found)
        enrolled = sum(1 for c in found if c["enrolled"])
        answer |= {"candidates": None, "candidates_count": None if hidden(count) else count,
                   "candidates_enrolled": None if hidden(count) else enrolled}
        if hidden(count):
            answer["suppressed"] = True
        if hidden(answer["beyond_training"]):
            answer["beyond_training"] = None
        return answer
    ids = [c["person_id"] for c in found]
    outside = service.outside_reach(session, actor, ids)
    names = service._names(session, [i for i in ids if i not in outside], None)
    # enrolled first, then the fewest levels short, then by external id
    found = sorted((c for c in found if c["person_id"] not in outside), key=lambda c: (
        not c["enrolled"], sum(i["short_by"] for i in c["lacks"]), names[c["person_id"]][0]))
    shown: list[dict[str, Any]] = []
    for c in found:
        pid = c.pop("person_id")
        if pid in outside:
            continue
        shown.append({"external_id": names[pid][0], "full_name": names[pid][1], "rank": len(shown) + 1, **c})
    if outside:
        answer["not_listed_outside_your_units"] = len(outside)
    service._log_disclosed(session, actor, setup.spec, sorted(names), org_unit=setup.org_unit, as_of=setup.end)
    answer |= {"candidates": shown, "candidates_count": len(shown)}
    return answer
