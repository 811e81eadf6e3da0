"""A planning pool's title and term (planning.md 'Planning pools'): read, checked, and as records carry them.

A unit of kind `planning_pool` carries `pool_for` (`{"org_unit": CODE, "rank": RANK}`, RANK from the code
list `leadership_rank`) and `term` (`[start, end]`). The term is stored and exported as two ISO dates; an
import may give years (`[2026, 2031]` or `"2026-2031"`), read as 1 January of the first and 31 December of
the last. Records of planning pools always carry both keys (null when not given); other units carry neither.
"""

from datetime import date
from typing import Any

from app.models import OrgUnitVersion
from app.schemas.interchange import OrgUnitRecord
from app.services.codelists import CodeBook

POOL_KIND = "planning_pool"


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _keys(kind: str, org_unit: str | None, rank: str | None, start: date | None, end: date | None) -> dict[str, Any]:
    if kind != POOL_KIND:
        return {}
    pool_for = None if org_unit is None else {"org_unit": org_unit, "rank": rank}
    term = None if start is None or end is None else [_iso(start), _iso(end)]
    return {"pool_for": pool_for, "term": term}


def read(version: OrgUnitVersion, codes: dict[int, str]) -> dict[str, Any]:
    """The keys a stored version adds to its record (`codes`: unit id -> code of the units named)."""
    target = None if version.pool_for_id is None else codes.get(version.pool_for_id)
    return _keys(version.kind, target, version.pool_rank, version.term_start, version.term_end)


def canonical(rec: OrgUnitRecord) -> dict[str, Any]:
    """The keys as the registry stores and exports them."""
    start, end = rec.term if rec.term else (None, None)
    return _keys(rec.kind, rec.pool_for.org_unit if rec.pool_for else None, rec.pool_for.rank if rec.pool_for else None,
                 start, end)


def problems(rec: OrgUnitRecord, book: CodeBook, known_codes: set[str]) -> list[dict[str, str]]:
    """Each problem with its field and its own stable error code."""
    errs: list[dict[str, str]] = []
    if rec.kind != POOL_KIND:
        errs += [{"field": name, "error": "not_a_planning_pool", "message": f"{name} is for units of kind "
                  f"{POOL_KIND} only; this unit is of kind {rec.kind!r}"}
                 for name in ("pool_for", "term") if getattr(rec, name) is not None]
        return errs
    if rec.pool_for is not None:
        target = rec.pool_for.org_unit
        if target == rec.code:
            errs.append({"field": "pool_for.org_unit", "error": "pool_for_unknown_org_unit",
                         "message": "a planning pool is for the post of another unit, not of itself"})
        elif target not in known_codes:
            errs.append({"field": "pool_for.org_unit", "error": "pool_for_unknown_org_unit",
                         "message": f"unknown org unit {target!r}"})
        msg = book.problem("leadership_rank", rec.pool_for.rank)
        if msg:
            errs.append({"field": "pool_for.rank", "error": "pool_for_unknown_rank", "message": msg})
    if rec.term is not None and rec.term[1] < rec.term[0]:
        errs.append({"field": "term", "error": "term_end_before_start",
                     "message": f"the term ends on {rec.term[1]}, before it starts on {rec.term[0]}"})
    return errs


def attributes(rec: OrgUnitRecord, ids: dict[str, int]) -> dict[str, Any]:
    """The version columns of the record (`ids`: code -> id of the units named)."""
    pool = rec.pool_for if rec.kind == POOL_KIND else None
    term = rec.term if rec.kind == POOL_KIND else None
    return {"pool_for_id": ids.get(pool.org_unit) if pool else None, "pool_rank": pool.rank if pool else None,
            "term_start": term[0] if term else None, "term_end": term[1] if term else None}


def named(rec: OrgUnitRecord) -> set[str]:
    """The unit the record names as its title's unit (it must exist when the record is written)."""
    return {rec.pool_for.org_unit} if rec.pool_for is not None and rec.pool_for.org_unit != rec.code else set()
