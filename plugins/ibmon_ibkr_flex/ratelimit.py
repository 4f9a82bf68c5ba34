"""IB's Flex rate limit, kept on our side: at most 1 request a second and 10 a minute per token.

Every request (scheduled polls, manual refreshes, retries) holds a slot of the token's limiter.
Slots are reserved without awaiting, so concurrent callers on one loop never share a slot, and the
limiter holds no asyncio primitive (it may serve several event loops over its life).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]


class _Slot:
    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class RateLimiter:
    """Spaces requests `min_interval` apart and allows `per_window` of them in any `window` seconds.
    IB counts arrivals and we cannot see them: a request counts from when its answer came back
    (after its arrival), and `margin` pads every gap."""

    def __init__(self, min_interval: float = 1.0, per_window: int = 10, window: float = 60.0, *,
                 margin: float = 0.05, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.min_interval = min_interval
        self.per_window = per_window
        self.window = window
        self.margin = margin
        self.clock = clock
        self.sleep = sleep
        self._slots: deque[_Slot] = deque(maxlen=per_window)
        self._not_before = float("-inf")

    def wait_time(self) -> float:
        """Seconds until a request could go (without taking the slot)."""
        now = self.clock()
        return self._next(now) - now

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot around one request: waits for it, then stamps it with the answer's time."""
        now = self.clock()
        slot = _Slot(self._next(now))
        self._slots.append(slot)  # reserved before awaiting: concurrent callers queue behind it
        if slot.at > now:
            await self.sleep(slot.at - now)
        try:
            yield
        finally:
            slot.at = max(slot.at, self.clock())

    def hold_off(self, seconds: float) -> None:
        """No request before `seconds` from now (after IB answered 1018)."""
        self._not_before = max(self._not_before, self.clock() + seconds)

    def _next(self, now: float) -> float:
        at = max(now, self._not_before)
        if self._slots:
            at = max(at, self._slots[-1].at + self.min_interval + self.margin)
        if len(self._slots) == self.per_window:
            at = max(at, self._slots[0].at + self.window + self.margin)
        return at


_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def limiter_for(token: str) -> RateLimiter:
    """The process-wide limiter of a token (every connection and refresh using it shares it)."""
    key = hashlib.sha256(token.encode()).hexdigest()
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter()
        return limiter
