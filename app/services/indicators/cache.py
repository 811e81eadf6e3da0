"""Bounded per-process caches (least recently used first out), safe to share between request threads."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from app.models import CodeItem, Txn

V = TypeVar("V")


class _Flight:
    """One build of a key under way: the threads that missed the key meanwhile wait for it (`LRU.get_or_build`)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class LRU(Generic[V]):
    """At most `size` entries; a hit makes its entry the most recent."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, _Flight] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """The cached value, or `build()` stored. One thread builds a key at a time; the others that miss it meanwhile
        wait for that build and take its value, or raise its error (a failed build is not tried again by each of them
        in turn; the next caller after it builds anew). Before, each built its own: at a worker's start under 32 clients,
        every request thread of a scoped token built the whole tree for its reach at once, a second or more of CPU
        behind the load's first answers (bench F31). Other keys are neither held up nor locked out."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._items.get(key)  # built since the look-up above
            if found is not None:
                return found
            flight = self._building.get(key)
            leading = flight is None
            if flight is None:
                flight = self._building[key] = _Flight()
        if not leading:  # another thread builds it: its value, or its error (not one failed build after another)
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            flight.value = self.put(key, build())
            return flight.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._building[key]
            flight.done.set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def data_state(session: Session) -> tuple[int, Any, int, int]:
    """(latest transaction id, its time, count and highest id of the codes): one cheap indexed query. Every write
    makes a new transaction, so what is kept under this key is never stale."""
    last = select(Txn.id, Txn.at).order_by(Txn.id.desc()).limit(1).subquery()
    codes = select(func.count(CodeItem.id).label("n"), func.max(CodeItem.id).label("top")).subquery()
    row = session.execute(
        select(last.c.id, last.c.at, codes.c.n, codes.c.top).select_from(codes.outerjoin(last, true()))
    ).one()
    return int(row[0] or 0), row[1], int(row[2]), int(row[3] or 0)


def writing(session: Session) -> bool:
    """Whether this database transaction has written (or is about to): its reads are not shareable."""
    return bool(session.info.get("txn") is not None or session.info.get("write_locked") or session.new or session.dirty)
