"""Reorganisation plans (the 1 July 2025 reform): validated, previewed, applied in one transaction.

History is kept, never rewritten: closed units end on the day before the plan takes effect, new
and re-parented units start on the effective day, and every employment, position and seat in a
closed unit ends that day and continues, unchanged otherwise, at the successor unit.
"""

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Employment, Membership, Person, Position
from app.schemas.interchange import OrgUnitRecord
from app.schemas.reorg import ReorgPlan
from app.services import codelists, history, imports, orgunits, persons, tree, write_scope
from app.services.context import Actor
from app.services.person_records import build

ASSIGNMENTS = (
    ("employments", Employment, Employment.org_unit_id, "org_unit"),
    ("positions", Position, Position.org_unit_id, "org_unit"),
    ("memberships", Membership, Membership.body_id, "body"),
)


def _destinations(plan: ReorgPlan) -> dict[str, str]:
    dest = {c.code: c.successor for c in plan.close if c.successor}
    dest |= {m.from_: m.to for m in plan.move}
    return dest


def successors(plan: ReorgPlan) -> dict[str, list[str]]:
    """The successors each closed unit is recorded with: those it names (default: its `successor`), its
    `successor`, and every unit its persons are moved to."""
    out: dict[str, list[str]] = {}
    for c in plan.close:
        named = list(c.successors if c.successors is not None else [])
        moved = {m.to for m in plan.move if m.from_ == c.code} | ({c.successor} if c.successor else set())
        named += sorted(moved - set(named) - {c.code})
        if named:
            out[c.code] = named
    return out


def _affected(session: Session, unit_ids: dict[str, int], plan: ReorgPlan) -> dict[int, str]:
    """Persons with an assignment in a closing or moving unit that runs past the closing day."""
    ids = list(unit_ids.values())
    found: dict[int, str] = {}
    for _name, model, column, _key in ASSIGNMENTS:
        rows = session.execute(
            select(Person.id, Person.external_id)
            .join(model, model.person_id == Person.id)
            .where(column.in_(ids), model.sys_to.is_(None), or_(model.end_date.is_(None), model.end_date > plan.last_day))
        )
        found |= {r.id: r.external_id for r in rows}
    return found


def _territory(session: Session, plan: ReorgPlan) -> set[int]:
    """Every unit under a closing or re-parented unit on the plan's last day."""
    snapshot = tree.Tree(session)
    roots = set(tree.unit_ids(session, {c.code for c in plan.close} | {r.code for r in plan.reparent}).values())
    return {u for u in snapshot.units if roots.intersection(snapshot.ancestors_on(u, plan.last_day))}


def _recategorised(session: Session, actor: Actor, plan: ReorgPlan) -> dict[int, str]:
    """Persons of the plan's territory (within a scoped caller's units) whose employment category the plan maps."""
    if not plan.category_map:
        return {}
    territory = _territory(session, plan)
    allowed = tree.reach(session, actor)
    if allowed is not None:
        territory &= allowed
    rows = session.execute(
        select(Person.id, Person.external_id)
        .join(Employment, Employment.person_id == Person.id)
        .where(
            Employment.org_unit_id.in_(sorted(territory)),
            Employment.category.in_(sorted(plan.category_map)),
            Employment.sys_to.is_(None),
            or_(Employment.end_date.is_(None), Employment.end_date > plan.last_day),
        )
    )
    return {r.id: r.external_id for r in rows}


def _problems(session: Session, plan: ReorgPlan) -> list[dict[str, str]]:
    errs: list[dict[str, str]] = []
    new_codes = {u.code for u in plan.create}
    existing = tree.unit_ids(
        session,
        {c.code for c in plan.close}
        | {r.code for r in plan.reparent}
        | {m.from_ for m in plan.move}
        | {r.parent for r in plan.reparent}
        | {m.to for m in plan.move}
        | {c.successor for c in plan.close if c.successor}
        | {s for c in plan.close for s in c.successors or []},
    )
    for i, c in enumerate(plan.close):
        if c.code not in existing:
            errs.append({"field": f"close[{i}].code", "message": f"unknown org unit {c.code!r}"})
        if c.successor and c.successor not in existing and c.successor not in new_codes:
            errs.append({"field": f"close[{i}].successor", "message": f"unknown org unit {c.successor!r}"})
        for j, code in enumerate(c.successors or []):
            if code == c.code:
                errs.append({"field": f"close[{i}].successors[{j}]", "message": "a unit cannot be its own successor"})
            elif code not in existing and code not in new_codes:
                errs.append({"field": f"close[{i}].successors[{j}]", "message": f"unknown org unit {code!r}"})
    for i, u in enumerate(plan.create):
        if u.code in existing or tree.unit_ids(session, {u.code}):
            errs.append({"field": f"create[{i}].code", "message": f"{u.code!r} exists; codes are never reused"})
    for i, r in enumerate(plan.reparent):
        for fld in ("code", "parent"):
            code = getattr(r, fld)
            if code not in existing and code not in new_codes:
                errs.append({"field": f"reparent[{i}].{fld}", "message": f"unknown org unit {code!r}"})
    for i, m in enumerate(plan.move):
        if m.from_ not in existing:
            errs.append({"field": f"move[{i}].from", "message": f"unknown org unit {m.from_!r}"})
        if m.to not in existing and m.to not in new_codes:
            errs.append({"field": f"move[{i}].to", "message": f"unknown org unit {m.to!r}"})
    return errs


def _beyond_scope(session: Session, actor: Actor, plan: ReorgPlan) -> list[dict[str, str]]:
    """Every unit the plan names that lies outside a scoped administrator's units (new units count as inside)."""
    allowed = tree.reach(session, actor)
    if allowed is None:
        return []
    named = [(f"close[{i}].code", c.code) for i, c in enumerate(plan.close)]
    named += [(f"close[{i}].successor", c.successor) for i, c in enumerate(plan.close) if c.successor]
    named += [(f"close[{i}].successors[{j}]", s) for i, c in enumerate(plan.close) for j, s in enumerate(c.successors or [])]
    named += [(f"create[{i}].parents[{j}].code", p.code) for i, u in enumerate(plan.create) for j, p in enumerate(u.parents)]
    named += [(f"reparent[{i}].{f}", getattr(r, f)) for i, r in enumerate(plan.reparent) for f in ("code", "parent")]
    named += [(f"move[{i}].{f}", getattr(m, a)) for i, m in enumerate(plan.move) for f, a in (("from", "from_"), ("to", "to"))]
    new_codes = {u.code for u in plan.create}
    ids = tree.unit_ids(session, {code for _f, code in named})
    return [{"field": f, "message": f"org unit {code!r} is outside your org units"}
            for f, code in named if code not in new_codes and ids.get(code) not in allowed]


def run(session: Session, actor: Actor, plan: ReorgPlan, *, dry_run: bool) -> dict[str, Any]:
    """Validate and preview the plan; unless `dry_run`, apply it (the caller's transaction commits).

    A scoped administrator's plan may name only units of its own (and the units it creates): a
    dry run of a plan that reaches further is refused before anything of those units is read.
    """
    history.lock_for_write(session)
    errs = _problems(session, plan)
    if errs:
        raise InvalidInput(f"the plan {plan.name!r} is invalid", errors=errs)
    beyond = _beyond_scope(session, actor, plan)
    if beyond:
        raise write_scope.OutOfScope(f"the plan {plan.name!r} reaches beyond your org units", beyond)
    closing = {c.code for c in plan.close}
    dest = _destinations(plan)
    sources = tree.unit_ids(session, closing | set(dest))
    affected = _affected(session, sources, plan) | _recategorised(session, actor, plan)
    records = build(session, affected)
    moved, dangling = _plan_moves(records, closing, dest, plan)
    preview = {
        "plan": plan.name,
        "effective": plan.effective.isoformat(),
        "last_day": plan.last_day.isoformat(),
        "close": sorted(closing),
        "successors": successors(plan),
        "create": [u.code for u in plan.create],
        "reparent": [{"code": r.code, "parent": r.parent} for r in plan.reparent],
        "moves": moved,
        "dangling": dangling,
        "persons_affected": len(affected),
        "dry_run": dry_run,
    }
    if dangling:
        raise InvalidInput(
            "the plan leaves assignments in closed units with nowhere to go",
            errors=[
                {"field": "move", "message": f"{d['external_id']}: {d['list']} at {d['unit']} runs past {plan.last_day}"}
                for d in dangling
            ],
        )
    if not dry_run:
        _apply(session, actor, plan, records, dest)
    return preview


def _plan_moves(
    records: dict[int, dict[str, Any]], closing: set[str], dest: dict[str, str], plan: ReorgPlan
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ending = {c.code for c in plan.close if c.end_assignments and c.code not in dest}
    moved, dangling = [], []
    last = plan.last_day.isoformat()
    for record in records.values():
        for name, _model, _col, key in ASSIGNMENTS:
            for item in record[name]:
                unit = item[key]
                if (unit not in closing and unit not in dest) or not (item["end"] is None or item["end"] > last):
                    continue
                entry = {"external_id": record["external_id"], "list": name, "unit": unit}
                if unit in dest:
                    moved.append(entry | {"to": dest[unit]})
                elif unit in ending:
                    moved.append(entry | {"to": None})
                else:
                    dangling.append(entry)
    return moved, dangling


def _apply(session: Session, actor: Actor, plan: ReorgPlan, records: dict[int, dict[str, Any]], dest: dict[str, str]) -> None:
    history.current_txn(session, actor, note=f"reorganisation: {plan.name}")
    book = codelists.load(session)
    for unit in plan.create:  # units first without parents, so that new units may hang under new units
        orgunits.upsert(session, actor, unit.model_copy(update={"parents": []}), book)
    for unit in plan.create:
        if unit.parents:
            orgunits.upsert(session, actor, unit, book)
    ending = {c.code for c in plan.close if c.end_assignments}
    for record in records.values():
        persons.upsert(session, actor, persons.validate_record(_moved(record, dest, ending, plan)), book)
    last, first = plan.last_day.isoformat(), plan.effective.isoformat()
    for r in plan.reparent:
        current = orgunits.get_record(session, r.code)
        kept = [p | {"end": min(p["end"], last) if p["end"] else last} for p in current["parents"] if p["start"] <= last]
        current["parents"] = kept + [{"code": r.parent, "start": first, "end": None}]
        orgunits.upsert(session, actor, OrgUnitRecord.model_validate(current), book)
    lineage = successors(plan)
    for c in plan.close:
        orgunits.close(session, actor, c.code, plan.last_day, successors=lineage.get(c.code))
    if session.get_bind().dialect.name == "postgresql":  # a reform rewrites the tree: the planner must see it at once
        session.flush()
        for kind in ("org-units", "persons"):
            imports.analyze(session, kind)


def _moved(record: dict[str, Any], dest: dict[str, str], ending: set[str], plan: ReorgPlan) -> dict[str, Any]:
    """Assignments at moving units end on the last day and continue at the successor (re-categorised)."""
    last, first = plan.last_day.isoformat(), plan.effective.isoformat()
    out = dict(record)
    for name, _model, _col, key in ASSIGNMENTS:
        items = []
        for item in record[name]:
            unit = item[key]
            runs_on = item["end"] is None or item["end"] > last
            mapped = name == "employments" and item["category"] in plan.category_map
            if not runs_on or (unit not in dest and unit not in ending and not mapped):
                items.append(item)
                continue
            if item["start"] <= last:
                items.append(item | {"end": last})
            if unit in dest or (mapped and unit not in ending):
                continued = item | {key: dest.get(unit, unit), "start": max(item["start"], first)}
                if name == "employments":
                    continued["category"] = plan.category_map.get(item["category"], item["category"])
                items.append(continued)
        out[name] = items
    return out
