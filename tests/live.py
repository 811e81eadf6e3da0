"""A live server for tests that need a real HTTP peer (fuzzing, SCIM compliance, browsers)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


@contextmanager
def serve(database_url: str, token: str, **env: str) -> Iterator[LiveServer]:
    """`registry serve` on a free loopback port against `database_url` (already migrated)."""
    port = free_port()
    # one worker unless asked: tests signal and kill the server's process, which must be the one that serves
    workers = env.pop("WORKERS", "1")
    environ = os.environ | {"DATABASE_URL": database_url, "REGISTRY_BOOTSTRAP_TOKEN": token, "LOG_LEVEL": "WARNING"} | env
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", workers],
                            env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
            raise RuntimeError(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        yield LiveServer(base, token, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
