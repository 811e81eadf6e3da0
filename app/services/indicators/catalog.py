"""The catalog: definitions as versioned data, seeded from targets.yaml + formulas.yaml."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import IndicatorDefinition
from app.services import history
from app.services.context import Actor
from app.services.indicators.cache import LRU
from app.services.indicators.compiler import check
from app.services.indicators.spec import IndicatorSpec
from app.services.persons import pydantic_errors
from app.services.versioning import current_or_at, retire

DATA = Path(__file__).resolve().parent.parent.parent / "data"
COPIED = (
    "source",
    "source_kind",
    "target",
    "deadline",
    "period",
    "aggregate",
    "per_year",
    "note",
    "same_as",
    "breakdown",
    "disaggregate_by",
    "also",
)
WORDS = ("of", "share", "counts", "per", "unit", "units", "each_has")
PARTS = ("population", "share", "coverage", "flow", "per", "statistic", "numerator_statistic")


def build() -> list[IndicatorSpec]:
    """Every catalog entry: targets.yaml (what and how much) merged with formulas.yaml (how)."""
    targets = yaml.safe_load((DATA / "targets.yaml").read_text("utf-8"))["targets"]
    formulas = yaml.safe_load((DATA / "formulas.yaml").read_text("utf-8"))
    by_id = {t["id"]: t for t in targets}
    specs = [IndicatorSpec.model_validate(_merge(t, formulas, by_id)) for t in targets]
    specs += [IndicatorSpec.model_validate(_extra(e, formulas)) for e in formulas.get("extra", [])]
    return specs + planning()


PLANNING = "planning_indicators.yaml"  # beside targets.yaml (the spec's copy, as it is): the planning pools' shares


def planning() -> list[IndicatorSpec]:
    """The planning-pool indicators, their target floors taken from the rules data (planning_rules.yaml)."""
    from app.services import planning_rules

    entries = yaml.safe_load((DATA / PLANNING).read_text("utf-8"))["indicators"]
    specs = []
    for entry in entries:
        rule = (entry.get("target") or {}).get("from_rule")
        if rule is not None:
            floor = planning_rules.latest_figure(rule)
            entry = {k: v for k, v in entry.items() if k != "target"} | (
                {"target": {"band": [floor, None]}} if floor is not None else {})
        specs.append(IndicatorSpec.model_validate(entry))
    return specs


def _merge(t: dict[str, Any], formulas: dict[str, Any], by_id: dict[str, Any]) -> dict[str, Any]:
    base_id = t.get("same_as") or t["id"]
    base = by_id.get(base_id, t)
    kind = t.get("kind") or base.get("kind") or ("reported" if t["source_kind"] == "reported" else "qualitative")
    en = t.get("en") or formulas["en"][t["id"]]
    vi = t.get("vi") or formulas["vi"][t["id"]]
    spec: dict[str, Any] = {"id": t["id"], "names": {"vi": vi, "en": en}, "kind": kind}
    spec |= {k: t[k] for k in COPIED if k in t}
    spec |= {k: v for k, v in formulas["formulas"].get(base_id, {}).items() if k in PARTS}
    words = {k: str(base[k]).strip() for k in WORDS if isinstance(base.get(k), str)}
    if words:
        spec["words"] = words
    if kind == "reported":
        spec["statistic"] = t["id"]
    return spec


def _extra(entry: dict[str, Any], formulas: dict[str, Any]) -> dict[str, Any]:
    spec = dict(entry)
    if entry.get("same_as"):
        base = next(e for e in formulas["extra"] if e["id"] == entry["same_as"])
        spec |= {k: base[k] for k in PARTS if k in base and k not in entry}
    return spec


def _digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _dump(spec: IndicatorSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def seed(session: Session, actor: Actor) -> int:
    """Bring the registry's catalog to the packaged one; returns how many definitions were published.

    An entry the registry never had is published as version 1. An entry whose version in force was
    published by this same seed and differs from the packaged one (a revision of the spec: CHANGES.md)
    gets a new version; the old one stays for `known_at`. An entry an administrator has changed or
    withdrawn is left as the administrator left it.
    """
    have = set(session.scalars(select(IndicatorDefinition.code)))
    current = {row.code: row for row in definitions(session)}
    added = 0
    for spec in build():
        row = current.get(spec.id)
        if spec.id not in have:
            _publish(session, actor, spec, version=1)
        elif row is not None and row.published_by == actor.name and row.sha256 != _digest(_dump(spec)):
            txn = history.current_txn(session, actor, note="indicator catalog: a revision of the spec")
            retire(session, IndicatorDefinition, [row.id], txn.id)
            session.flush()
            _publish(session, actor, spec, version=row.version + 1)
        else:
            continue
        added += 1
    return added


def _publish(session: Session, actor: Actor, spec: IndicatorSpec, *, version: int) -> IndicatorDefinition:
    data = _dump(spec)
    txn = history.current_txn(session, actor)
    row = IndicatorDefinition(
        code=spec.id,
        version=version,
        spec=data,
        sha256=_digest(data),
        published_at=datetime.now(UTC),
        published_by=actor.name,
        sys_from=txn.id,
    )
    session.add(row)
    session.flush()
    return row


def parse(data: dict[str, Any]) -> IndicatorSpec:
    """A definition checked in shape and against the field registry, or InvalidInput."""
    try:
        spec = IndicatorSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("the definition is invalid", errors=pydantic_errors(exc)) from None
    errs = check(spec)
    if errs:
        raise InvalidInput("the definition uses fields the engine does not know", errors=errs)
    return spec


def publish(session: Session, actor: Actor, data: dict[str, Any]) -> tuple[str, IndicatorDefinition]:
    """Add or change a definition: a change is a new version; the old one stays for known_at."""
    spec = parse(data)
    history.lock_for_write(session)
    current = session.scalar(
        select(IndicatorDefinition).where(IndicatorDefinition.code == spec.id, IndicatorDefinition.sys_to.is_(None))
    )
    if current is not None and current.sha256 == _digest(_dump(spec)):
        return "unchanged", current
    txn = history.current_txn(session, actor)
    if current is not None:
        retire(session, IndicatorDefinition, [current.id], txn.id)
        session.flush()
    row = _publish(session, actor, spec, version=(current.version + 1) if current else 1)
    return ("updated" if current else "created"), row


def definitions(session: Session, cut: int | None = None) -> list[IndicatorDefinition]:
    """Every definition in force now (or at transaction `cut`), in code order."""
    return list(
        session.scalars(
            select(IndicatorDefinition).where(current_or_at(IndicatorDefinition, cut)).order_by(IndicatorDefinition.code)
        )
    )


def get(session: Session, code: str, cut: int | None = None) -> tuple[IndicatorDefinition, IndicatorSpec]:
    """One definition in force (now or at `cut`), or NotFound."""
    row = session.scalar(
        select(IndicatorDefinition).where(IndicatorDefinition.code == code, current_or_at(IndicatorDefinition, cut))
    )
    if row is None:
        raise NotFound(f"No indicator {code!r}", code="indicator_not_found")
    return row, spec_of(row.spec)


_SPECS: LRU[IndicatorSpec] = LRU(512)


def spec_of(data: dict[str, Any]) -> IndicatorSpec:
    """The validated definition of stored spec data, validated once per process for each content.

    The returned spec is shared between requests: never change it.
    """
    key = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return _SPECS.get_or_build(key, lambda: IndicatorSpec.model_validate(data))


def versions(session: Session, code: str) -> list[IndicatorDefinition]:
    return list(
        session.scalars(select(IndicatorDefinition).where(IndicatorDefinition.code == code).order_by(IndicatorDefinition.version))
    )
