"""A training plan beside what happened: enrolled, completed and spent in the year under the unit, and the need.

Under the unit: persons with an employment, in the unit's subtree as it stands on `need_on`, that overlaps the
year. An enrolment starts on its own start date, else its course's. It counts in one line at most: the line of
its course's kind and award, else the line of its kind without an award; otherwise in `unmatched`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import Course, Employment, Enrolment
from app.services import training_needs, tree
from app.services.versioning import current_or_at

ZERO = {"enrolled": 0, "completed": 0, "spent": 0}


@dataclass(frozen=True)
class Done:
    """One enrolment that counts in the year: its course's kind and award, and what it adds."""

    kind: str
    award: tuple[str, str] | None
    enrolled: int
    completed: int
    spent: int


def need_on(year: int, today: date) -> date:
    """The date the need is counted on: 31 December of the year, or today during the year."""
    return today if year == today.year else date(year, 12, 31)


def award_key(awards: dict[str, Any] | None) -> tuple[str, str] | None:
    """(list name, level code) of an award as courses and plan lines write it, or None."""
    if not isinstance(awards, dict) or len(awards) != 1:
        return None
    name, item = next(iter(awards.items()))
    level = item.get("level") if isinstance(item, dict) else None
    return None if level is None else (name, str(level))


def enrolments_of_year(session: Session, unit_id: int, year: int, on: date, cut: int | None) -> list[Done]:
    """The enrolments under the unit that started or were completed in the year."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    persons = (select(Employment.person_id).where(
        current_or_at(Employment, cut), Employment.org_unit_id.in_(tree.subtree(unit_id, on)),
        Employment.start_date <= last, or_(Employment.end_date.is_(None), Employment.end_date >= first)))
    start = func.coalesce(Enrolment.start_date, Course.start_date)
    started = and_(start.between(first, last), Enrolment.status != "planned")
    completed = and_(Enrolment.status == "completed", Enrolment.completed_on.between(first, last))
    rows = session.execute(
        select(Course.kind, Course.awards, Enrolment.cost, Course.cost_per_person, started.label("started"),
               completed.label("completed"))
        .join(Course, and_(Course.code == Enrolment.course, current_or_at(Course, cut)))
        .where(current_or_at(Enrolment, cut), Enrolment.person_id.in_(persons), or_(started, completed))
        .order_by(Enrolment.id))
    return [Done(r.kind, award_key(r.awards), int(bool(r.started)), int(bool(r.completed)),
                 (r.cost if r.cost is not None else r.cost_per_person or 0) if r.started else 0) for r in rows]


def line_figures(lines: list[dict[str, Any]], done: Iterable[Done]) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Per line (in order) and unmatched: enrolled, completed, spent."""
    exact = {(ln["kind"], award_key(ln["awards"])): i for i, ln in enumerate(lines) if ln["awards"] is not None}
    loose = {ln["kind"]: i for i, ln in enumerate(lines) if ln["awards"] is None}
    figures, unmatched = [dict(ZERO) for _ in lines], dict(ZERO)
    for d in done:
        i = exact.get((d.kind, d.award), loose.get(d.kind))
        target = unmatched if i is None else figures[i]
        target["enrolled"] += d.enrolled
        target["completed"] += d.completed
        target["spent"] += d.spent
    return figures, unmatched


def progress(session: Session, plan: dict[str, Any], unit_id: int, cut: int | None, today: date, *,
             named: bool) -> dict[str, Any]:
    """The plan with, beside each line, enrolled, completed, spent and need; totals; the unmatched enrolments.

    `named` false (a role that gets counts only): a need under the threshold is withheld (null, `need_suppressed`),
    as the training needs withhold the same group."""
    on = need_on(plan["year"], today)
    figures, unmatched = line_figures(plan["lines"], enrolments_of_year(session, unit_id, plan["year"], on, cut))
    missing = training_needs.missing_counts(session, unit_id, on)
    lines = []
    for line, fig in zip(plan["lines"], figures, strict=True):
        award = award_key(line["awards"])
        need = None if award is None else missing.get(award, 0)
        withheld = need is not None and not named and training_needs.hidden(need)
        lines.append(line | fig | {"need": None if withheld else need} | ({"need_suppressed": True} if withheld else {}))
    totals = {k: sum(ln[k] for ln in lines) for k in ("seats", "budget", "enrolled", "completed", "spent")}
    return plan | {"lines": lines, "totals": totals, "unmatched": {"seats": 0, "budget": 0} | unmatched,
                   "need_on": on.isoformat()}
