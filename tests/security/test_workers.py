"""A `registry serve` of several workers spreads a burst of kept-alive connections over all of them
(app/serving.py; bench/findings.md F28: with one shared socket the first worker awake accepted all 32 of wrk's
connections in half the benchmark's rounds, and the other core served none)."""

import os
import pickle
import signal
import socket
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from app import serving
from tests.conftest import BOOT, Registry
from tests.live import LiveServer, serve

pytestmark = pytest.mark.skipif(not serving.spreads_connections(), reason="SO_REUSEPORT spreads connections on Linux")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _sockets(port: int, state: str = "01") -> set[str]:
    """Socket inodes of the TCP sockets whose local port is `port`, in `state` (01 established, 0A listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                    inodes.add(fields[9])
    return inodes


def _held(pid: int, inodes: set[str]) -> int:
    """How many of `inodes` process `pid` holds; none once it is gone (a killed worker is listed among the
    supervisor's children until it is reaped, its /proc/<pid>/fd already removed)."""
    held = 0
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:
        return 0
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held += 1
    return held


def _listening(live: LiveServer) -> list[int]:
    """The server's workers that listen on its port (a killed one is listed until reaped, holding nothing)."""
    assert live.proc is not None
    port = int(live.base.rsplit(":", 1)[1])
    return [pid for pid in _children(live.proc.pid) if _held(pid, _sockets(port, "0A"))]


def _await_listening(live: LiveServer, workers: int, why: str) -> None:
    deadline = time.monotonic() + 60
    while len(_listening(live)) < workers:
        # the supervisor's own lines (LOG_LEVEL INFO) say why: a worker that died, one not ready, one failed to start
        assert time.monotonic() < deadline, f"{why}: {live.log_tail()}"
        time.sleep(0.1)


def test_a_burst_of_kept_alive_connections_is_spread_over_every_worker(registry: Registry) -> None:
    with serve(registry.url, BOOT, WORKERS="2", LOG_LEVEL="INFO") as live:
        assert live.proc is not None
        port = int(live.base.rsplit(":", 1)[1])
        _await_listening(live, 2, "the second worker never listened")  # the first worker up answers /healthz
        clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]  # all at once, as wrk
        try:
            for c in clients:  # each answered, so that each was accepted, and kept alive
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            for c in clients:
                assert c.recv(4096).startswith(b"HTTP/1.1 200"), "a connection of the burst was not answered"
            inodes = _sockets(port)
            holding = Counter({pid: _held(pid, inodes) for pid in _children(live.proc.pid)})
        finally:
            for c in clients:
                c.close()
        # a worker that dies is replaced by the supervisor, and its replacement listens on a socket of its own
        victim = max(holding, key=lambda pid: holding[pid])
        os.kill(victim, signal.SIGKILL)
        _gone(victim)
        _await_listening(live, 2, "the dead worker was not replaced")
        assert httpx.get(f"{live.base}/healthz", timeout=10).status_code == 200
    workers = [n for n in holding.values() if n]
    assert sum(workers) == 32, holding
    # spread by the kernel's hash of each connection: binomial(32, 1/2), below 4 with probability about 3e-6
    assert len(workers) == 2 and min(workers) >= 4, f"connections held by each worker: {holding}"


def _gone(pid: int) -> None:
    """Wait until the killed `pid` holds nothing (its descriptors are closed as it exits, before the supervisor reaps
    it); counted before that, it would still be listening."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if not any(Path(f"/proc/{pid}/fd").iterdir()):
                return
        except FileNotFoundError:  # reaped
            return
        assert time.monotonic() < deadline, f"worker {pid} did not exit"
        time.sleep(0.05)


def test_a_worker_that_dies_while_the_supervisor_waits_for_its_answer_is_replaced_at_once(registry: Registry) -> None:
    """uvicorn's supervisor holds both ends of each worker's pipe: a worker that died while being pinged was waited
    for until the health check's timeout (120 s here) before it was replaced (app.serving.WatchedProcess). The
    stopped worker cannot answer the ping the supervisor sends it within the next half second; then it is killed."""
    with serve(registry.url, BOOT, WORKERS="2", LOG_LEVEL="INFO") as live:
        _await_listening(live, 2, "the second worker never listened")
        victim = _listening(live)[0]
        os.kill(victim, signal.SIGSTOP)
        time.sleep(3)  # the supervisor pings every half second: it now waits for the stopped worker's answer
        os.kill(victim, signal.SIGKILL)
        _gone(victim)
        _await_listening(live, 2, "the worker that died during its health check was not replaced before the timeout")
        assert f"Child process [{victim}] died" in live.log_tail(10**6)
        assert httpx.get(f"{live.base}/healthz", timeout=10).status_code == 200


def _alive(pid: int) -> bool:
    """`pid` exists and is not a zombie (an orphan's parent, the container's first process, may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_supervisors_workers_are_stopped_with_the_test_server(registry: Registry) -> None:
    """tests/live.serve starts the server in a process group of its own and kills the group when it leaves: a
    supervisor that is killed (or that does not stop within 10 s) no longer leaves its workers serving an old port
    for the rest of the run."""
    with serve(registry.url, BOOT, WORKERS="2") as live:
        _await_listening(live, 2, "the second worker never listened")
        left = _children(live.proc.pid)
        assert len(left) >= 2
        os.kill(live.proc.pid, signal.SIGKILL)
        live.proc.wait()
        assert [pid for pid in left if _alive(pid)], "the workers should outlive their supervisor until the group goes"
    deadline = time.monotonic() + 10
    while [pid for pid in left if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in left if _alive(pid)] == []


def test_a_worker_binds_its_own_socket_to_the_address_it_is_sent() -> None:
    """What the supervisor sends each spawned worker (a pickled socket) is bound anew, to the same address, with
    SO_REUSEPORT: two listen at once, and the supervisor's own socket never listens."""
    parent = serving.bind_reuseport("127.0.0.1", 0)
    try:
        child = pickle.loads(pickle.dumps(parent))
        try:
            assert isinstance(child, serving.PortSocket) and child.fileno() != parent.fileno()
            assert child.getsockname() == parent.getsockname()
            assert child.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            child.listen()
            assert parent.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
            with socket.create_connection(parent.getsockname(), timeout=5):
                accepted, _ = child.accept()
                accepted.close()
        finally:
            child.close()
    finally:
        parent.close()


def test_a_second_server_on_a_port_in_use_is_refused() -> None:
    """SO_REUSEPORT would let a second `registry serve` (an old one not yet stopped) bind the same port and take
    part of its connections; the supervisor's claim is refused while anything is bound there, as uvicorn's is."""
    running = serving.claim("127.0.0.1", 0)
    try:
        worker = pickle.loads(pickle.dumps(running))  # a worker of the first server, listening
        worker.listen()
        try:
            with pytest.raises(OSError, match="in use"):
                serving.claim("127.0.0.1", running.port)
        finally:
            worker.close()
    finally:
        running.close()
    again = serving.claim("127.0.0.1", running.port)  # free again once the first is gone
    again.close()


def test_uvicorns_own_supervisor_gets_the_watched_worker_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where connections are not spread over sockets (elsewhere than Linux), `registry serve --workers N` runs
    uvicorn's own supervisor, which builds its workers from the same module's `Process`: the watched one, while it
    runs, and uvicorn's again after."""
    import uvicorn
    from uvicorn.supervisors import multiprocess

    seen: list[type] = []
    monkeypatch.setattr(serving, "spreads_connections", lambda: False)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.append(multiprocess.Process))
    before = multiprocess.Process
    serving.run("app.main:app", host="127.0.0.1", port=0, workers=2)
    assert seen == [serving.WatchedProcess] and multiprocess.Process is before
