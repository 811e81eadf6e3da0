"""Admission: at most `max_concurrent_requests` requests of a worker process run at once; the others wait their
turn in the event loop, holding no thread and no database connection.

Why. A request's synchronous work (its dependencies, its endpoint, and FastAPI's validation of its answer) runs on
AnyIO's worker threads, 40 per process. A request that holds a database resource (a pooled connection; on SQLite,
the one write lock taken by `BEGIN IMMEDIATE`) still needs a thread after its endpoint has returned: FastAPI
validates the answer on a worker thread, and only then exits the dependency that commits and closes the session.
With more requests in flight than threads (more than 40 clients, or clients that gave up and came back while their
first requests still ran), every thread could be taken by a request waiting for that resource, while the request
holding it waited for a thread. Nothing moved until the pool's or SQLite's timeout (30 s, 60 s), then every one of
them answered 503 (bench, SQLite: a load of list pages right after another load completed no request in 15 s).

An admitted request holds at most two threads at a time (an import reads its next batch while it writes one), so
with the threads kept at least twice the admitted requests and a few over, a request that holds a resource always
finds a thread, and the requests waiting for that resource are bounded by the admitted ones.

A short read of one record (`GET /api/v1/persons/{id}` as of now: a few milliseconds of Python and a few round
trips) runs on at most `SHORT_READ_THREADS` threads of its worker (`in_short_turn`); the other admitted reads wait
in the event loop, holding their turn of the admission but no thread and no connection. Each thread that runs
Python takes the process's one interpreter lock, and a thread given it back after a round trip waits for it behind
the others: with 16 reads on 16 threads, the event loop that parses requests and sends answers waited its turn
behind all of them. On a harness, two threads (one running Python while the other waits on the database) answered
9-32% more of an admin's reads at 32 clients with p99 25-40% lower; in `bench.access_log` the province's auditor
gained and the logged reads stayed within the spread of the machine's runs (bench F34). Only reads that cannot wait
long take these threads: two stuck on them would hold every read of one person of the worker, and their turns.

An import's upload is admitted step by step instead (`in_turn`): its body arrives at the client's pace, for minutes
over a slow provincial link, and holding a turn for all of it would let sixteen slow uploads stop every other request
of the worker. It takes a turn for each piece of work it runs on a thread (a batch parsed, a batch written, the
report) and holds none while it waits for the next bytes.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")

# what a worker's threads are besides the admitted requests' (a request not admitted, e.g. /healthz; the runtime's own)
SPARE_THREADS = 8
EXEMPT = frozenset({"/healthz"})  # liveness: answered at once, whatever the load (it reads no database)
STEPWISE = "/api/v1/imports/"  # POST: an upload, admitted for each step it runs on a thread (`in_turn`)
GATE = "registry.admission"  # the scope's key for the worker's gate
SHORT_READ_THREADS = 2  # per worker: one running Python, one waiting on the database (bench F34)


class Admission:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError("max_concurrent_requests must be at least 1")
        self.app, self.limit = app, limit
        # one semaphore per event loop: an asyncio primitive belongs to the loop it first waits in (tests run an
        # application in several loops, one after another)
        self._gates: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            threads = anyio.to_thread.current_default_thread_limiter()
            threads.total_tokens = max(threads.total_tokens, 2 * self.limit + SPARE_THREADS)
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        return gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        gate = scope[GATE] = self._gate()
        if scope["method"] == "POST" and scope["path"].startswith(STEPWISE):
            await self.app(scope, receive, send)  # its steps take their turns (in_turn)
            return
        async with gate:
            await self.app(scope, receive, send)


@asynccontextmanager
async def turn(scope: Scope) -> AsyncIterator[None]:
    """A turn of the worker for a request admitted step by step (none needed where no Admission runs)."""
    gate: asyncio.Semaphore | None = scope.get(GATE)
    if gate is None:
        yield
        return
    async with gate:
        yield


async def in_turn(scope: Scope, func: Callable[..., T], *args: Any) -> T:
    """`func(*args)` on a worker thread, in a turn of its own (an import's steps: see the module's docstring)."""
    async with turn(scope):
        return await run_in_threadpool(func, *args)


_short_reads: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()


async def in_short_turn(func: Callable[[], T]) -> T:
    """`func()` on a worker thread, among at most `SHORT_READ_THREADS` at once in this event loop (see the module's
    docstring): for short reads only, since a long one would hold one of the few threads for all of its time."""
    loop = asyncio.get_running_loop()
    limiter = _short_reads.get(loop)
    if limiter is None:  # one per event loop, like the gate: tests run an application in several loops
        limiter = _short_reads[loop] = anyio.CapacityLimiter(SHORT_READ_THREADS)
    return await anyio.to_thread.run_sync(func, limiter=limiter)
