"""The queries of planning-pool checks: a pool's title and term, its candidates, their other pools and disciplines."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import Discipline, Membership, OrgUnit, OrgUnitParent, OrgUnitVersion, Person, PersonVersion, Position
from app.services.pool_attributes import POOL_KIND

CANDIDATE = "candidate"


@dataclass(frozen=True)
class Pool:
    id: int
    code: str
    name: str
    kind: str
    tier: str
    pool_for: str | None  # the code of the title's unit
    rank: str | None
    term: tuple[date, date] | None


@dataclass(frozen=True)
class Candidate:
    person_id: int
    external_id: str
    full_name: str
    birth_date: date
    gender: str


def _on(start: InstrumentedAttribute[date], end: InstrumentedAttribute[date | None], day: date) -> ColumnElement[bool]:
    return and_(start <= day, or_(end.is_(None), end >= day))


def pool(session: Session, unit_id: int) -> Pool | None:
    """The unit as now recorded (None when it has no version)."""
    row = session.execute(select(OrgUnit.code, OrgUnitVersion).join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
                          .where(OrgUnit.id == unit_id, OrgUnitVersion.sys_to.is_(None))).first()
    if row is None:
        return None
    v = row[1]
    target = session.scalar(select(OrgUnit.code).where(OrgUnit.id == v.pool_for_id)) if v.pool_for_id else None
    term = (v.term_start, v.term_end) if v.term_start and v.term_end else None
    return Pool(unit_id, row.code, v.name, v.kind, v.tier, target, v.pool_rank, term)


def candidates(session: Session, pool_ids: list[int], day: date) -> dict[int, list[Candidate]]:
    """pool id -> its candidates on `day` (seats of role `candidate` in force that day), in external id order."""
    rows = session.execute(
        select(Membership.body_id, Person.id, Person.external_id, PersonVersion.full_name, PersonVersion.birth_date,
               PersonVersion.gender)
        .join(Person, Person.id == Membership.person_id)
        .join(PersonVersion, and_(PersonVersion.person_id == Person.id, PersonVersion.sys_to.is_(None)))
        .where(Membership.body_id.in_(pool_ids), Membership.sys_to.is_(None), Membership.role == CANDIDATE,
               _on(Membership.start_date, Membership.end_date, day))
        .order_by(Person.external_id)).all()
    out: dict[int, dict[int, Candidate]] = defaultdict(dict)
    for r in rows:
        out[r.body_id][r.id] = Candidate(r.id, r.external_id, r.full_name, r.birth_date, r.gender)
    return {pid: list(found.values()) for pid, found in out.items()}


def pools_of_rank(session: Session, person_ids: list[int], rank: str, day: date) -> dict[int, list[str]]:
    """person id -> codes of the planning pools for titles of `rank` in which the person is a candidate on `day`."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(Membership.person_id, OrgUnit.code)
        .join(OrgUnit, OrgUnit.id == Membership.body_id)
        .join(OrgUnitVersion, and_(OrgUnitVersion.org_unit_id == OrgUnit.id, OrgUnitVersion.sys_to.is_(None)))
        .where(Membership.person_id.in_(person_ids), Membership.sys_to.is_(None), Membership.role == CANDIDATE,
               _on(Membership.start_date, Membership.end_date, day), OrgUnitVersion.kind == POOL_KIND,
               OrgUnitVersion.pool_rank == rank, _on(OrgUnitVersion.valid_from, OrgUnitVersion.valid_to, day))
        .distinct()).all()
    out: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        out[r.person_id].append(r.code)
    return {pid: sorted(codes) for pid, codes in out.items()}


def holding_rank(session: Session, person_ids: list[int], rank: str, day: date) -> set[int]:
    """The persons among `person_ids` who hold a position of `rank` on `day` (for them a pool's post is no first appointment)."""
    if not person_ids:
        return set()
    return set(session.scalars(select(Position.person_id).where(
        Position.person_id.in_(person_ids), Position.sys_to.is_(None), Position.rank == rank,
        _on(Position.start_date, Position.end_date, day))))


def disciplined(session: Session, person_ids: list[int], day: date) -> dict[int, list[tuple[str, date, date | None]]]:
    """person id -> the disciplines in force on `day` (form, start, end)."""
    if not person_ids:
        return {}
    out: dict[int, list[tuple[str, date, date | None]]] = defaultdict(list)
    for r in session.execute(select(Discipline.person_id, Discipline.form, Discipline.start_date, Discipline.end_date)
                             .where(Discipline.person_id.in_(person_ids), Discipline.sys_to.is_(None),
                                    _on(Discipline.start_date, Discipline.end_date, day))
                             .order_by(Discipline.start_date)):
        out[r.person_id].append((r.form, r.start_date, r.end_date))
    return dict(out)


def parent_on(session: Session, unit_id: int, day: date) -> int | None:
    """The unit's parent on `day`, as now recorded."""
    return session.scalar(select(OrgUnitParent.parent_id).where(
        OrgUnitParent.org_unit_id == unit_id, OrgUnitParent.sys_to.is_(None),
        _on(OrgUnitParent.start_date, OrgUnitParent.end_date, day)).limit(1))


def sibling_pools(session: Session, parent_id: int, day: date, tiers: list[str] | None = None) -> list[int]:
    """The planning pools open on `day` whose parent that day is `parent_id` (a unit's pools), optionally of `tiers`."""
    stmt = (select(OrgUnitParent.org_unit_id)
            .join(OrgUnitVersion, and_(OrgUnitVersion.org_unit_id == OrgUnitParent.org_unit_id,
                                       OrgUnitVersion.sys_to.is_(None)))
            .where(OrgUnitParent.parent_id == parent_id, OrgUnitParent.sys_to.is_(None),
                   _on(OrgUnitParent.start_date, OrgUnitParent.end_date, day), OrgUnitVersion.kind == POOL_KIND,
                   _on(OrgUnitVersion.valid_from, OrgUnitVersion.valid_to, day)))
    if tiers is not None:
        stmt = stmt.where(OrgUnitVersion.tier.in_(tiers))
    return sorted(set(session.scalars(stmt)))
