"""Bounded per-process caches (least recently used first out), safe to share between request threads."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from app.models import CodeItem, Txn

V = TypeVar("V")


class LRU(Generic[V]):
    """At most `size` entries; a hit makes its entry the most recent."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
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
        wait for that build and take its value. Before, each built its own: at a worker's start under 32 clients,
        every request thread of a scoped token built the whole tree for its reach at once, a second or more of CPU
        behind the load's first answers (bench F31). Other keys are neither held up nor locked out."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._building.setdefault(key, threading.Lock())
        try:
            with gate:
                with self._lock:
                    found = self._items.get(key)  # built while this thread waited
                if found is None:
                    found = self.put(key, build())
                return found
        finally:
            with self._lock:
                if self._building.get(key) is gate:
                    del self._building[key]

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
