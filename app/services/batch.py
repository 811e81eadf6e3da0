"""The shape every set-based batch path shares (person_batch, enrolment_batch, bench F1 and F11).

A batch is planned (validated against what a few queries fetched) and written in a few statements inside a
savepoint. Where a record must see an earlier one of the same batch (one key twice), or the database refuses the
batch's writes (a constraint the plan does not check itself), the batch is written record by record instead, so
that all-or-nothing per record holds and only the offending records fail.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.services import history

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
