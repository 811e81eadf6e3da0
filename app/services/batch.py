"""The shape every set-based batch path shares (person_batch, enrolment_batch, bench F1 and F11).

A batch is planned (validated against what a few queries fetched) and written in a few statements inside a
savepoint. Where a record must see an earlier one of the same batch (one key twice), or the database refuses the
batch's writes (a constraint the plan does not check itself), the batch is written record by record instead, so
that all-or-nothing per record holds and only the offending records fail.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models import Change, ChangeUnit, Txn
from app.services import audit, history
from app.services.versioning import insert_rows, next_ids

I = TypeVar("I")  # noqa: E741 - an item of the batch
P = TypeVar("P")  # a planned write


def write(session: Session, items: Sequence[I], keys: Sequence[Any], *, plan: Callable[[], list[P]],
          apply: Callable[[list[P]], None], item_of: Callable[[P], I], one_by_one: Callable[[list[I]], None],
          done: Callable[[list[P]], None]) -> None:
    """Plan and apply the batch under the write lock; record by record when a key repeats or the database refuses."""
    if len(set(keys)) != len(keys):
        one_by_one(list(items))
        return
    history.lock_for_write(session)
    plans = plan()
    if not plans:
        return
    savepoint = session.begin_nested()
    try:
        apply(plans)
        savepoint.commit()
    except DBAPIError:
        savepoint.rollback()
        session.expire_all()
        one_by_one([item_of(p) for p in plans])
        return
    done(plans)


@dataclass
class Entry:
    """A feed entry of a batch, sealed onto the chain before it is written (`audit.Sealable`): a plain object, not
    a mapped `Change`, whose instrumented attributes cost a batch of 500 persons 7 % of its time (bench F24)."""

    entity: str
    key: str
    op: str
    record: dict[str, Any]
    units: set[int]
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


def record_entries(session: Session, txn: Txn, entries: list[Entry]) -> None:
    """The batch's feed entries in their order: numbered, chained as `history.record_change` chains them, written
    (one COPY for the changes, one for the units they touch)."""
    for entry, seq in zip(entries, next_ids(session, "change", "seq", len(entries)), strict=True):
        entry.seq = seq
    audit.chain_changes(session, entries, txn)
    insert_rows(session, Change, [{"seq": e.seq, "txn_id": txn.id, "entity": e.entity, "key": e.key, "op": e.op,
                                   "record": e.record, "prev_hash": e.prev_hash, "hash": e.hash} for e in entries])
    insert_rows(session, ChangeUnit, [{"change_seq": e.seq, "org_unit_id": uid} for e in entries for uid in sorted(e.units)])
