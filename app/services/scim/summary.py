"""The read-only parts of a User: the qualification summary and the primary employment's units today."""

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.services import orgunits, tree
from app.services.codelists import CodeBook
from app.services.scim.models import EnterpriseUser, RegistrySummary


def _held(items: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    return [i for i in items if (i.get("awarded_on") or "") <= today.isoformat()]


def _highest(book: CodeBook, list_name: str, codes: list[str]) -> str | None:
    """The code of the highest order among `codes` (unknown codes are ignored)."""
    ranked = [(found.ord or 0, c) for c in codes if (found := book.get(list_name, c)) is not None]
    return max(ranked)[1] if ranked else None


def primary_employment(record: dict[str, Any], today: date) -> dict[str, Any] | None:
    """The primary employment active today, if any."""
    day = today.isoformat()
    return next((e for e in record.get("employments") or []
                 if e["primary"] and e["start"] <= day and (e["end"] is None or day <= e["end"])), None)


def qualifications(record: dict[str, Any], book: CodeBook, today: date, *, sees_sensitive: bool) -> RegistrySummary:
    """Highest degree, foreign-language level, political theory, state management; party membership."""
    levels = [i["level"] for i in _held(record.get("languages") or [], today) if i["kind"] == "foreign"]
    party, left = record.get("party_member_since"), record.get("party_member_until")
    job = primary_employment(record, today) or {}
    return RegistrySummary(
        highest_degree=_highest(book, "degree_level", [d["level"] for d in _held(record.get("degrees") or [], today)]),
        highest_foreign_language_level=max(levels) if levels else None,
        political_theory=_highest(book, "political_theory",
                                  [p["level"] for p in _held(record.get("political_theory") or [], today)]),
        state_management=_highest(book, "state_management",
                                  [s["level"] for s in _held(record.get("state_management") or [], today)]),
        party_member=(party is not None and party <= today.isoformat() and (left is None or left >= today.isoformat()))
        if sees_sensitive else None,
        primary_unit=job.get("org_unit"), category=job.get("category"), occupation=job.get("occupation"))


def enterprise(session: Session, records: dict[str, dict[str, Any]], today: date) -> dict[str, EnterpriseUser]:
    """Per external id: employeeNumber, and the names of the primary unit (department) and the unit above it."""
    jobs = {ext: primary_employment(r, today) for ext, r in records.items()}
    units = _unit_records(session, {j["org_unit"] for j in jobs.values() if j})
    parents = _unit_records(session, {p for u in units.values() if (p := _parent_on(u, today))})
    out = {}
    for ext, job in jobs.items():
        unit = units.get(job["org_unit"]) if job else None
        parent = parents.get(_parent_on(unit, today) or "") if unit else None
        out[ext] = EnterpriseUser(employee_number=ext, department=unit["name"] if unit else None,
                                  organization=(parent or unit or {}).get("name"))
    return out


def _unit_records(session: Session, codes: set[str]) -> dict[str, dict[str, Any]]:
    ids = tree.unit_ids(session, codes)
    return {r["code"]: r for r in orgunits.records(session, sorted(ids.values())).values()}


def _parent_on(unit: dict[str, Any], today: date) -> str | None:
    day = today.isoformat()
    return next((p["code"] for p in unit["parents"] if p["start"] <= day and (p["end"] is None or day <= p["end"])), None)
