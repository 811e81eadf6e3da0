"""The tamper-evident audit log: writes (the change feed) and sensitive reads, each chained by hash.

Every entry stores `hash = sha256(prev_hash + canonical content)`, the content including who and
when (the transaction's actor and time for writes). Rows are never deleted (database triggers), so
an entry edited by hand no longer matches its hash, and `verify` names it.

Writes are chained as they are written: they hold the write lock anyway. Sensitive reads are not
serialised: a read appends its entries unsealed, and a sealer chains every unsealed entry in one
pass (`seal`), the order of sealing giving each its `seq`, the chain's order. On PostgreSQL each
server's background sealer does it every `AUDIT_SEAL_SECONDS`, and readers only append (`log_reads`);
where no sealer runs in the process (`AUDIT_SEAL_SECONDS=0`, the CLI, a server without its lifespan),
a reader that finds the sealer's lock free seals, and the others go on without waiting. Until it is
sealed an entry is covered by nothing, like a transparency log's entry before its merge delay
(RFC 9162 section 4.1): `verify` and `checkpoint` seal what is pending first.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.models import AccessLog, Change, Person, Txn
from app.services import tree
from app.services.background import Loop
from app.services.context import Actor

log = logging.getLogger(__name__)
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
    """Record reads of sensitive fields, one entry per named person, without waiting for any lock.

    PostgreSQL, while this process's background sealer runs (`start_sealer`: a server's, every
    `AUDIT_SEAL_SECONDS`): the entries are appended unsealed in one autocommitted statement, and the
    sealer chains them within the period (bench F31: the reader's own sealing was five round trips and
    a fifth of a logged read's CPU). Without it (AUDIT_SEAL_SECONDS=0, or no server around the process):
    in a short transaction of its own (bench F7), one statement takes the entries' ids and tries the
    sealer's lock. A reader that gets it seals what others left pending and writes its own entries
    sealed (no second version of its rows); one that does not writes them unsealed, for the sealer at
    work. SQLite has one writer anyway: the entries are appended and sealed in the request's own transaction.
    """
    if not person_ids:
        return
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {"at": now, "actor": actor.name, "request_id": actor.request_id, "person_id": pid, "fields": fields,
         "action": action, "detail": detail, "prev_hash": "", "hash": "", "seq": None}
        for pid in person_ids
    ]
    if session.get_bind().dialect.name != "postgresql":  # its own entries only: any other unsealed row is a forgery
        ids = list(session.scalars(insert(AccessLog).returning(AccessLog.id, sort_by_parameter_order=True), rows))
        _seal_locked(session, ids)
        return
    from app.db import get_audit_append_engine, get_audit_session_factory

    if _sealer.running:
        with get_audit_append_engine().connect() as appending:
            appending.execute(_APPEND, rows)  # seq NULL: the sealer's to chain; ids from the table's sequence
        if not _sealer.running:  # it stopped while the entry was written: its last round may have run before it
            seal_pending(wait=True)  # at a server's stop only; waits for that round, then seals what it left
        return
    with get_audit_session_factory()() as own:
        conn = own.connection()  # Core statements on the session's connection: the ORM's layers cost more than they do
        got, ids, waiting = conn.execute(_TAKE, {"key": _READ_LOCK_KEY, "n": len(rows)}).one()
        for row, entry_id in zip(rows, ids, strict=True):
            row["id"] = entry_id
        if got:  # the chain's end is read after the lock is held: a statement of its own, a snapshot of its own
            position, prev = _seal_locked(own) if waiting else _end(conn)
            for row in rows:
                position += 1
                row["seq"], row["prev_hash"] = position, prev
                row["hash"] = prev = _digest(prev, _read_values(row))
        conn.execute(_APPEND, rows)
        own.commit()


# the sealer's lock, tried; the ids of the entries to write; whether entries wait for a seal (as of the statement's
# snapshot: one committed just after is left to the next sealer, never lost)
_TAKE = text(
    "SELECT pg_try_advisory_xact_lock(:key), "
    "array(SELECT nextval(pg_get_serial_sequence('access_log', 'id')) FROM generate_series(1, :n)), "
    "EXISTS (SELECT 1 FROM access_log WHERE seq IS NULL)")

SEAL_BATCH = 5000


def seal(session: Session, *, wait: bool = False) -> int | None:
    """Chain every unsealed access-log entry the session sees (but those out of time, `_on_time`), in id order,
    after the last sealed one.

    Each gets the next `seq`, its `prev_hash` and its `hash`, as entries chained one by one always did. One sealer
    at a time: a transaction-scoped advisory lock, taken without waiting (`None`: another sealer is at work, and
    seals what is pending) unless `wait`. Entries committed while a sealer runs are sealed by the next one, with a
    later `seq` than entries of higher id: the chain's order is `seq`, the order of sealing. Returns how many
    entries were sealed. The caller commits.

    SQLite: none. Every read there seals its own entries in its own transaction (`log_reads`), so an unsealed row
    was written by someone else, straight into the database: sealing it, as verify did, made a forged read (one
    backdated eleven months, the attack) an intact entry. It is left unsealed, and `verify` names it.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _READ_LOCK_KEY})
    elif not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _READ_LOCK_KEY}):
        return None
    before = session.scalar(select(func.count()).select_from(AccessLog).where(_on_time(session))) or 0
    _seal_locked(session)
    return int(before)


LATE = timedelta(minutes=10)


def _end_at(session: Session) -> datetime | None:
    """When the chain's last sealed entry says it was read."""
    return session.scalar(select(AccessLog.at).where(AccessLog.seq.is_not(None)).order_by(AccessLog.seq.desc()).limit(1))


def _window(session: Session) -> tuple[datetime, datetime]:
    """The times an unsealed entry may claim: from LATE before the chain's sealed end (or the database's clock, when
    that is earlier) to LATE after the database's clock."""
    now = session.scalar(select(func.now()))
    assert now is not None
    end_at = _end_at(session)
    return min(end_at, now) - LATE if end_at is not None else datetime.min.replace(tzinfo=UTC), now + LATE


def _on_time(session: Session) -> ColumnElement[bool]:
    """The unsealed entries a sealer takes: those claiming a time within `_window`.

    A reader's entry is sealed within AUDIT_SEAL_SECONDS of its `at` by whichever server's sealer runs first, so it
    never claims a time long before entries already sealed. A row inserted unsealed by someone with write access to
    the database, backdated (the attack: a read of eleven months before, by an officer who could not read that
    person), was sealed as genuine. It stays unsealed, and `verify` names it (`out of time`). So does one dated
    after the database's clock: sealed, it moved the chain's end ahead, and every reader's entry after it fell out
    of time (the review). A server whose clock runs ahead has its entries named too, until its clock is mended."""
    low, high = _window(session)
    return AccessLog.seq.is_(None) & (AccessLog.at >= low) & (AccessLog.at <= high)


# built once, as _TAKE: SQLAlchemy memoizes a statement object's cache key (every logged read runs both; bench F31)
_END = select(AccessLog.seq, AccessLog.hash).where(AccessLog.seq.is_not(None)).order_by(AccessLog.seq.desc()).limit(1)
_APPEND = insert(AccessLog)
# PostgreSQL: a batch's seals in one statement, the rows joined by id to the arrays of their values. An executemany
# (what SQLite runs) is one UPDATE per entry, each parsed, planned and executed by the server and sent by the driver
_SEAL_ALL = text(
    "UPDATE access_log SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:seqs AS integer[]), CAST(:prevs AS varchar[]), "
    "CAST(:hashes AS varchar[])) AS v(id, seq, prev_hash, hash) "
    "WHERE access_log.id = v.id AND access_log.seq IS NULL")


def _end(session: Session | Connection) -> tuple[int, str]:
    """The chain's last place and hash (0 and the genesis hash while nothing is sealed)."""
    last = session.execute(_END).first()
    return (int(last[0] or 0), str(last[1])) if last else (0, GENESIS)


def _read_values(values: dict[str, Any]) -> dict[str, Any]:
    """An entry's content as `read_content` gives it, from the values of its row."""
    return read_content(SimpleNamespace(**values))  # type: ignore[arg-type]


def _seal_locked(session: Session, only: list[int] | None = None) -> tuple[int, str]:
    """Seal every unsealed entry (or those of `only`; the caller holds the sealer's lock); the chain's new end."""
    columns = (AccessLog.id, AccessLog.at, AccessLog.actor, AccessLog.request_id, AccessLog.person_id, AccessLog.fields,
               AccessLog.action, AccessLog.detail)
    position, prev = _end(session)
    while True:
        unsealed = _on_time(session) if only is None else AccessLog.seq.is_(None) & AccessLog.id.in_(only)
        pending = session.execute(select(*columns).where(unsealed).order_by(AccessLog.id).limit(SEAL_BATCH)).all()
        if not pending:
            return position, prev
        seals = []
        for entry in pending:  # a row has the entry's attributes: read_content hashes it as written
            position += 1
            digest = _digest(prev, read_content(entry))  # type: ignore[arg-type]
            seals.append({"id": entry.id, "seq": position, "prev_hash": prev, "hash": digest})
            prev = digest
        if session.get_bind().dialect.name == "postgresql":
            done = session.connection().execute(_SEAL_ALL, {
                "ids": [e["id"] for e in seals], "seqs": [e["seq"] for e in seals],
                "prevs": [e["prev_hash"] for e in seals], "hashes": [e["hash"] for e in seals]}).rowcount
            if done != len(seals):  # another sealer chained some of them since they were read: only a sealer past
                raise RuntimeError(f"sealing: {done} of {len(seals)} entries updated")  # the lock; the caller rolls back
        else:
            session.execute(update(AccessLog), seals)  # by primary key, one executemany
        if len(pending) < SEAL_BATCH:
            return position, prev


def unsealed(session: Session) -> int:
    """How many access-log entries wait for their seal (appended in the last moments, or a sealer stopped)."""
    return int(session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.seq.is_(None))) or 0)


def seal_pending(*, wait: bool = True) -> int | None:
    """Seal what is pending, in a transaction of its own (verify and checkpoint start with it)."""
    from app.db import get_audit_session_factory

    with get_audit_session_factory()() as own:
        sealed = seal(own, wait=wait)
        own.commit()
    return sealed


def _sealing_round() -> None:
    from app.db import get_audit_session_factory

    with get_audit_session_factory()() as own:
        if own.scalar(select(AccessLog.id).where(_on_time(own)).limit(1)) is not None:
            seal(own)  # without waiting: another server's sealer at work seals them too
            own.commit()


# the server's background sealer: entries a busy sealer left are sealed within AUDIT_SEAL_SECONDS, and once more
# when the last application of the process stops (app/services/background.py)
_sealer = Loop("access-log-sealer", _sealing_round, at_stop=True)


def start_sealer(every: float) -> threading.Thread:
    """Start (or join) the process's background sealer: a round every `every` seconds; `stop_sealer` at the end."""
    return _sealer.start(every)


def stop_sealer() -> None:
    """The end of an application that started the sealer: the last one stops it, after a last round."""
    _sealer.stop()


@dataclass
class Finding:
    log: str
    entry: int
    problem: str


@dataclass
class Entry:
    id: int  # what names the entry: a change's seq, an access-log entry's id
    content: dict[str, Any]
    prev_hash: str
    hash: str
    pos: int  # its place in its chain: a change's seq, an access-log entry's seq (given when sealed)


LOGS = ("change", "access_log")


def entries(session: Session, log: str, *, upto: int | None = None) -> Iterator[Entry]:
    """Every sealed entry of one log in chain order (`seq` in both), up to position `upto`, streamed."""
    if log == "change":
        changes = select(Change, Txn).join(Txn, Txn.id == Change.txn_id).order_by(Change.seq)
        if upto is not None:
            changes = changes.where(Change.seq <= upto)
        for change, txn in session.execute(changes.execution_options(yield_per=2000)):
            yield Entry(change.seq, change_content(change, txn), change.prev_hash, change.hash, change.seq)
            session.expunge(change)  # memory stays flat over a million entries
            if txn in session:
                session.expunge(txn)
        return
    reads = select(AccessLog).where(AccessLog.seq.is_not(None)).order_by(AccessLog.seq)  # the unsealed wait
    if upto is not None:
        reads = reads.where(AccessLog.seq <= upto)
    for entry in session.scalars(reads.execution_options(yield_per=2000)):
        yield Entry(entry.id, read_content(entry), entry.prev_hash, entry.hash, int(entry.seq or 0))
        session.expunge(entry)


def extent(session: Session, log: str) -> tuple[int, int | None]:
    """How many sealed entries a log holds, and the last one's position (`seq`)."""
    column = Change.seq if log == "change" else AccessLog.seq
    count, last = session.execute(select(func.count(column), func.max(column))).one()
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
    if session.get_bind().dialect.name != "postgresql":  # no row waits for a seal there (`seal`): each is a forgery
        findings += [Finding("access_log", entry_id, "never sealed: every read seals its own entry as it is written, "
                                                     "so this row was put in the database by other means")
                     for entry_id in session.scalars(select(AccessLog.id).where(AccessLog.seq.is_(None))
                                                     .order_by(AccessLog.id))]
    else:  # rows no sealer takes (`_on_time`)
        low, high = _window(session)
        findings += [Finding("access_log", entry_id, f"out of time: not sealed, it claims a read at {_at(at)}, more "
                                                     f"than {LATE.seconds // 60} minutes "
                                                     + ("before entries already sealed" if at < low
                                                        else "after the database's clock"))
                     for entry_id, at in session.execute(select(AccessLog.id, AccessLog.at).where(
                         AccessLog.seq.is_(None), (AccessLog.at < low) | (AccessLog.at > high)).order_by(AccessLog.id))]
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
        # a role that is shown person records without their sensitive fields is shown no chain hash of the write log:
        # each is the hash of the full record (and, chained, of every record before it), so with the rest of the
        # record shown it would confirm a guess of the fields withheld (an ethnicity code, a national id: a few
        # minutes of hashing); it verifies the chain with GET /audit/verify
        "writes": [_shown(change_content(c, t), actor) | {"hash": c.hash if actor.sees_sensitive else None}
                   for c, t in session.execute(writes)],
        "reads": [read_content(e) | {"external_id": ext, "hash": e.hash or None, "seq": e.seq}
                  for e, ext in session.execute(reads)],
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
