"""A server started as `make run` starts it (`registry migrate`, `registry demo`, `registry serve`), on a
database and a free port of the test's own, with the token `make run` would have made in `data/admin-token`."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.live import stop

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class MadeRun:
    """The running server, the working directory it was started from, and what `registry demo` printed."""

    base: str
    workdir: Path
    printed: str

    @property
    def link(self) -> str:
        found = re.search(r"^Dashboard: (\S+)", self.printed, re.M)
        assert found, self.printed
        return found.group(1)

    @property
    def token(self) -> str:
        found = re.search(r"^Admin token .*:\n  (\S+)$", self.printed, re.M)
        assert found, self.printed
        return found.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def _wait(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer in 90 s:\n{log.read_text()[-3000:]}")


@contextmanager
def made_run(database_url: str, workdir: Path) -> Iterator[MadeRun]:
    """`make run`'s three steps, with the admin token in `workdir/data/admin-token` (mode 0600) as make writes it."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    token_file = workdir / "data" / "admin-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_DEMO"}
    env |= {"DATABASE_URL": database_url, "REGISTRY_BOOTSTRAP_TOKEN": token, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    subprocess.run(_cli("migrate"), cwd=ROOT, env=env, check=True, capture_output=True)
    demo = subprocess.run(_cli("demo", "--url", f"http://127.0.0.1:{port}"), cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_cli("serve", "--host", "127.0.0.1", "--port", str(port)), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # stopped with its workers: live.stop
    try:
        _wait(f"http://127.0.0.1:{port}", proc, log)
        yield MadeRun(f"http://127.0.0.1:{port}", workdir, demo.stdout)
    finally:
        stop(proc)
