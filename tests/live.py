"""A live server for tests that need a real HTTP peer (fuzzing, SCIM compliance, browsers)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base: str
    token: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def log_tail(self, size: int = 4000) -> str:
        """The end of what the server wrote (its warnings and tracebacks), for a failing test's message."""
        return self.log.read_text(errors="replace")[-size:] if self.log is not None and self.log.exists() else ""


@contextmanager
def serve(database_url: str, token: str, **env: str) -> Iterator[LiveServer]:
    """`registry serve` on a free loopback port against `database_url` (already migrated).

    The server writes (stdout and stderr) to a file, never to a pipe: nothing reads a pipe while the test runs, and a server that
    logged more than a pipe holds (64 KB of warnings and tracebacks, as a server with its primary stopped
    does) blocked in its next write, with the logging lock held, and stopped answering every request.
    """
    port = free_port()
    # one worker unless asked: tests signal and kill the server's process, which must be the one that serves
    workers = env.pop("WORKERS", "1")
    environ = os.environ | {"DATABASE_URL": database_url, "REGISTRY_BOOTSTRAP_TOKEN": token, "LOG_LEVEL": "WARNING"} | env
    fd, name = tempfile.mkstemp(prefix="registry-serve-", suffix=".log")
    log = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            # a session (and process group) of its own: whatever the supervisor leaves can be killed with it
            proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port",
                                     str(port), "--workers", workers],
                                    env=environ, stdout=out, stderr=out, start_new_session=True)
    except BaseException:
        log.unlink(missing_ok=True)
        raise
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-4000:]}")
        yield LiveServer(base, token, proc, log)
    finally:
        stop(proc)
        log.unlink(missing_ok=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in a session of its own: SIGTERM to the supervisor, which stops its workers; then
    SIGKILL to the whole group, for what it left (a supervisor that did not stop within 10 s, or one a test killed,
    leaves its workers serving on an old port for the rest of the run: seen 2026-12-07, four of them for hours)."""
    proc.terminate()
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    with suppress(ProcessLookupError):  # nothing left of the group
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
