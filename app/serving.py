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
import socket
import sys
from typing import Any

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


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """uvicorn.run(app, host=…, port=…, workers=…, **options), with a socket per worker where the platform spreads
    connections over them."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers < 2 or not spreads_connections():
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    try:
        sock = claim(host, port)
    except OSError as exc:
        log.error("%s", exc)
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as when its own bind fails
    log.info("Uvicorn running on http://%s:%d with %d workers, a socket each (SO_REUSEPORT)", host, sock.port, workers)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
