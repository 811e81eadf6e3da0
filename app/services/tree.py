"""The org-unit tree as it stood on a date, and the reach of a caller's org units."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import pydantic_core
from sqlalchemy import ColumnElement, Select, and_, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from app.errors import NotFound
from app.models import Change, OrgUnit, OrgUnitParent, OrgUnitVersion
from app.services.context import Actor
from app.services.indicators.cache import LRU
from app.services.versioning import among, current_or_at


@dataclass(frozen=True, slots=True)
class DayRow:
    """A unit of an all-units answer on a date: valid that day, or closed before it (`closed`)."""

    id: int
    code: str
    code_json: bytes  # the code as a JSON string
    closed: bool


@dataclass
class UnitSpan:
    id: int
    code: str
    valid_from: date
    valid_to: date | None


class Tree:
    """Every unit with its validity and dated parent links, as recorded at one moment."""

    def __init__(self, session: Session, cut: int | None = None):
        rows = session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnitVersion.valid_from, OrgUnitVersion.valid_to)
            .join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
            .where(current_or_at(OrgUnitVersion, cut)))
        self.units = {r.id: UnitSpan(r.id, r.code, r.valid_from, r.valid_to) for r in rows}
        self.by_code = {u.code: u.id for u in self.units.values()}
        self.links: dict[int, list[tuple[int, date, date | None]]] = defaultdict(list)
        for link in session.execute(
                select(OrgUnitParent.org_unit_id, OrgUnitParent.parent_id, OrgUnitParent.start_date,
                       OrgUnitParent.end_date).where(current_or_at(OrgUnitParent, cut))):
            self.links[link.org_unit_id].append((link.parent_id, link.start_date, link.end_date))
        self._days: LRU[list[DayRow]] = LRU(4)

    def day_rows(self, day: date) -> list[DayRow]:
        """The units valid on `day` and those closed before it, in the order of their codes: the rows of every
        all-units answer of that day, built once per tree and date (four dates kept; never change them)."""
        return self._days.get_or_build(day, lambda: [
            DayRow(u.id, u.code, pydantic_core.to_json(u.code), u.valid_to is not None and u.valid_to < day)
            for u in sorted(self.units.values(), key=lambda u: u.code)
            if u.valid_from <= day or (u.valid_to is not None and u.valid_to < day)])

    def valid_on(self, unit_id: int, day: date) -> bool:
        span = self.units.get(unit_id)
        return span is not None and span.valid_from <= day and (span.valid_to is None or day <= span.valid_to)

    def parent_on(self, unit_id: int, day: date) -> int | None:
        for parent_id, start, end in self.links.get(unit_id, ()):
            if start <= day and (end is None or day <= end) and self.valid_on(parent_id, day):
                return parent_id
        return None

    def ancestors_on(self, unit_id: int, day: date) -> list[int]:
        """The unit and its ancestors on `day` (empty when the unit does not exist that day)."""
        if not self.valid_on(unit_id, day):
            return []
        chain, seen = [unit_id], {unit_id}
        parent = self.parent_on(unit_id, day)
        while parent is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.parent_on(parent, day)
        return chain

    def last_day(self, unit_id: int, today: date) -> date:
        span = self.units[unit_id]
        if span.valid_from > today:
            return span.valid_from
        return today if span.valid_to is None else min(today, span.valid_to)

    def reach(self, roots: set[int], today: date) -> set[int]:
        """Units that lie under `roots` in the tree as it stood on their own last day (or today)."""
        return {uid for uid in self.units
                if roots.intersection(self.ancestors_on(uid, self.last_day(uid, today)))}

    def any_time_ancestors(self, unit_id: int) -> set[int]:
        """Every unit that was ever above `unit_id`, whatever the date (for cycle checks)."""
        seen: set[int] = set()
        stack = [unit_id]
        while stack:
            for parent_id, _s, _e in self.links.get(stack.pop(), ()):
                if parent_id not in seen:
                    seen.add(parent_id)
                    stack.append(parent_id)
        return seen


def subtree(root_id: int, day: date) -> Select[tuple[int]]:
    """Ids of `root_id` and every unit below it on `day`, as now recorded: one recursive query (bench F8).

    The same tree as `Tree.ancestors_on`: a unit counts on `day` when it is valid that day and linked,
    by a link in force that day, to a parent that counts.
    """
    def valid(v: Any) -> ColumnElement[bool]:
        return and_(v.sys_to.is_(None), v.valid_from <= day, or_(v.valid_to.is_(None), v.valid_to >= day))

    uv = aliased(OrgUnitVersion)
    cte = select(uv.org_unit_id.label("unit_id")).where(uv.org_unit_id == root_id, valid(uv)).cte("subtree", recursive=True)
    link, child = aliased(OrgUnitParent), aliased(OrgUnitVersion)
    step = (select(link.org_unit_id).join(cte, link.parent_id == cte.c.unit_id)
            .join(child, child.org_unit_id == link.org_unit_id)
            .where(link.sys_to.is_(None), link.start_date <= day, or_(link.end_date.is_(None), link.end_date >= day),
                   valid(child)))
    return select(cte.union(step).c.unit_id)


# The last org-unit change: built once (SQLAlchemy memoizes a statement object's cache key; read on every scoped
# request, bench F31), with the entity written into the SQL, so that PostgreSQL's partial index on it serves a
# prepared statement's generic plan too; no bound value at all (the limit and SQLite's offset written in too), since
# read_one sends only its own parameters
_VERSION = (select(Change.seq, Change.hash).where(Change.entity == literal_column("'org_unit'"))
            .order_by(Change.seq.desc()).limit(literal_column("1")).offset(literal_column("0")))


def version_columns() -> tuple[Any, Any]:
    """`version` as two scalar subqueries, for a statement that reads the tree's version with its own rows (one round
    trip: `person_records.read_one`)."""
    return _VERSION.with_only_columns(Change.seq).scalar_subquery(), _VERSION.with_only_columns(Change.hash).scalar_subquery()


def version(session: Session) -> tuple[int, str]:
    """The tree's version as this session sees it: the seq and chain hash of the last org-unit change.

    Every write of a unit's version or parent links records an `org_unit` change (app/services/orgunits.py),
    in the same transaction, so the version moves with the tree on every server of the database. The hash
    is part of it because SQLite hands a rolled-back seq out again; the chained hash of another change
    differs. One row from a partial index.
    """
    row = session.connection().execute(_VERSION).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


_reaches: LRU[frozenset[int]] = LRU(512)


def reach(session: Session, actor: Actor, tree_version: tuple[int, str] | None = None) -> set[int] | None:
    """The unit ids a caller may see (None: the whole tree); cached for the request and, per tree version,
    for the process.

    Computing a reach reads the whole tree (bench at 10,000 persons: an auditor of the whole country's
    reads ran at a fifth of an admin's). The reaches of the last 512 sets of roots are kept, keyed by the
    database, the roots, the day and `version`: a unit added, moved or closed on any server changes the version, and
    the next request computes its reach again.
    """
    if actor.whole_tree:
        return None
    cached = actor.cache.get("reach")
    if isinstance(cached, set):
        return cached
    # `tree_version`: the version read in the caller's own statement (`version_columns`), else read here
    key = (str(session.get_bind().engine.url), tuple(sorted(actor.org_units)), date.today(),
           *(tree_version or version(session)))

    def compute() -> frozenset[int]:
        tree = Tree(session)
        roots = {tree.by_code[c] for c in actor.org_units if c in tree.by_code}
        return frozenset(tree.reach(roots, date.today()))

    known = _reaches.get_or_build(key, compute)
    result = set(known)  # the caller's own copy: the cached one stays as computed
    actor.cache["reach"] = result
    return result


def unit_id(session: Session, code: str) -> int:
    """The id of the unit with this code, or NotFound."""
    found = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    if found is None:
        raise NotFound(f"No org unit with code {code!r}", code="org_unit_not_found")
    return found


def unit_ids(session: Session, codes: set[str]) -> dict[str, int]:
    """Ids of the units among `codes` that exist."""
    if not codes:
        return {}
    rows = session.execute(select(OrgUnit.code, OrgUnit.id).where(among(session, OrgUnit.code, sorted(codes))))
    return {r.code: r.id for r in rows}


def unit_codes(session: Session, ids: set[int]) -> dict[int, str]:
    """Codes of the units among `ids`."""
    if not ids:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(sorted(ids))))
    return {r.id: r.code for r in rows}
