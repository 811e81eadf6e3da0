"""The change feed: every write, in commit order, for downstream systems to follow and replay."""

from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from app.models import Change, ChangeUnit, Employment, Person, Txn
from app.services import audit, training, tree
from app.services.context import Actor
from app.services.person_records import SENSITIVE


def page(session: Session, actor: Actor, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Changes after cursor `after` (a sequence number), oldest first, and the next cursor."""
    stmt = (select(Change, Txn.at, Txn.actor).join(Txn, Txn.id == Change.txn_id)
            .where(Change.seq > after).order_by(Change.seq).limit(limit))
    allowed = tree.reach(session, actor)
    if allowed is not None:
        # A person's change also concerns the bodies and units of their seats and posts, but the caller sees it
        # only when it may read the person (an employment in its units), as GET /persons/{id} decides.
        readable = select(Person.external_id).join(Employment, Employment.person_id == Person.id).where(
            Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(allowed)))
        # A course is read by the units below its own (training.course_reach): its changes too, or a scoped
        # follower's replay could not rebuild its export (its enrolments would name unknown courses).
        courses = training.course_reach(session, actor) or set()
        stmt = stmt.where(or_(
            and_(Change.entity == "course", exists().where(ChangeUnit.change_seq == Change.seq,
                                                          ChangeUnit.org_unit_id.in_(sorted(courses)))),
            and_(Change.entity != "course", exists().where(ChangeUnit.change_seq == Change.seq,
                                                          ChangeUnit.org_unit_id.in_(sorted(allowed))))),
            or_(Change.entity != "person", Change.key.in_(readable)))
    rows = session.execute(stmt).all()
    _log_person_records(session, actor, [c.key for c, _at, _who in rows if c.entity == "person"])
    changes: list[dict[str, Any]] = [{"seq": c.seq, "txn": c.txn_id, "at": at.isoformat(), "actor": who, "entity": c.entity,
                "key": c.key, "op": c.op, "record": c.record} for c, at, who in rows]
    return changes, (int(changes[-1]["seq"]) if changes else after)


def _log_person_records(session: Session, actor: Actor, external_ids: list[str]) -> None:
    """A person's change carries the whole record, sensitive fields included: each named person's read is logged."""
    if not external_ids:
        return
    keys = sorted(set(external_ids))
    ids: dict[str, int] = dict(session.execute(select(Person.external_id, Person.id).where(Person.external_id.in_(keys))).all())
    audit.log_reads(session, actor, [ids[k] for k in dict.fromkeys(external_ids) if k in ids], fields=",".join(SENSITIVE),
                    action="changes")
