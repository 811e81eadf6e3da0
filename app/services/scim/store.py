"""What SCIM needs from the database besides records: who it may see, who it deleted, and when things changed.

A SCIM DELETE closes the person (persons.close, no hard delete) in a transaction noted DELETED; the
person is gone from SCIM (404, left out of lists) while that transaction's change is their latest one. A DELETE by
a caller that does not manage the person ends only its units' part, noted LEFT: the person stays a User.
A later write (a POST re-provisioning them, a REST or import write) brings them back.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select, union_all
from sqlalchemy.orm import Session, aliased

from app.errors import NotFound
from app.models import Change, Employment, Person, PersonVersion, Txn
from app.services import history, persons, tree
from app.services.context import Actor
from app.services.person_records import LIST_TABLES

DELETED = "scim: DELETE /Users"
LEFT = "scim: DELETE /Users (left the caller's units; managed elsewhere)"
RESTORED = "scim: POST /Users (re-provisioned)"
VERSIONED = (PersonVersion, *LIST_TABLES)


def deleted_keys(key: str | None = None) -> Select[tuple[str]]:
    """External ids (or just `key`) whose latest change was written by a SCIM DELETE."""
    marks = (select(Change.key, Change.seq).join(Txn, Txn.id == Change.txn_id)
             .where(Txn.note == DELETED, Change.entity == "person"))
    marked = (marks if key is None else marks.where(Change.key == key)).subquery()
    later = aliased(Change)
    return select(marked.c.key).where(~exists().where(later.entity == "person", later.key == marked.c.key,
                                                      later.seq > marked.c.seq))


def is_deleted(session: Session, external_id: str) -> bool:
    return session.scalar(deleted_keys(external_id).limit(1)) is not None


def visible(session: Session, actor: Actor, external_id: str) -> Person:
    """The person, or NotFound when outside the caller's units or deleted through SCIM."""
    person = persons.get_or_raise(session, actor, external_id)
    if is_deleted(session, external_id):
        raise NotFound(f"User {external_id!r} was deleted", code="person_not_found")
    return person


def in_view(session: Session, actor: Actor) -> list[ColumnElement[bool]]:
    """Conditions on Person: inside the caller's units, and not deleted through SCIM."""
    conds: list[ColumnElement[bool]] = [Person.external_id.not_in(deleted_keys())]
    allowed = tree.reach(session, actor)
    if allowed is not None:
        conds.append(Person.id.in_(select(Employment.person_id).where(
            Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(allowed)))))
    return conds


def mark_transaction(session: Session, actor: Actor, note: str) -> None:
    """Open this request's transaction with `note` (the writes that follow join it)."""
    history.current_txn(session, actor, note=note)


def mark(session: Session, actor: Actor, note: str, record: dict[str, Any]) -> None:
    """Make `note`'s transaction the person's latest change even when the write changed nothing."""
    history.current_txn(session, actor, note=note)
    units = persons.unit_index(session, persons.referenced_units(record))
    history.record_change(session, actor, entity="person", key=record["external_id"], op="update", record=record,
                          unit_ids={u.id for u in units.values()})


def stamps(session: Session, person_ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
    """When each person was first recorded and last changed (meta.created, meta.lastModified)."""
    if not person_ids:
        return {}
    parts = [select(m.person_id.label("pid"), col.label("txn")).where(m.person_id.in_(person_ids), col.is_not(None))
             for m in VERSIONED for col in (m.sys_from, m.sys_to)]
    moments = union_all(*parts).subquery()
    spans = session.execute(select(moments.c.pid, func.min(moments.c.txn), func.max(moments.c.txn))
                            .group_by(moments.c.pid)).all()
    txn_ids = {t for _, first, last in spans for t in (first, last)}
    at: dict[int, datetime] = dict(session.execute(select(Txn.id, Txn.at).where(Txn.id.in_(sorted(txn_ids)))).all())
    return {pid: (at[first], at[last]) for pid, first, last in spans}
