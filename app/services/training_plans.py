"""Annual training plans of a unit (kế hoạch đào tạo, bồi dưỡng hằng năm): record, list, read; with history."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound
from app.models import OrgUnit, TrainingPlan, Txn
from app.schemas.training_plan import TrainingPlanRecord
from app.services import codelists, history, tree
from app.services.context import Actor
from app.services.versioning import current_or_at, retire

AWARD_CODE_LISTS = {"degrees": "degree_level", "languages": "foreign_language_level", "political_theory": "political_theory",
                    "state_management": "state_management", "specialties": "specialist_level", "it_skills": "it_skill"}


@dataclass
class Outcome:
    status: str
    record: dict[str, Any]


def key(code: str, year: int) -> str:
    return f"{code}|{year}"


def as_record(code: str, year: int, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"org_unit": code, "year": year, "lines": lines}


def canonical_lines(rec: TrainingPlanRecord) -> list[dict[str, Any]]:
    """The lines as stored: every key present, an award as {list: {"level": ...}}."""
    return [{"kind": line.kind, "awards": None if line.awards is None else line.awards.model_dump(exclude_none=True),
             "seats": line.seats, "budget": line.budget} for line in rec.lines]


def problems(session: Session, rec: TrainingPlanRecord, code: str, year: int) -> list[dict[str, str]]:
    """What the code lists (and the path) refuse in a plan: unknown kinds and levels, repeated lines."""
    book = codelists.load(session)
    errs = [{"field": f, "message": f"{v!r} differs from the path's {p!r}"}
            for f, v, p in (("org_unit", rec.org_unit, code), ("year", rec.year, year)) if v is not None and v != p]
    seen: dict[tuple[str, tuple[str, str] | None], int] = {}
    for i, line in enumerate(rec.lines):
        msg = book.problem("course_kind", line.kind)
        if msg:
            errs.append({"field": f"lines[{i}].kind", "message": msg})
        award = line.awards.key() if line.awards else None
        if award is not None:
            msg = book.problem(AWARD_CODE_LISTS[award[0]], award[1])
            if msg:
                errs.append({"field": f"lines[{i}].awards.{award[0]}.level", "message": msg})
        if (line.kind, award) in seen:
            errs.append({"field": f"lines[{i}]", "message": f"repeats the kind and award of lines[{seen[line.kind, award]}]:"
                                                          " plan each course kind and level once"})
        seen.setdefault((line.kind, award), i)
    return errs


def unit_in_scope(session: Session, actor: Actor, code: str, *, unknown: type[Exception] = NotFound) -> int:
    """The unit's id if the caller reaches it: an unknown code is `unknown` (a 422 on writes), an unreached one 403."""
    uid = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    if uid is None:
        if unknown is InvalidInput:
            message = f"unknown org unit {code!r}"
            raise InvalidInput(message, errors=[{"field": "org_unit", "message": message}])
        raise NotFound(f"No org unit with code {code!r}", code="org_unit_not_found")
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise Forbidden(f"org unit {code!r} is outside your org units", code="out_of_scope")
    return uid


def _current(session: Session, uid: int, year: int) -> TrainingPlan | None:
    return session.scalar(select(TrainingPlan).where(
        TrainingPlan.org_unit_id == uid, TrainingPlan.year == year, TrainingPlan.sys_to.is_(None)))


def upsert(session: Session, actor: Actor, code: str, year: int, rec: TrainingPlanRecord) -> Outcome:
    """Record a unit's plan for a year; a new plan replaces the old one, which stays in the history."""
    history.lock_for_write(session)
    uid = unit_in_scope(session, actor, code, unknown=InvalidInput)
    errs = problems(session, rec, code, year)
    if errs:
        raise InvalidInput(f"training plan {code} {year} is invalid", errors=errs)
    new = as_record(code, year, canonical_lines(rec))
    current = _current(session, uid, year)
    if current is not None and as_record(code, year, current.lines) == new:
        return Outcome("unchanged", new)
    txn = history.current_txn(session, actor)
    if current is not None:
        retire(session, TrainingPlan, [current.id], txn.id)
        session.flush()
    session.add(TrainingPlan(org_unit_id=uid, year=year, lines=new["lines"], sys_from=txn.id))
    history.record_change(session, actor, entity="training_plan", key=key(code, year),
                          op="create" if current is None else "update", record=new, unit_ids={uid})
    return Outcome("created" if current is None else "updated", new)


def get_or_raise(session: Session, actor: Actor, code: str, year: int, cut: int | None) -> tuple[int, dict[str, Any]]:
    """(unit id, the plan as recorded, now or at `cut`, with `recorded_at`), or NotFound."""
    uid = unit_in_scope(session, actor, code)
    row = session.execute(select(TrainingPlan, Txn.at).join(Txn, Txn.id == TrainingPlan.sys_from).where(
        TrainingPlan.org_unit_id == uid, TrainingPlan.year == year, current_or_at(TrainingPlan, cut))).first()
    if row is None:
        raise NotFound(f"No training plan of {code!r} for {year}", code="training_plan_not_found")
    return uid, as_record(code, year, row[0].lines) | {"recorded_at": history.moment(row[1])}


def list_page(session: Session, actor: Actor, *, org_unit: str | None, year: int | None, cut: int | None,
              after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Plans of the units the caller reaches, in recording order; keyset-paged by id."""
    stmt = (select(TrainingPlan, OrgUnit.code, Txn.at).join(OrgUnit, OrgUnit.id == TrainingPlan.org_unit_id)
            .join(Txn, Txn.id == TrainingPlan.sys_from).where(current_or_at(TrainingPlan, cut))
            .order_by(TrainingPlan.id).limit(limit + 1))
    if org_unit:
        stmt = stmt.where(OrgUnit.code == org_unit)
    if year is not None:
        stmt = stmt.where(TrainingPlan.year == year)
    if after:
        stmt = stmt.where(TrainingPlan.id > after)
    allowed = tree.reach(session, actor)
    if allowed is not None:
        stmt = stmt.where(TrainingPlan.org_unit_id.in_(sorted(allowed)))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    items = [as_record(code, p.year, p.lines) | {"recorded_at": history.moment(at)} for p, code, at in page]
    return items, (page[-1][0].id if more and page else None)
