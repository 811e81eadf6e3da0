"""Org units: read as interchange records, validate, create or update with history, close."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from app.models import Employment, Membership, OrgUnit, OrgUnitParent, OrgUnitVersion, Position
from app.schemas.interchange import OrgUnitRecord
from app.services import history, pool_attributes, tree, unit_lineage, write_scope
from app.services.codelists import CodeBook
from app.services.context import Actor
from app.services.text import fold
from app.services.versioning import current_or_at, retire


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def records(session: Session, ids: list[int], cut: int | None = None) -> dict[int, dict[str, Any]]:
    """Interchange records of these units, as recorded now or at transaction `cut`."""
    if not ids:
        return {}
    versions = session.execute(
        select(OrgUnit.code, OrgUnitVersion).join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
        .where(OrgUnit.id.in_(ids), current_or_at(OrgUnitVersion, cut))).all()
    parents: dict[int, list[tuple[str, date, date | None]]] = defaultdict(list)
    parent_unit = OrgUnit.__table__.alias("parent_unit")
    for link in session.execute(
            select(OrgUnitParent.org_unit_id, parent_unit.c.code, OrgUnitParent.start_date, OrgUnitParent.end_date)
            .join(parent_unit, parent_unit.c.id == OrgUnitParent.parent_id)
            .where(OrgUnitParent.org_unit_id.in_(ids), current_or_at(OrgUnitParent, cut))):
        parents[link.org_unit_id].append((link.code, link.start_date, link.end_date))
    lineage = unit_lineage.read(session, ids, cut)
    pool_units = tree.unit_codes(session, {v.pool_for_id for _c, v in versions if v.pool_for_id is not None})
    out: dict[int, dict[str, Any]] = {}
    for code, v in versions:
        out[v.org_unit_id] = {
            "code": code, "name": v.name, "kind": v.kind, "tier": v.tier, "sector": v.sector,
            "ethnic_contact": v.ethnic_contact, "valid_from": _iso(v.valid_from), "valid_to": _iso(v.valid_to),
            "parents": [{"code": c, "start": _iso(s), "end": _iso(e)}
                        for c, s, e in sorted(parents[v.org_unit_id], key=lambda p: (p[1], p[0]))],
            **lineage.get(v.org_unit_id, {"successors": [], "local_languages": []}),
            **pool_attributes.read(v, pool_units),
        }
    return out


def get_record(session: Session, code: str, cut: int | None = None) -> dict[str, Any]:
    """One unit's record, or NotFound (also when it did not exist yet at `cut`)."""
    found = records(session, [tree.unit_id(session, code)], cut)
    if not found:
        raise NotFound(f"Org unit {code!r} was not recorded at that moment", code="org_unit_not_found")
    return next(iter(found.values()))


def canonical(rec: OrgUnitRecord) -> dict[str, Any]:
    """The record as the registry stores and exports it."""
    return {
        "code": rec.code, "name": rec.name, "kind": rec.kind, "tier": rec.tier, "sector": rec.sector,
        "ethnic_contact": rec.ethnic_contact, "valid_from": _iso(rec.valid_from), "valid_to": _iso(rec.valid_to),
        "parents": [{"code": p.code, "start": _iso(p.start), "end": _iso(p.end)}
                    for p in sorted(rec.parents, key=lambda p: (p.start, p.code))],
        **unit_lineage.canonical(rec),
        **pool_attributes.canonical(rec),
    }


def problems(rec: OrgUnitRecord, book: CodeBook, known_codes: set[str]) -> list[dict[str, str]]:
    """Everything wrong with a record that does not need the database beyond known codes."""
    errs: list[dict[str, str]] = []
    for fname, list_name in (("kind", "org_unit_kind"), ("tier", "tier"), ("sector", "sector")):
        msg = book.problem(list_name, getattr(rec, fname), rec.valid_from)
        if msg:
            errs.append({"field": fname, "message": msg})
    spans = sorted(rec.parents, key=lambda p: p.start)
    for i, link in enumerate(rec.parents):
        where = f"parents[{i}]"
        if link.code == rec.code:
            errs.append({"field": f"{where}.code", "message": "a unit cannot be its own parent"})
        elif link.code not in known_codes:
            errs.append({"field": f"{where}.code", "message": f"unknown parent org unit {link.code!r}"})
    for prev, nxt in zip(spans, spans[1:], strict=False):
        if prev.end is None or nxt.start <= prev.end:
            errs.append({"field": "parents", "message":
                         f"parent links overlap: {prev.code} from {prev.start} and {nxt.code} from {nxt.start}"})
    return errs + unit_lineage.problems(rec, known_codes) + pool_attributes.problems(rec, book, known_codes)


@dataclass
class Outcome:
    status: str  # created | updated | unchanged
    record: dict[str, Any]


def check_write_scope(session: Session, actor: Actor, rec: OrgUnitRecord, existing_id: int | None,
                      old: dict[str, Any] | None = None) -> None:
    """Scoped writers write units under their own units only (roots are for the whole tree), and change only the
    part of a unit's past that lay under them: a parent link they add, remove or change names a unit under their
    units, and so does every link in force over the days a new `valid_from` or `valid_to` adds or takes away. A
    unit that moved to them (a commune's station, under the merged commune since the 2025 reform) keeps its years
    under its former parent as they are: erasing them would change that parent's figures for those years, which
    are not the writer's. Links and dates left as they are do not count (a full record carries them). Successors
    likewise: only units under theirs are added or removed."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return
    if existing_id is not None and existing_id not in allowed:
        raise Forbidden(f"org unit {rec.code!r} is outside your org units", code="out_of_scope")
    if not rec.parents:
        raise Forbidden(f"org unit {rec.code!r} would lie outside your org units", code="out_of_scope")
    touched = _touched_links(old, rec)
    ids = tree.unit_ids(session, {code for code, _ in touched} | set(rec.successors)
                        | set((old or {}).get("successors") or []))
    beyond = [{"field": field, "message": (f"the link to {code!r} is outside your org units" if field.startswith("parents")
                                          else f"the new {field} changes the unit's days under {code!r}, outside your "
                                               "org units")
                                         + ": a unit's years under a parent that is not yours are changed by that "
                                           "parent's writers or an administrator"}
              for code, field in touched if ids.get(code) not in allowed]
    if old is not None:
        beyond += _attributes_beyond(old, rec, allowed, tree.unit_ids(session, {p["code"] for p in old["parents"]}
                                                                      | {p.code for p in rec.parents}))
    beyond += unit_lineage.scope_problems(old, rec, allowed, ids)
    if beyond:
        raise write_scope.OutOfScope(f"org unit {rec.code!r} reaches outside your org units", beyond)


DATED = ("parents", "successors", "valid_from", "valid_to")  # checked by their days above; the rest hold for all time


def _attributes_beyond(old: dict[str, Any], rec: OrgUnitRecord, allowed: set[int],
                       ids: dict[str, int]) -> list[dict[str, str]]:
    """A unit's name, kind, tier, sector, languages and pool fields have one value for all its years: a scoped writer
    changes them only when every year of the unit lies under its units (every parent link, kept or new, is theirs).
    Otherwise the change rewrites the unit as it counts in a parent's figures that are not the writer's (a moved
    station's kind and tier as the closed commune and district counted it; a writer's own top unit's tier as the
    province counts it: the review)."""
    parents = {p["code"] for p in old["parents"]} | {p.code for p in rec.parents}
    outside = sorted(c for c in parents if ids.get(c) not in allowed)
    if not outside:
        return []
    new = canonical(rec)
    return [{"field": key, "message": f"the unit's {key} holds for all its years, also those under {outside[0]!r}, "
                                      "outside your org units: that parent's writers or an administrator change it"}
            for key in new if key not in DATED and new[key] != old.get(key)]


def _touched_links(old: dict[str, Any] | None, rec: OrgUnitRecord) -> list[tuple[str, str]]:
    """(parent code, field) of every parent link the write adds, removes or changes, and of every link of the old
    record in force over days the new `valid_from` or `valid_to` adds or takes away."""
    new_links = [(p.code, _iso(p.start), _iso(p.end)) for p in rec.parents]
    old_links = [(p["code"], p["start"], p["end"]) for p in (old or {}).get("parents") or []]
    touched = [(code, f"parents[{i}]") for i, (code, *_span) in enumerate(new_links)
               if (code, *_span) not in old_links]
    touched += [(code, "parents") for code, *_span in old_links if (code, *_span) not in new_links]
    if old is not None and old["valid_from"] != _iso(rec.valid_from):  # the days [lo, hi) come or go
        lo, hi = sorted((old["valid_from"], _iso(rec.valid_from)))
        touched += [(code, "valid_from") for code, start, end in old_links if start < hi and (end is None or end >= lo)]
    if old is not None and old["valid_to"] != _iso(rec.valid_to):  # the days (lo, hi] come or go; None: no end
        lo, hi = sorted((old["valid_to"], _iso(rec.valid_to)), key=lambda d: (d is None, d or ""))
        touched += [(code, "valid_to") for code, start, end in old_links
                    if (hi is None or start <= hi) and (end is None or end > lo)]
    return touched


def upsert(session: Session, actor: Actor, rec: OrgUnitRecord, book: CodeBook,
           known_codes: set[str] | None = None, *, if_match: int | None = None) -> Outcome:
    """Create or replace one unit (attributes and parent links), keeping the previous state."""
    history.lock_for_write(session)
    existing = session.scalar(select(OrgUnit).where(OrgUnit.code == rec.code))
    if if_match is not None and (existing is None or existing.rev != if_match):
        raise PreconditionFailed(f"org unit {rec.code!r} has changed since you read it")
    parent_codes = {p.code for p in rec.parents}
    named = tree.unit_ids(session, parent_codes | set(rec.successors))
    pool_for = tree.unit_ids(session, pool_attributes.named(rec))
    errs = problems(rec, book, (known_codes or set()) | set(named) | set(pool_for))
    if errs:
        raise InvalidInput(f"org unit {rec.code!r} is invalid", errors=errs)
    old = records(session, [existing.id]).get(existing.id) if existing is not None else None
    check_write_scope(session, actor, rec, existing.id if existing else None, old)
    new = canonical(rec)
    if old == new:
        return Outcome("unchanged", new)
    _check_no_cycle(session, rec, existing)
    txn = history.current_txn(session, actor)
    if existing is None:
        existing = OrgUnit(code=rec.code, rev=1)
        session.add(existing)
        session.flush()
        status = "created"
    else:
        existing.rev += 1
        status = "updated"
    _write_version(session, existing.id, rec, txn.id, pool_for)
    _write_parents(session, existing.id, rec, txn.id)
    unit_lineage.write(session, existing.id, rec, txn.id)
    unit_set = {existing.id} | set(named.values())
    history.record_change(session, actor, entity="org_unit", key=rec.code,
                          op="create" if status == "created" else "update", record=new, unit_ids=unit_set)
    actor.cache.pop("reach", None)  # the tree changed: the caller's reach is computed again (a later line may need it)
    return Outcome(status, new)


def _check_no_cycle(session: Session, rec: OrgUnitRecord, existing: OrgUnit | None) -> None:
    if existing is None or not rec.parents:
        return
    snapshot = tree.Tree(session)
    for link in rec.parents:
        pid = snapshot.by_code.get(link.code)
        if pid is not None and (pid == existing.id or existing.id in snapshot.any_time_ancestors(pid)):
            raise InvalidInput(f"org unit {rec.code!r} would become its own ancestor", errors=[
                {"field": "parents", "message": f"{link.code!r} lies below {rec.code!r}: a cycle"}])


def _write_version(session: Session, unit_id: int, rec: OrgUnitRecord, txn_id: int, ids: dict[str, int]) -> None:
    current = session.scalar(select(OrgUnitVersion).where(
        OrgUnitVersion.org_unit_id == unit_id, OrgUnitVersion.sys_to.is_(None)))
    attrs = {"name": rec.name, "kind": rec.kind, "tier": rec.tier, "sector": rec.sector,
             "ethnic_contact": rec.ethnic_contact, "valid_from": rec.valid_from, "valid_to": rec.valid_to,
             **pool_attributes.attributes(rec, ids)}
    if current is not None:
        if all(getattr(current, k) == v for k, v in attrs.items()):
            return
        retire(session, OrgUnitVersion, [current.id], txn_id)
        session.flush()
    session.add(OrgUnitVersion(org_unit_id=unit_id, name_search=fold(rec.name), sys_from=txn_id, **attrs))


def _write_parents(session: Session, unit_id: int, rec: OrgUnitRecord, txn_id: int) -> None:
    current = list(session.scalars(select(OrgUnitParent).where(
        OrgUnitParent.org_unit_id == unit_id, OrgUnitParent.sys_to.is_(None))))
    ids = tree.unit_ids(session, {p.code for p in rec.parents})
    wanted = {(ids[p.code], p.start, p.end) for p in rec.parents}
    have = {(r.parent_id, r.start_date, r.end_date): r.id for r in current}
    retire(session, OrgUnitParent, [rid for key, rid in have.items() if key not in wanted], txn_id)
    session.add_all(OrgUnitParent(org_unit_id=unit_id, parent_id=p, start_date=s, end_date=e, sys_from=txn_id)
                    for p, s, e in sorted(wanted - set(have), key=lambda k: (k[1], k[0])))
    session.flush()


def patch(session: Session, actor: Actor, code: str, changes: dict[str, Any], *, if_match: int | None = None) -> Outcome:
    """Change some fields of a unit, read and written under the write lock."""
    from pydantic import ValidationError

    from app.services import codelists
    from app.services.persons import pydantic_errors

    history.lock_for_write(session)
    merged = get_record(session, code) | changes | {"code": code}
    try:
        record = OrgUnitRecord.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput("org unit is invalid", errors=pydantic_errors(exc)) from None
    return upsert(session, actor, record, codelists.load(session), if_match=if_match)


def close(session: Session, actor: Actor, code: str, on: date, *, successors: list[str] | None = None,
          if_match: int | None = None) -> Outcome:
    """Close a unit on `on` (its last day), naming its `successors` (None: keep those recorded); nothing is
    deleted; persons must have moved first."""
    history.lock_for_write(session)
    rec = OrgUnitRecord.model_validate(get_record(session, code))
    if rec.valid_from > on:
        raise InvalidInput("cannot close a unit before it opens", errors=[
            {"field": "on", "message": f"{on} is before valid_from {rec.valid_from}"}])
    uid = tree.unit_id(session, code)
    dangling = _open_assignments_after(session, uid, on)
    if dangling:
        raise Conflict(f"{dangling} employments, positions or memberships in {code!r} continue after {on}; "
                       "end or move them first", code="unit_has_active_assignments")
    rec.valid_to = on if rec.valid_to is None else min(rec.valid_to, on)
    for link in rec.parents:
        if link.end is None or link.end > on:
            link.end = on
    rec.parents = [p for p in rec.parents if p.start <= on]
    if successors is not None:
        rec.successors = list(successors)
    from app.services import codelists  # local import: avoids a cycle at module import time
    return upsert(session, actor, rec, codelists.load(session), if_match=if_match)


def _open_assignments_after(session: Session, uid: int, on: date) -> int:
    total = 0
    for model, col in ((Employment, Employment.org_unit_id), (Position, Position.org_unit_id),
                       (Membership, Membership.body_id)):
        total += len(session.scalars(select(model.id).where(
            col == uid, model.sys_to.is_(None), (model.end_date.is_(None)) | (model.end_date > on))).all())
    return total


def kinds(session: Session, ids: set[int]) -> dict[int, str]:
    """Current kind of each unit among `ids`."""
    if not ids:
        return {}
    rows = session.execute(select(OrgUnitVersion.org_unit_id, OrgUnitVersion.kind).where(
        OrgUnitVersion.org_unit_id.in_(sorted(ids)), OrgUnitVersion.sys_to.is_(None)))
    return {r.org_unit_id: r.kind for r in rows}


def list_page(session: Session, actor: Actor, *, under: str | None, as_of: date | None, kind: str | None,
              tier: str | None, q: str | None, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Units in code order, filtered; keyset-paged by code."""
    stmt = (select(OrgUnit.id, OrgUnit.code).join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
            .where(OrgUnitVersion.sys_to.is_(None)).order_by(OrgUnit.code).limit(limit + 1))
    if kind:
        stmt = stmt.where(OrgUnitVersion.kind == kind)
    if tier:
        stmt = stmt.where(OrgUnitVersion.tier == tier)
    if q:
        stmt = stmt.where(OrgUnitVersion.name_search.contains(fold(q), autoescape=True))
    if as_of:
        stmt = stmt.where(OrgUnitVersion.valid_from <= as_of,
                          (OrgUnitVersion.valid_to.is_(None)) | (OrgUnitVersion.valid_to >= as_of))
    if after:
        stmt = stmt.where(OrgUnit.code > after)
    if under:
        snapshot = tree.Tree(session)
        root = tree.unit_id(session, under)
        day = as_of or date.today()
        inside = [uid for uid in snapshot.units if root in snapshot.ancestors_on(uid, day)]
        stmt = stmt.where(OrgUnit.id.in_(inside))
    rows = session.execute(stmt).all()
    page, more = rows[:limit], len(rows) > limit
    recs = records(session, [r.id for r in page])
    return [recs[r.id] for r in page], (page[-1].code if more and page else None)




__all__ = ["Outcome", "canonical", "close", "get_record", "list_page", "records", "upsert"]
