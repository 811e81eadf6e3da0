"""Engines and session factories for SQLite (embedded default) and PostgreSQL (production).

Writes go to DATABASE_URL (the primary). Read-only work (indicators, lists, exports) may go to a
PostgreSQL streaming replica, DATABASE_REPLICA_URL; without one it runs on the primary, in
read-only transactions on PostgreSQL all the same, so a read path that starts writing fails in the
tests rather than on a replica in production.
"""

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings

log = logging.getLogger("registry")
SNAPSHOT_OPTION = "registry_snapshot"  # execution option: a SQLite transaction that only reads


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def build_engine(url: str, *, read_only: bool = False, pool_size: int | None = None,
                 max_overflow: int | None = None) -> Engine:
    """An engine configured for the dialect: SQLite gets WAL, foreign keys and serialised writers.

    `read_only` (PostgreSQL): every transaction of every connection is read-only by default.

    `hide_parameters`: a failing statement's values stay out of the text of its error, which the error handlers log
    with its traceback (`[parameters: (...)]`: a national id being written, a name searched for); the statement
    itself is kept.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # JIT compiles the engine's correlated statements for seconds and never repays it (bench F3)
        options = "-c jit=off" + (" -c default_transaction_read_only=on" if read_only else "")
        settings = get_settings()
        engine = create_engine(url, pool_size=pool_size or settings.database_pool_size,
                               max_overflow=settings.database_max_overflow if max_overflow is None else max_overflow,
                               connect_args={"options": options}, hide_parameters=True)
        event.listen(engine, "connect", _mark_used)
        event.listen(engine, "checkout", _ping_if_idle)
        event.listen(engine, "checkin", _server_default_access)
        event.listen(engine, "checkin", _mark_used)
        return engine
    if read_only:
        raise ValueError("a read-only engine (DATABASE_REPLICA_URL) needs PostgreSQL, not SQLite")
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # a file's pool: as many connections as PostgreSQL's, and some over, so that the admitted requests
        # (app/api/admission.py) do not wait for one, an import's read-ahead included (a second one for its look-ups)
        settings = get_settings()
        pooled: dict[str, Any] = {"pool_size": max(settings.database_pool_size, settings.max_concurrent_requests),
                                  "max_overflow": max(10, settings.database_max_overflow)}
    else:
        pooled = {}  # in memory: one connection per thread (SQLAlchemy's own choice), no pool to size
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, hide_parameters=True, **pooled)
    _configure_sqlite(engine)
    return engine


# A pooled connection idle for longer than this is pinged before it is handed out (see _ping_if_idle)
PING_IDLE_SECONDS = 1.0


def _mark_used(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pessimistic disconnect handling, only for a connection that sat idle in the pool: one that went
    back less than PING_IDLE_SECONDS ago was talking to the server then. `pool_pre_ping` pinged at every checkout:
    three round trips more on each read of a named person (the token, the read, its access-log entry; bench F31).
    A connection that fails the ping is replaced (DisconnectionError: the pool takes another); one that breaks
    within the second is found by the statement that fails on it, and SQLAlchemy then invalidates the pool's older
    connections (optimistic handling), as after any restart of the server."""
    if time.monotonic() - record.info.get("used_at", 0.0) < PING_IDLE_SECONDS:
        return
    try:  # in autocommit, as SQLAlchemy's own ping (do_ping): one round trip, no BEGIN and ROLLBACK around it
        before = dbapi_connection.autocommit
        if not before:
            dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
            if not before and not dbapi_connection.closed:
                dbapi_connection.autocommit = before
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the connection is replaced
        raise DisconnectionError(f"a pooled connection failed its ping: {type(exc).__name__}") from exc


def _server_default_access(dbapi_connection: Any, _record: Any) -> None:
    # A connection that ran a read-only transaction (`read_only`) comes back from SQLAlchemy's reset with psycopg's
    # read_only False, not None: its next transactions would open with BEGIN READ WRITE and override the server's
    # default_transaction_read_only (a replica's engine, a database an operator froze). None: plain BEGIN again.
    if dbapi_connection is not None and dbapi_connection.read_only is not None:
        try:
            dbapi_connection.read_only = None
        except Exception:  # noqa: BLE001 - a broken connection (not idle) is pinged and replaced at its next checkout
            log.warning("a pooled connection's read-only state could not be reset", exc_info=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock on a lock upgrade
        # and the order of transaction ids is the order of commits. A snapshot (an export) only
        # reads: a DEFERRED transaction takes no write lock and, in WAL mode, blocks no writer.
        deferred = conn.get_execution_options().get(SNAPSHOT_OPTION)
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for DATABASE_URL."""
    return build_engine(get_settings().database_url)


@lru_cache
def get_session_factory() -> sessionmaker[Session]:
    """The process-wide session factory."""
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@lru_cache
def get_audit_session_factory() -> sessionmaker[Session]:
    """Sessions for the short transactions that chain sensitive reads into the access log (PostgreSQL).

    From a pool of their own: a request holding a connection of the main pool then waits for one of
    these, never for a second one of its own pool. With one pool, as many concurrent reads of named
    persons as the pool has connections each held one and waited for another: no request completed
    until the pool timeout (bench, 32 clients). SQLite logs in the request's own session.
    """
    settings = get_settings()
    if make_url(normalise_url(settings.database_url)).get_backend_name() == "sqlite":
        return get_session_factory()
    engine = build_engine(settings.database_url, pool_size=max(2, settings.database_pool_size // 2),
                          max_overflow=settings.database_max_overflow)
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_audit_append_engine() -> Engine:
    """The access log's pool (PostgreSQL), in autocommit: a reader's entries appended in one statement, no BEGIN and
    COMMIT around it (audit.log_reads while the server's sealer runs). The pool's own connections: it goes with the
    audit session factory's engine, whenever that is built anew."""
    return _autocommit(get_audit_session_factory().kw["bind"])


@lru_cache(maxsize=4)
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@lru_cache
def get_read_engine() -> Engine:
    """The engine for read-only work: DATABASE_REPLICA_URL's, or the primary's own engine when unset."""
    settings = get_settings()
    if not settings.database_replica_url:
        return get_engine()
    return build_engine(settings.database_replica_url, read_only=True)


def read_only(engine: Engine) -> Engine:
    """The engine whose every transaction is read-only on PostgreSQL, on the primary as on a replica, so that a
    read path that starts writing fails. psycopg opens them with `BEGIN ... READ ONLY` (a `SET TRANSACTION READ
    ONLY` after the BEGIN was a round trip of its own on every read); the connection goes back to the pool with the
    server's default again (`_server_default_access`). SQLite has no such mode; there the read session is the
    primary's (audit.log_reads writes its access-log entries through it)."""
    return engine.execution_options(postgresql_readonly=True) if engine.dialect.name == "postgresql" else engine


@lru_cache
def get_read_session_factory() -> sessionmaker[Session]:
    """Sessions for read-only work: on the replica when DATABASE_REPLICA_URL is set, else on the primary.

    Replica reads lag the primary by the replication delay; an answer with a `known_at` the replica has
    replayed past is the primary's.
    """
    return sessionmaker(bind=read_only(get_read_engine()), expire_on_commit=False)


@lru_cache
def get_lookup_session_factory() -> sessionmaker[Session]:
    """Sessions for one-statement lookups on the primary that must see the latest commit (a bearer token, the
    bootstrap switch): in autocommit on PostgreSQL (no BEGIN and ROLLBACK around the statement, two round trips
    of every request), in a DEFERRED transaction on SQLite (no write lock taken)."""
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        return sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
    return sessionmaker(bind=engine.execution_options(**{SNAPSHOT_OPTION: True}), expire_on_commit=False)


def snapshot_session_factory() -> sessionmaker[Session]:
    """Sessions for long reads that stream (exports): read-only, and on SQLite holding no write lock.

    A session of the read factory begins IMMEDIATE on SQLite, as every session of the primary does:
    an export streaming from it held the database's one write lock until its client had read the
    last byte, and every write of the service waited for it (and failed with 503). These begin
    DEFERRED. A snapshot session must not write.
    """
    return _snapshot_factory(get_read_engine())


@lru_cache(maxsize=4)
def _snapshot_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=read_only(engine.execution_options(**{SNAPSHOT_OPTION: True})), expire_on_commit=False)


def _one_transaction(factory: sessionmaker[Session], recorded: Callable[[datetime], None] | None = None) -> Iterator[Session]:
    with factory() as session:
        try:
            yield session
            txn = session.info.get("txn")
            session.commit()
        except Exception:
            session.rollback()
            raise
        if txn is not None and recorded is not None:
            recorded(txn.at)


def get_session(recorded: Callable[[datetime], None] | None = None) -> Iterator[Session]:
    """One transaction per request on the primary: committed on success, rolled back on error.

    `recorded` is told the moment of the request's write transaction once it has committed (the
    `known_at` that includes the write); nothing when the request wrote nothing.
    """
    yield from _one_transaction(get_session_factory(), recorded)


def get_read_session() -> Iterator[Session]:
    """One read-only transaction per request, on the replica when there is one."""
    yield from _one_transaction(get_read_session_factory())
