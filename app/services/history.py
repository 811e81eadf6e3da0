"""Transaction time and the change feed: every write gets one Txn, in commit order."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.orm import Session, SessionTransaction

from app.models import Change, ChangeUnit, Txn
from app.services.context import Actor

_WRITE_LOCK_KEY = 7_261_001


def lock_for_write(session: Session) -> None:
    """Serialise writers, so that transaction ids and change sequence follow commit order.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction already starts with
    BEGIN IMMEDIATE (app.db), which holds the database's single write lock.
    """
    if session.info.get("write_locked"):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})
        # Anything read before the lock may be stale (READ COMMITTED): forget it, so that every read
        # from here on, revision checks included, sees the latest committed state.
        session.expire_all()
    session.info["write_locked"] = True


def current_txn(session: Session, actor: Actor, note: str | None = None) -> Txn:
    """The Txn of this database transaction, created on the first real write."""
    lock_for_write(session)
    txn = session.info.get("txn")
    if txn is not None and inspect(txn).persistent:
        return txn
    txn = Txn(at=_next_moment(session), actor=actor.name, source=actor.source,
              request_id=actor.request_id, note=note)
    session.add(txn)
    session.flush()
    session.info["txn"] = txn
    return txn


def _next_moment(session: Session) -> datetime:
    """Now, or a microsecond after the last transaction if this server's clock is behind it.

    Taken under the write lock, so the moments of transactions rise with their ids whatever the
    clocks of several app servers say: `known_at` = a transaction's moment then includes it and
    every earlier one, and no later one (txn_cut).
    """
    now = datetime.now(UTC)
    last = session.scalar(select(func.max(Txn.at)))
    if last is not None and last.astimezone(UTC) >= now:
        return last.astimezone(UTC) + timedelta(microseconds=1)
    return now


def moment(at: datetime) -> str:
    """A transaction's moment as the API gives it (`recorded_at`, `Recorded-At`): UTC, microseconds, `Z`.

    Passed back as `known_at` it includes that transaction (URL-safe: no `+`).
    """
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def recorded_at(session: Session) -> str | None:
    """The moment of this session's write transaction (committed with the request), or None if it wrote nothing."""
    txn = session.info.get("txn")
    return moment(txn.at) if txn is not None and inspect(txn).persistent else None


def record_change(session: Session, actor: Actor, *, entity: str, key: str, op: str,
                  record: dict[str, Any], unit_ids: set[int]) -> None:
    """Append one change to the feed, with the record as it now stands and the units it concerns."""
    from app.services import audit

    txn = current_txn(session, actor)
    change = Change(txn_id=txn.id, entity=entity, key=key, op=op, record=record, prev_hash="", hash="")
    session.add(change)
    session.flush()
    audit.chain_change(session, change, txn)
    session.add_all(ChangeUnit(change_seq=change.seq, org_unit_id=uid) for uid in sorted(unit_ids))


def txn_cut(session: Session, known_at: datetime | None) -> int | None:
    """The last transaction committed at or before `known_at` (None: the present)."""
    if known_at is None:
        return None
    if known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=UTC)
    cut = session.scalar(select(func.max(Txn.id)).where(Txn.at <= known_at))
    return cut or 0


@event.listens_for(Session, "after_transaction_end")
def _forget_txn(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop("txn", None)
        session.info.pop("write_locked", None)
