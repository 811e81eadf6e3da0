"""Reported statistics: figures about areas, keyed by (code, org unit, period), with history."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Forbidden, InvalidInput, NotFound
from app.models import OrgUnit, Statistic
from app.schemas.interchange import EXACT_INT, StatisticRecord, period_bounds
from app.services import history, tree
from app.services.context import Actor
from app.services.versioning import current_or_at, retire


def number(value: float) -> int | float:
    """Whole figures export as integers, so an imported 1199653 comes back as 1199653.

    Only while the integer is exact in a float: 1e300 stays 1e300 (as an integer it would be refused on import).
    """
    return int(value) if float(value).is_integer() and abs(value) <= EXACT_INT else value


def as_record(row: Statistic, code: str) -> dict[str, Any]:
    return {"code": row.code, "org_unit": code, "period": row.period, "value": number(row.value),
            "source": row.source}


def canonical(rec: StatisticRecord) -> dict[str, Any]:
    return {"code": rec.code, "org_unit": rec.org_unit, "period": rec.period, "value": number(rec.value),
            "source": rec.source}


def key(rec: dict[str, Any]) -> str:
    return f"{rec['code']}|{rec['org_unit']}|{rec['period']}"


@dataclass
class Outcome:
    status: str
    record: dict[str, Any]


def _unit_in_scope(session: Session, actor: Actor, code: str) -> int:
    uid = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    if uid is None:
        raise InvalidInput(f"unknown org unit {code!r}", errors=[
            {"field": "org_unit", "message": f"unknown org unit {code!r}"}])
    allowed = tree.reach(session, actor)
    if allowed is not None and uid not in allowed:
        raise Forbidden(f"org unit {code!r} is outside your org units", code="out_of_scope")
    return uid


def upsert(session: Session, actor: Actor, rec: StatisticRecord) -> Outcome:
    """Record a figure; a new value for the same code, unit and period replaces the old one."""
    history.lock_for_write(session)
    uid = _unit_in_scope(session, actor, rec.org_unit)
    new = canonical(rec)
    current = session.scalar(select(Statistic).where(
        Statistic.code == rec.code, Statistic.org_unit_id == uid, Statistic.period == rec.period,
        Statistic.sys_to.is_(None)))
    if current is not None and as_record(current, rec.org_unit) == new:
        return Outcome("unchanged", new)
    txn = history.current_txn(session, actor)
    if current is not None:
        retire(session, Statistic, [current.id], txn.id)
        session.flush()
    start, end = period_bounds(rec.period)
    session.add(Statistic(code=rec.code, org_unit_id=uid, period=rec.period, period_start=start,
                          period_end=end, value=float(rec.value), source=rec.source, sys_from=txn.id))
    history.record_change(session, actor, entity="statistic", key=key(new),
                          op="create" if current is None else "update", record=new, unit_ids={uid})
    return Outcome("created" if current is None else "updated", new)


def withdraw(session: Session, actor: Actor, *, code: str, org_unit: str, period: str) -> None:
    """Withdraw a figure: it stops counting from now on, and stays in the history."""
    history.lock_for_write(session)
    uid = _unit_in_scope(session, actor, org_unit)
    current = session.scalar(select(Statistic).where(
        Statistic.code == code, Statistic.org_unit_id == uid, Statistic.period == period,
        Statistic.sys_to.is_(None)))
    if current is None:
        raise NotFound(f"No statistic {code!r} for {org_unit!r} and period {period!r}", code="statistic_not_found")
    txn = history.current_txn(session, actor)
    retire(session, Statistic, [current.id], txn.id)
    rec = as_record(current, org_unit)
    history.record_change(session, actor, entity="statistic", key=key(rec), op="withdraw", record=rec,
                          unit_ids={uid})


def list_page(session: Session, actor: Actor, *, code: str | None, org_unit: str | None, cut: int | None,
              after: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Statistics in id order, filtered by code and unit; keyset-paged by id."""
    stmt = (select(Statistic, OrgUnit.code).join(OrgUnit, OrgUnit.id == Statistic.org_unit_id)
            .where(current_or_at(Statistic, cut)).order_by(Statistic.id).limit(limit + 1))
    if code:
        stmt = stmt.where(Statistic.code == code)
    if org_unit:
        stmt = stmt.where(OrgUnit.code == org_unit)
    if after:
        stmt = stmt.where(Statistic.id > after)
    allowed = tree.reach(session, actor)
    if allowed is not None:
        stmt = stmt.where(Statistic.org_unit_id.in_(sorted(allowed)))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    return [as_record(s, c) for s, c in page], (page[-1][0].id if more and page else None)
