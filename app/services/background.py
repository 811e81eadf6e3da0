"""A server's background loops (the access log's sealer, the import jobs' reaper): one thread per process, owned by
the application lifespans that started it.

Each lifespan that starts a loop stops it at its end; the last one to end stops the thread (after a last round, for
the loops that ask for one). A loop that outlived its application went on working against whatever database the
process's settings named next: in the test suite, an in-process server's sealer and reaper kept running after it,
sealing and resuming jobs in later tests' databases, and logging a traceback a second once a database was dropped.
"""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("registry")


class Loop:
    def __init__(self, name: str, step: Callable[[], None], *, at_start: bool = False, at_stop: bool = False) -> None:
        """`step` runs every `every` seconds (`start`); first at once if `at_start`, last once more at the stop if
        `at_stop`. An exception in a step is logged, and the next step runs as planned."""
        self.name, self.step, self.at_start, self.at_stop = name, step, at_start, at_stop
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._users = 0
        self._guard = threading.Lock()

    def start(self, every: float) -> threading.Thread:
        with self._guard:
            self._users += 1
            if self.thread is None or not self.thread.is_alive():
                self._stop = threading.Event()
                self.thread = threading.Thread(target=self._run, args=(self._stop, every), name=self.name, daemon=True)
                self.thread.start()
            return self.thread

    @property
    def running(self) -> bool:
        """Whether the loop runs in this process now (started by an application that has not stopped it)."""
        thread = self.thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        with self._guard:
            self._users = max(0, self._users - 1)
            if self._users or self.thread is None:
                return
            thread, self.thread = self.thread, None
            self._stop.set()
        thread.join(timeout)

    def _run(self, stop: threading.Event, every: float) -> None:
        if self.at_start:
            self._step()
        while not stop.wait(every):
            self._step()
        if self.at_stop:
            self._step()

    def _step(self) -> None:
        try:
            self.step()
        except Exception:  # noqa: BLE001 - a loop must outlive a database hiccup; the next round retries
            log.warning("%s: a round failed", self.name, exc_info=True)
