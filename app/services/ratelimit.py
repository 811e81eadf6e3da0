"""Per-caller rate limiting: at most N requests a minute, whichever app server answers.

SQLite (one embedded server, one process): a sliding one-minute window kept in the process.
PostgreSQL (several app servers on one database): counters per caller and minute in `rate_hit`, shared
by every server, checked with the sliding-window approximation that Cloudflare and others use: the
previous minute's count, weighted by the part of it still inside the last 60 seconds, plus this
minute's. One conditional upsert per request, in its own short autocommit statement (a row lock held
for that statement alone); a refused request is not counted. If the database cannot be reached the
process's own window decides, so that reads from a replica go on while the primary is down.
"""

import contextlib
import logging
import math
import threading
import time
from collections import defaultdict, deque

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from app.errors import DomainError

log = logging.getLogger("registry")


class TooManyRequests(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


def _refuse(per_minute: int, retry_after: int) -> TooManyRequests:
    return TooManyRequests(f"more than {per_minute} requests a minute for this token", retry_after=max(1, retry_after))


class Limiter:
    """At most `per_minute` requests per key in any 60-second window (0: unlimited), in this process."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, per_minute: int) -> None:
        if per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            window = self._hits[key]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= per_minute:
                raise _refuse(per_minute, int(61 - (now - window[0])))
            window.append(now)


_UPSERT = text("""
    INSERT INTO rate_hit AS r (key, minute, hits) VALUES (:key, :minute, 1)
    ON CONFLICT (key, minute) DO UPDATE SET hits = r.hits + 1 WHERE r.hits + :carry < :limit
    RETURNING hits
""")
_PREVIOUS = text("SELECT hits FROM rate_hit WHERE key = :key AND minute = :minute")
_FORGET = text("DELETE FROM rate_hit WHERE minute < :minute")


class SharedLimiter:
    """The same limit, counted in PostgreSQL for every app server (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.local = Limiter()
        self._previous: dict[tuple[str, int], int] = {}  # a past minute's count no longer changes: read once
        self._forgotten = 0

    def hit(self, key: str, per_minute: int, now: float | None = None, conn: Connection | None = None) -> None:
        """Count one request; on `conn` when given (a connection in autocommit the caller already holds, so that
        the token's look-up and its count share one checkout), else on a connection of its own."""
        if per_minute <= 0:
            return
        now = time.time() if now is None else now
        minute = int(now // 60)
        weight = 1 - (now % 60) / 60  # the part of the previous minute still inside the window
        try:
            with contextlib.nullcontext(conn) if conn is not None else self.engine.connect() as held:
                carry = math.floor(self._previous_count(held, key, minute - 1) * weight)
                if carry >= per_minute:
                    raise _refuse(per_minute, math.ceil(60 - now % 60))
                counted = held.execute(_UPSERT, {"key": key, "minute": minute, "carry": carry,
                                                 "limit": per_minute}).scalar()
                self._forget_old(held, minute)
        except DBAPIError as exc:
            log.warning("rate limit: the database could not be reached (%s); this server's own window decides",
                        type(exc).__name__)
            self.local.hit(key, per_minute)
            return
        if counted is None:
            raise _refuse(per_minute, math.ceil(60 - now % 60))

    def _previous_count(self, conn: object, key: str, minute: int) -> int:
        found = self._previous.get((key, minute))
        if found is None:
            found = int(conn.execute(_PREVIOUS, {"key": key, "minute": minute}).scalar() or 0)  # type: ignore[attr-defined]
            if len(self._previous) > 100_000:
                self._previous.clear()
            self._previous[(key, minute)] = found
        return found

    def _forget_old(self, conn: object, minute: int) -> None:
        """Counters older than the previous minute are no longer read: removed once a minute per server."""
        if self._forgotten < minute:
            self._forgotten = minute
            conn.execute(_FORGET, {"minute": minute - 1})  # type: ignore[attr-defined]
            self._previous = {k: v for k, v in self._previous.items() if k[1] >= minute - 1}


limiter = Limiter()  # this process's window (SQLite, and the fallback of every SharedLimiter's caller)
_shared: dict[str, SharedLimiter] = {}


def hit(engine: Engine, key: str, per_minute: int, conn: Connection | None = None) -> None:
    """Count one request of `key` against its limit, on the database's counters when it is PostgreSQL; `conn`: a
    connection of `engine` in autocommit to count on (see SharedLimiter.hit)."""
    if engine.dialect.name != "postgresql":
        limiter.hit(key, per_minute)
        return
    shared = _shared.get(str(engine.url))
    if shared is None:
        shared = _shared.setdefault(str(engine.url), SharedLimiter(engine))
    shared.hit(key, per_minute, conn=conn)
