"""The floor of the GET-person goal (issue #15): a minimal ASGI endpoint that reads one person's rows with psycopg
and returns the same JSON as `GET /api/v1/persons/{id}` answers an admin.

    DATABASE_URL=postgresql+psycopg://... uvicorn bench.floor:app --workers N

What it keeps of the service: one statement per table as the service sends them (the person by external id, its
current version, its six list tables, the codes of the units they name), on a pool of connections per worker,
and the service's own assembly of the record (`person_records.assemble`), so that the answer is the same record.
What it leaves out, which is what the comparison measures: FastAPI and its middleware, SQLAlchemy, the token
check, the rate limit, the scope, the access-log entry, response validation. No authentication: it is a bench
tool, started by bench.access_log on 127.0.0.1 for the length of one load and stopped.

The pool is an asyncio.Queue of connections (psycopg_pool is not a dependency of the project; six lines).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from app.services.person_records import LIST_TABLES, assemble, unit_ids_of

POOL_SIZE = int(os.environ.get("FLOOR_POOL", "10"))  # per worker (the service keeps up to 20 + 10 for its access log)
DSN = os.environ.get("DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://")
_pool: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None
_TABLES = [m.__tablename__ for m in LIST_TABLES]
PREFIX = "/api/v1/persons/"


_filling = asyncio.Lock()


async def _connections() -> asyncio.Queue[psycopg.AsyncConnection[Any]]:
    global _pool
    if _pool is None:
        async with _filling:  # the first requests arrive together: one of them fills the pool, the others wait for it
            if _pool is None:  # (each filled a pool of its own: 32 clients made 320 connections, past max_connections)
                pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
                for _ in range(POOL_SIZE):
                    pool.put_nowait(await psycopg.AsyncConnection.connect(DSN, autocommit=True,
                                                                          row_factory=namedtuple_row))
                _pool = pool
    return _pool


async def _record(conn: psycopg.AsyncConnection[Any], external_id: str) -> dict[str, Any] | None:
    person = await (await conn.execute("SELECT id, external_id FROM person WHERE external_id = %s",
                                       (external_id,))).fetchone()
    if person is None:
        return None
    version = await (await conn.execute("SELECT * FROM person_version WHERE person_id = %s AND sys_to IS NULL",
                                        (person.id,))).fetchone()
    rows: dict[str, list[Any]] = {}
    for table in _TABLES:
        cur = await conn.execute(f"SELECT * FROM {table} WHERE person_id = %s AND sys_to IS NULL ORDER BY id",
                                 (person.id,))
        rows[table] = await cur.fetchall()
    ids = sorted(unit_ids_of(rows))
    codes: dict[int, str] = {}
    if ids:
        cur = await conn.execute("SELECT id, code FROM org_unit WHERE id = ANY(%s)", (ids,))
        codes = {r.id: r.code for r in await cur.fetchall()}
    return assemble({person.id: person.external_id}, {person.id: version}, rows, codes).get(person.id)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    status, body = 404, b'{"code": "not_found"}'
    if scope["method"] == "GET" and path.startswith(PREFIX):
        pool = await _connections()
        conn = await pool.get()
        try:
            record = await _record(conn, path[len(PREFIX):])
        finally:
            pool.put_nowait(conn)
        if record is not None:
            status, body = 200, json.dumps(record, ensure_ascii=False).encode()
    elif path == "/healthz":
        status, body = 200, b'{"status": "ok"}'
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
