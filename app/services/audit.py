"""The tamper-evident audit log: writes (the change feed) and sensitive reads, each chained by hash.

Every entry stores `hash = sha256(prev_hash + canonical content)`, the content including who and
when (the transaction's actor and time for writes). Rows are never deleted (database triggers), so
an entry edited by hand no longer matches its hash, and `verify` names it.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AccessLog, Change, Person, Txn
from app.services import tree
from app.services.context import Actor

GENESIS = "0" * 64
_READ_LOCK_KEY = 7_261_002


def canonical(content: dict[str, Any]) -> str:
    """An entry's content as hashed: canonical JSON (also the leaf of the checkpoints' Merkle tree)."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _digest(prev: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev + canonical(content)).encode("utf-8")).hexdigest()


def _at(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class Sealable(Protocol):
    """A change as the chain reads it: a `Change`, or its row not yet written (a batch path's)."""

    @property
    def seq(self) -> int: ...
    @property
    def entity(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def record(self) -> dict[str, Any]: ...

    prev_hash: str
    hash: str


def change_content(change: Sealable, txn: Txn) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "txn": txn.id,
        "at": _at(txn.at),
        "actor": txn.actor,
        "source": txn.source,
        "request_id": txn.request_id,
        "entity": change.entity,
        "key": change.key,
        "op": change.op,
        "record": change.record,
    }


def read_content(entry: AccessLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _at(entry.at),
        "actor": entry.actor,
        "request_id": entry.request_id,
        "person_id": entry.person_id,
        "fields": entry.fields,
        "action": entry.action,
        "detail": entry.detail,
    }


def chain_change(session: Session, change: Change, txn: Txn) -> None:
    """Seal a new change (its seq known) onto the chain; the caller holds the write lock."""
    prev = session.scalar(select(Change.hash).where(Change.seq < change.seq).order_by(Change.seq.desc()).limit(1))
    change.prev_hash = prev or GENESIS
    change.hash = _digest(change.prev_hash, change_content(change, txn))


def chain_changes(session: Session, changes: Sequence[Sealable], txn: Txn) -> None:
    """Seal a batch of new changes (their seqs known) onto the chain, in seq order; one read for the batch."""
    ordered = sorted(changes, key=lambda c: c.seq)
    if not ordered:
        return
    prev = session.scalar(select(Change.hash).where(Change.seq < ordered[0].seq).order_by(Change.seq.desc()).limit(1))
    prev = prev or GENESIS
    for change in ordered:
        change.prev_hash = prev
        change.hash = prev = _digest(prev, change_content(change, txn))


def log_reads(
    session: Session, actor: Actor, person_ids: list[int | None], *, fields: str, action: str, detail: str | None = None
) -> None:
    """Record reads of sensitive fields, one chained entry per named person.

    Written in a short transaction of its own, so that the chain's lock is held for the few
    statements of the chaining, not for the rest of the reading request (bench F7).
    """
    if not person_ids:
        return
    if session.get_bind().dialect.name != "postgresql":
        _append_reads(session, actor, person_ids, fields=fields, action=action, detail=detail)  # SQLite: one writer anyway
        return
    from app.db import get_audit_session_factory

    with get_audit_session_factory()() as own:
        own.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _READ_LOCK_KEY})
        _append_reads(own, actor, person_ids, fields=fields, action=action, detail=detail)
        own.commit()


def _append_reads(
    session: Session, actor: Actor, person_ids: list[int | None], *, fields: str, action: str, detail: str | None
) -> None:
    prev = session.scalar(select(AccessLog.hash).order_by(AccessLog.id.desc()).limit(1)) or GENESIS
    now = datetime.now(UTC)
    entries = [
        AccessLog(
            at=now,
            actor=actor.name,
            request_id=actor.request_id,
            person_id=pid,
            fields=fields,
            action=action,
            detail=detail,
            prev_hash="",
            hash="",
        )
        for pid in person_ids
    ]
    session.add_all(entries)
    session.flush()
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = prev = _digest(prev, read_content(entry))
    session.flush()


@dataclass
class Finding:
    log: str
    entry: int
    problem: str


@dataclass
class Entry:
    id: int
    content: dict[str, Any]
    prev_hash: str
    hash: str


LOGS = ("change", "access_log")


def entries(session: Session, log: str, *, upto: int | None = None) -> Iterator[Entry]:
    """Every entry of one log in order (seq for the change feed, id for the access log), streamed."""
    if log == "change":
        changes = select(Change, Txn).join(Txn, Txn.id == Change.txn_id).order_by(Change.seq)
        if upto is not None:
            changes = changes.where(Change.seq <= upto)
        for change, txn in session.execute(changes.execution_options(yield_per=2000)):
            yield Entry(change.seq, change_content(change, txn), change.prev_hash, change.hash)
            session.expunge(change)  # memory stays flat over a million entries
            if txn in session:
                session.expunge(txn)
        return
    reads = select(AccessLog).order_by(AccessLog.id)
    if upto is not None:
        reads = reads.where(AccessLog.id <= upto)
    for entry in session.scalars(reads.execution_options(yield_per=2000)):
        yield Entry(entry.id, read_content(entry), entry.prev_hash, entry.hash)
        session.expunge(entry)


def extent(session: Session, log: str) -> tuple[int, int | None]:
    """How many entries a log holds, and the last one's seq or id."""
    column = Change.seq if log == "change" else AccessLog.id
    count, last = session.execute(select(func.count(), func.max(column))).one()
    return int(count), last


def chain_findings(log: str, entry: Entry, prev: str) -> list[Finding]:
    """What is wrong with one entry's link and hash, given the hash of the entry before it."""
    found = []
    if entry.prev_hash != prev:
        found.append(Finding(log, entry.id, "link broken: the entry before it was altered or removed"))
    if _digest(entry.prev_hash, entry.content) != entry.hash:
        found.append(Finding(log, entry.id, "content does not match its hash: edited after it was written"))
    return found


def verify(session: Session) -> list[Finding]:
    """Every entry whose hash or link does not hold, in both chains (empty: the log is intact).

    The chains alone cannot tell a rewrite of the last entry with its hash recomputed, a deleted tail
    or an emptied table: a signed checkpoint (app/services/checkpoint.py) can.
    """
    findings: list[Finding] = []
    for log in LOGS:
        prev = GENESIS
        for entry in entries(session, log):
            findings += chain_findings(log, entry, prev)
            prev = entry.hash
    return findings


def query(
    session: Session,
    actor: Actor,
    *,
    person: str | None,
    org_unit: str | None,
    who: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    """Writes and sensitive reads, filtered by person, org unit, actor and time, newest first."""
    from app.models import ChangeUnit

    writes = select(Change, Txn).join(Txn, Txn.id == Change.txn_id).order_by(Change.seq.desc()).limit(limit)
    reads = (
        select(AccessLog, Person.external_id)
        .outerjoin(Person, Person.id == AccessLog.person_id)
        .order_by(AccessLog.id.desc())
        .limit(limit)
    )
    if person:
        writes = writes.where(Change.entity == "person", Change.key == person)
        reads = reads.where(Person.external_id == person)
    if who:
        writes, reads = writes.where(Txn.actor == who), reads.where(AccessLog.actor == who)
    if since:
        writes, reads = writes.where(Txn.at >= since), reads.where(AccessLog.at >= since)
    if until:
        writes, reads = writes.where(Txn.at <= until), reads.where(AccessLog.at <= until)
    units = _units(session, actor, org_unit)
    if units is not None:
        from app.models import Employment

        # as the change feed: a person's writes only where the caller may read the person
        readable = (
            select(Person.external_id)
            .join(Employment, Employment.person_id == Person.id)
            .where(Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(units)))
        )
        writes = writes.where(
            Change.seq.in_(select(ChangeUnit.change_seq).where(ChangeUnit.org_unit_id.in_(sorted(units)))),
            (Change.entity != "person") | Change.key.in_(readable),
        )
        reads = reads.where(
            AccessLog.person_id.in_(
                select(Employment.person_id).where(Employment.sys_to.is_(None), Employment.org_unit_id.in_(sorted(units)))
            )
        )
    return {
        "writes": [_shown(change_content(c, t), actor) | {"hash": c.hash} for c, t in session.execute(writes)],
        "reads": [read_content(e) | {"external_id": ext, "hash": e.hash} for e, ext in session.execute(reads)],
    }


def _shown(entry: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """A write as the caller may see it: sensitive fields of person records withheld from aggregate-only roles."""
    if actor.sees_sensitive or entry["entity"] != "person":
        return entry
    from app.services.person_records import redact

    return entry | {"record": redact(entry["record"])}


def _units(session: Session, actor: Actor, org_unit: str | None) -> set[int] | None:
    allowed = tree.reach(session, actor)
    if org_unit is None:
        return allowed
    snapshot = tree.Tree(session)
    root = tree.unit_id(session, org_unit)
    inside = {u for u in snapshot.units if root in snapshot.ancestors_on(u, snapshot.last_day(u, datetime.now(UTC).date()))}
    return inside if allowed is None else inside & allowed
