"""An org unit's successors and local languages: read as of a transaction, checked, and written with history.

Both are sets kept in their own transaction-time tables (`org_unit_successor`, `org_unit_language`),
written like parent links: rows that leave the set are retired, new ones are added, unchanged ones
stay. Records list them sorted, so that a record's order carries no meaning.
"""

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgUnit, OrgUnitLanguage, OrgUnitSuccessor
from app.schemas.interchange import OrgUnitRecord
from app.services import tree
from app.services.versioning import current_or_at, retire


def read(session: Session, ids: list[int], cut: int | None = None) -> dict[int, dict[str, list[str]]]:
    """`{unit id: {"successors": [codes], "local_languages": [codes]}}` as recorded now or at transaction `cut`."""
    out: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"successors": [], "local_languages": []})
    successor = OrgUnit.__table__.alias("successor_unit")
    for row in session.execute(
            select(OrgUnitSuccessor.org_unit_id, successor.c.code)
            .join(successor, successor.c.id == OrgUnitSuccessor.successor_id)
            .where(OrgUnitSuccessor.org_unit_id.in_(ids), current_or_at(OrgUnitSuccessor, cut))):
        out[row.org_unit_id]["successors"].append(row.code)
    for row in session.execute(
            select(OrgUnitLanguage.org_unit_id, OrgUnitLanguage.language)
            .where(OrgUnitLanguage.org_unit_id.in_(ids), current_or_at(OrgUnitLanguage, cut))):
        out[row.org_unit_id]["local_languages"].append(row.language)
    return {uid: {k: sorted(v) for k, v in lists.items()} for uid, lists in out.items()}


def canonical(rec: OrgUnitRecord) -> dict[str, list[str]]:
    """The two lists as the registry stores and exports them."""
    return {"successors": sorted(rec.successors), "local_languages": sorted(rec.local_languages)}


def problems(rec: OrgUnitRecord, known_codes: set[str]) -> list[dict[str, str]]:
    """Successors name other units that exist (or come in the same import), and only a unit that closes has them."""
    errs: list[dict[str, str]] = []
    for i, code in enumerate(rec.successors):
        if code == rec.code:
            errs.append({"field": f"successors[{i}]", "message": "a unit cannot be its own successor"})
        elif code not in known_codes:
            errs.append({"field": f"successors[{i}]", "message": f"unknown successor org unit {code!r}"})
    if rec.successors and rec.valid_to is None:
        errs.append({"field": "successors", "message": "successors continue a unit from the day after its valid_to, "
                     "and this unit has no valid_to: give valid_to (its last day) or leave successors empty"})
    return errs


def scope_problems(old: dict[str, Any] | None, rec: OrgUnitRecord, allowed: set[int],
                   ids: dict[str, int]) -> list[dict[str, str]]:
    """Successor links a scoped writer adds or removes that name a unit outside its units (unchanged ones are fine)."""
    before = set((old or {}).get("successors") or [])
    errs = [{"field": f"successors[{i}]", "message": f"successor {code!r} is outside your org units: you name as "
             "successors only units under your own"}
            for i, code in enumerate(rec.successors) if code not in before and ids.get(code) not in allowed]
    errs += [{"field": "successors", "message": f"successor {code!r} would be removed; it is outside your org units"}
             for code in sorted(before - set(rec.successors)) if ids.get(code) not in allowed]
    return errs


def write(session: Session, unit_id: int, rec: OrgUnitRecord, txn_id: int) -> None:
    """Bring the unit's current successors and languages to those of `rec`, retiring what left."""
    current = list(session.scalars(select(OrgUnitSuccessor).where(
        OrgUnitSuccessor.org_unit_id == unit_id, OrgUnitSuccessor.sys_to.is_(None))))
    ids = tree.unit_ids(session, set(rec.successors))
    wanted = {ids[code] for code in rec.successors}
    have = {row.successor_id: row.id for row in current}
    retire(session, OrgUnitSuccessor, [rid for sid, rid in have.items() if sid not in wanted], txn_id)
    session.add_all(OrgUnitSuccessor(org_unit_id=unit_id, successor_id=sid, sys_from=txn_id)
                    for sid in sorted(wanted - set(have)))
    languages = list(session.scalars(select(OrgUnitLanguage).where(
        OrgUnitLanguage.org_unit_id == unit_id, OrgUnitLanguage.sys_to.is_(None))))
    spoken = {row.language: row.id for row in languages}
    retire(session, OrgUnitLanguage, [rid for lang, rid in spoken.items() if lang not in rec.local_languages], txn_id)
    session.add_all(OrgUnitLanguage(org_unit_id=unit_id, language=lang, sys_from=txn_id)
                    for lang in sorted(set(rec.local_languages) - set(spoken)))
    session.flush()
