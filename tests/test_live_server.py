"""The live server the tests start (tests/live.py) never stops because of what it writes.

Its output went to a pipe that nothing read while the test ran: a server that wrote more than the pipe
holds (64 KB) blocked in its next write with the logging lock held, and stopped answering. The replica
test's server, with its primary stopped, logs a traceback per request and per access-log seal: a slow CI
machine reached 64 KB in the middle of the test and its next request timed out.
"""

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.conftest import BOOT
from tests.live import serve


def test_a_server_that_writes_megabytes_still_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrated = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True,
                              env=os.environ | {"DATABASE_URL": url}, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr
    answers: list[tuple[int, Path | None, int]] = []

    def ask() -> None:
        # PYTHONVERBOSE makes the interpreter write a line per import: about half a megabyte before it serves
        with serve(url, BOOT, PYTHONVERBOSE="1") as live:
            r = httpx.get(live.base + "/api/v1/org-units", headers={"Authorization": f"Bearer {BOOT}"}, timeout=10)
            answers.append((r.status_code, live.log, live.log.stat().st_size if live.log else 0))

    asker = threading.Thread(target=ask, daemon=True)  # a server blocked on its output hangs the thread, not the run
    asker.start()
    asker.join(timeout=120)
    assert not asker.is_alive(), "the server stopped answering (blocked writing its output?)"
    assert len(answers) == 1 and answers[0][0] == 200, answers
    _status, log, size = answers[0]
    assert log is not None and size > 256 * 1024, size
    assert not log.exists()  # the log goes with its server
