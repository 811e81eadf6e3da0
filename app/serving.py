"""`registry serve` with several worker processes: each listens on a socket of its own, so that the kernel spreads
new connections over the workers.

Why. uvicorn's supervisor binds one socket and hands it to every worker. The workers then share one queue of
incoming connections, and asyncio's accept loop takes every connection waiting when it wakes: a client or a load
balancer that opens its connections in a burst and keeps them alive (wrk's 32, a balancer's pool) found one worker
holding all of them and the other cores idle, in half of the benchmark's rounds (bench/findings.md F28). With
`SO_REUSEPORT` each worker binds its own socket to the same address and Linux hashes every new connection to one of
them.

How, without a supervisor of our own: uvicorn's (`Multiprocess`: health checks, restarts, signals) is kept, and is
given a socket whose pickled form, the way the supervisor sends its sockets to each spawned worker, is "bind
another socket to this address with SO_REUSEPORT" (`PortSocket.__reduce_ex__`). The supervisor's own socket is bound
and never listens, so the kernel routes no connection to it; it keeps the address taken while workers restart.
Elsewhere than Linux (SO_REUSEPORT missing, or without the spreading), uvicorn's shared socket is used as before.
"""

import logging
import pickle
import socket
import sys
from multiprocessing import connection
from typing import Any

from uvicorn.supervisors import multiprocess

log = logging.getLogger("uvicorn.error")


def spreads_connections() -> bool:
    """Whether this platform spreads connections over sockets bound with SO_REUSEPORT (Linux 3.9 and later)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class PortSocket(socket.socket):
    """A TCP socket bound with SO_REUSEPORT; a copy sent to another process binds a socket of its own there."""

    host: str
    port: int

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[str, int]]:
        return bind_reuseport, (self.host, self.port)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def claim(host: str, port: int) -> PortSocket:
    """The supervisor's socket: refused (OSError, address in use) when anything listens on the address already, as
    uvicorn's own bind is. SO_REUSEPORT alone would let a second `registry serve` started by mistake on the same port
    (an old one not yet stopped) share its connections with the first without a word; a socket bound without it
    fails while any other is bound there, so it is tried first."""
    if port:
        with socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is no owner
            probe.bind((host, port))
    return bind_reuseport(host, port)


def bind_reuseport(host: str, port: int) -> PortSocket:
    """A socket bound to (host, port) with SO_REUSEPORT, not yet listening (the worker's server listens on it);
    port 0 takes a free port, which the copies sent to the workers then share."""
    sock = PortSocket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.host, sock.port = host, int(sock.getsockname()[1])
    sock.set_inheritable(True)
    return sock


class WatchedProcess(multiprocess.Process):
    """uvicorn's worker, whose health check also ends when the worker does.

    The supervisor pings each worker every half second and waits for its answer up to `timeout_worker_healthcheck`
    (120 s for `registry serve`, whose workers may hold the interpreter for seconds while writing a large answer). It
    holds both ends of the pipe, so a worker that died while being pinged (killed by the kernel's OOM killer, a
    segfault, an operator) never closed it: the supervisor waited out the whole timeout before it saw the death. For
    two minutes the worker was not replaced, no other worker was checked, and a SIGTERM waited. Here the wait is on
    the pipe and on the process's sentinel at once, as `multiprocessing.connection.wait` allows."""

    def _healthcheck(self, timeout: float) -> bool | None:
        try:
            self.parent_conn.send(b"ping")
            if self.parent_conn in connection.wait([self.parent_conn, self.process.sentinel], timeout):
                started: bool = self.parent_conn.recv()  # answered, even if it died just after
                return started
            return None  # no answer in time, or the worker is gone
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            return None

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        """The worker's body. An exception that escapes it was printed whole by multiprocessing (`print_exc`, past
        logging): PostgreSQL's DETAIL of an error, with the row it refused. Logged here instead (app/logs.py); the
        worker exits 1, as multiprocessing makes it."""
        try:
            super().target(sockets)
        except Exception:
            log.error("the worker stopped on an error", exc_info=True)
            sys.exit(1)


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """uvicorn.run(app, host=…, port=…, workers=…, **options), with a socket per worker where the platform spreads
    connections over them."""
    import uvicorn

    # uvicorn's supervisor (its own with a shared socket, or the one below) builds its workers from its module's
    # `Process`; this process runs nothing but the supervisor
    original, multiprocess.Process = multiprocess.Process, WatchedProcess  # type: ignore[misc]
    try:
        if workers < 2 or not spreads_connections():
            uvicorn.run(app, host=host, port=port, workers=workers, **options)
            return
        _supervise(uvicorn.Config(app, host=host, port=port, workers=workers, **options))
    finally:
        multiprocess.Process = original  # type: ignore[misc]


def _supervise(config: Any) -> None:
    """uvicorn's supervisor over one socket per worker (SO_REUSEPORT)."""
    try:
        sock = claim(config.host, config.port)
    except OSError as exc:
        log.error("%s", exc)
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as when its own bind fails
    log.info("Uvicorn running on http://%s:%d with %d workers, a socket each (SO_REUSEPORT)", config.host, sock.port,
             config.workers)
    try:
        multiprocess.Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
