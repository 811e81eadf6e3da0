"""Per-token rate limiting: a sliding one-minute window kept in the process."""

import threading
import time
from collections import defaultdict, deque

from app.errors import DomainError


class TooManyRequests(DomainError):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class Limiter:
    """At most `per_minute` requests per key in any 60-second window (0: unlimited)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, per_minute: int) -> None:
        if per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            window = self._hits[key]
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= per_minute:
                raise TooManyRequests(f"more than {per_minute} requests a minute for this token",
                                      retry_after=max(1, int(61 - (now - window[0]))))
            window.append(now)


limiter = Limiter()
