"""Streaming export of JSON Lines: one consistent snapshot, read in keyset-ordered chunks."""

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.models import Employment, OrgUnit, OrgUnitVersion, Person, PersonVersion, Statistic
from app.services import audit, orgunits, statistics, training, tree
from app.services.context import Actor
from app.services.person_records import SENSITIVE, build, redact
from app.services.versioning import current_or_at

CHUNK = 500


def dumps(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def org_units(session: Session, actor: Actor, cut: int | None) -> Iterator[dict[str, Any]]:
    allowed = tree.reach(session, actor)
    after = ""
    while True:
        stmt = (select(OrgUnit.id, OrgUnit.code).join(OrgUnitVersion, OrgUnitVersion.org_unit_id == OrgUnit.id)
                .where(current_or_at(OrgUnitVersion, cut), OrgUnit.code > after).order_by(OrgUnit.code).limit(CHUNK))
        rows = session.execute(stmt).all()
        if not rows:
            return
        recs = orgunits.records(session, [r.id for r in rows], cut)
        for r in rows:
            if allowed is None or r.id in allowed:
                yield recs[r.id]
        after = rows[-1].code


def persons(session: Session, actor: Actor, cut: int | None) -> Iterator[dict[str, Any]]:
    allowed = tree.reach(session, actor)
    scope: list[ColumnElement[bool]] = [current_or_at(PersonVersion, cut)]
    if allowed is not None:
        scope.append(Person.id.in_(select(Employment.person_id).where(
            Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(allowed)))))
    if actor.sees_sensitive:
        # Logged before the first record leaves, so that an export whose log cannot be written (the
        # primary unreachable while a replica serves the reads) stops with nothing sensitive sent.
        count = session.scalar(select(func.count()).select_from(Person)
                               .join(PersonVersion, PersonVersion.person_id == Person.id).where(*scope))
        _log_export(session, actor, count)
    after = ""
    while True:
        stmt = (select(Person.id, Person.external_id).join(PersonVersion, PersonVersion.person_id == Person.id)
                .where(*scope, Person.external_id > after).order_by(Person.external_id).limit(CHUNK))
        rows = session.execute(stmt).all()
        if not rows:
            break
        recs = build(session, {r.id: r.external_id for r in rows}, cut)
        for r in rows:
            yield recs[r.id] if actor.sees_sensitive else redact(recs[r.id])
        after = rows[-1].external_id


def _log_export(session: Session, actor: Actor, count: int | None) -> None:
    """The access-log entry of an export of sensitive fields, committed before the export streams.

    On SQLite the export's own transaction only reads (it holds no write lock while it streams), so the
    entry is written in a short transaction of its own; PostgreSQL's audit.log_reads does that already.
    """
    detail = f"export of {count} persons"
    if session.get_bind().dialect.name != "sqlite":
        audit.log_reads(session, actor, [None], fields=",".join(SENSITIVE), action="export", detail=detail)
        return
    with get_session_factory().begin() as own:
        audit.log_reads(own, actor, [None], fields=",".join(SENSITIVE), action="export", detail=detail)


def stats(session: Session, actor: Actor, cut: int | None) -> Iterator[dict[str, Any]]:
    allowed = tree.reach(session, actor)
    stmt = (select(Statistic, OrgUnit.code).join(OrgUnit, OrgUnit.id == Statistic.org_unit_id)
            .where(current_or_at(Statistic, cut))
            .order_by(OrgUnit.code, Statistic.code, Statistic.period_start, Statistic.period))
    for row, code in session.execute(stmt).yield_per(CHUNK):
        if allowed is None or row.org_unit_id in allowed:
            yield statistics.as_record(row, code)


GENERATORS = {"org-units": org_units, "persons": persons, "statistics": stats, "courses": training.export_courses,
              "enrolments": training.export_enrolments}
