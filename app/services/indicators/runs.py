"""Published runs: a resolution's values for a unit and date, frozen with the versions used; diffs."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Change, ChangeUnit, IndicatorRun, Txn
from app.services import tree
from app.services.context import Actor
from app.services.indicators import catalog, service

KEPT = ("indicator", "numerator", "denominator", "value", "target", "status", "band_position", "definition", "note")


def publish(session: Session, actor: Actor, *, doc: str, org_unit: str, as_of: date) -> IndicatorRun:
    """Compute every indicator of `doc` for the unit and date now, and freeze the results."""
    unit_id = service.unit_in_reach(session, actor, org_unit)
    data_version = service._data_version(session)
    codes = [r.code for r in catalog.definitions(session) if r.spec["source"]["doc"] == doc]
    if not codes:
        raise NotFound(f"No indicators of resolution {doc!r}", code="resolution_not_found")
    results = []
    for code in codes:
        value = service.evaluate(session, actor, code, org_unit=org_unit, as_of=as_of)
        kept = {k: value.get(k) for k in KEPT}
        if "by_tier" in value:  # a target set at every level keeps each tier's figures (spec revision 2, point 2)
            kept["by_tier"] = value["by_tier"]
        if value.get("scope") == "territory":  # a closed unit's run says it is its territory, what was left out, and
            kept |= {k: value[k] for k in ("scope", "territory", "at_closure") if k in value}  # its last day's figure
        results.append(kept)
    run = IndicatorRun(
        doc=doc,
        org_unit_id=unit_id,
        as_of=as_of,
        data_version=data_version,
        created_at=datetime.now(UTC),
        created_by=actor.name,
        results=results,
    )
    session.add(run)
    session.flush()
    return run


def get(session: Session, actor: Actor, run_id: int) -> IndicatorRun:
    run = session.get(IndicatorRun, run_id)
    allowed = tree.reach(session, actor)
    if run is None or (allowed is not None and run.org_unit_id not in allowed):
        raise NotFound(f"No published run {run_id}", code="run_not_found")
    return run


def view(session: Session, actor: Actor, run: IndicatorRun) -> dict[str, Any]:
    """A run as this caller may see it: an aggregate-only caller gets no frozen figure of a protected indicator."""
    code = tree.unit_codes(session, {run.org_unit_id})[run.org_unit_id]
    return {
        "id": run.id,
        "doc": run.doc,
        "org_unit": code,
        "as_of": run.as_of.isoformat(),
        "data_version": run.data_version,
        "created_at": run.created_at.isoformat(),
        "created_by": run.created_by,
        "results": service.frozen_results(session, actor, run.results),
    }


def diff(session: Session, actor: Actor, first: int, second: int) -> dict[str, Any]:
    """What changed between two runs: values, definition versions, and the writes in between."""
    a, b = get(session, actor, first), get(session, actor, second)
    before = {r["indicator"]: r for r in service.frozen_results(session, actor, a.results)}
    changed = []
    for r in service.frozen_results(session, actor, b.results):
        old = before.get(r["indicator"])
        if old is None or any(old.get(k) != r.get(k) for k in ("numerator", "denominator", "value", "status", "definition")):
            changed.append(
                {
                    "indicator": r["indicator"],
                    "before": old,
                    "after": r,
                    "definition_changed": (old or {}).get("definition") != r.get("definition"),
                }
            )
    low, high = sorted((a.data_version, b.data_version))
    snapshot = tree.Tree(session)
    units = {u for u in snapshot.units if {a.org_unit_id, b.org_unit_id} & set(snapshot.ancestors_on(u, max(a.as_of, b.as_of)))}
    units |= {a.org_unit_id, b.org_unit_id}
    writes = session.execute(
        select(Change.seq, Change.entity, Change.key, Change.op, Txn.at, Txn.actor)
        .join(Txn, Txn.id == Change.txn_id)
        .where(
            Change.txn_id > low,
            Change.txn_id <= high,
            Change.seq.in_(select(ChangeUnit.change_seq).where(ChangeUnit.org_unit_id.in_(sorted(units)))),
        )
        .order_by(Change.seq)
        .limit(1000)
    ).all()
    return {
        "from": view(session, actor, a) | {"results": None},
        "to": view(session, actor, b) | {"results": None},
        "changed": changed,
        "writes_between": [
            {"seq": w.seq, "entity": w.entity, "key": w.key, "op": w.op, "at": w.at.isoformat(), "actor": w.actor} for w in writes
        ],
    }
