"""Who may open the dashboard: the password check, login sessions with an idle timeout, and the
limit on failed logins per client address.

Every table here is bounded, so a flood of logins or of addresses cannot grow the server's memory:
the longest-idle session and the stalest address are dropped first.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ibmon.secrets import Secret

#: Failed logins allowed per client address within the window; the next one waits out the window.
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60.0
MAX_ADDRESSES = 4096
MAX_LOGINS = 256
#: Longer input is refused without comparing it (a password form is not a place for megabytes).
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_CHARS = 8


def client_key(address: str | None) -> str:
    """What failed logins are counted against: the client's address, an IPv6 client by its /64
    (one host usually holds a whole /64, so counting single addresses would let it rotate)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class Login:
    address: str
    last_seen: float
    #: Closed when the login ends (logout or idle timeout): the dashboards it opened stop.
    on_end: list[Callable[[], None]] = field(default_factory=list)


class Refused(Exception):
    """A login refused: `message` is what the page says, `status` the HTTP status."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Logins:
    """Logins by session token. Without a password (loopback only) no login is needed at all."""

    def __init__(self, password: Secret | None, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._password = password
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._logins: dict[str, Login] = {}
        self._failures: dict[str, deque[float]] = {}

    @property
    def required(self) -> bool:
        return self._password is not None

    def log_in(self, address: str | None, password: str) -> str:
        """A new session token, or `Refused` (wrong password, or too many failures from this
        address: then even the right password is refused until the window has passed)."""
        assert self._password is not None
        key = client_key(address)
        now = self._clock()
        failures = self._recent_failures(key, now)
        if len(failures) >= MAX_FAILURES:
            wait = int(failures[0] + FAILURE_WINDOW_SECONDS - now) + 1
            minutes = max(1, round(wait / 60))
            raise Refused(f"Too many failed logins from this address ({MAX_FAILURES} within "
                          f"{FAILURE_WINDOW_SECONDS / 60:g} minutes): try again in {minutes} "
                          f"minute{'s' if minutes != 1 else ''}.", 429, wait)
        if len(password) > MAX_PASSWORD_CHARS or not hmac.compare_digest(
                password.encode("utf-8", "surrogatepass"), self._password.reveal().encode("utf-8")):
            self._fail(key, now)
            left = MAX_FAILURES - len(self._failures.get(key, ()))
            wait = f"{FAILURE_WINDOW_SECONDS / 60:g} minutes"
            raise Refused(f"Wrong password: {left} more attempt{'s' if left != 1 else ''} before this address "
                          f"must wait {wait}." if left else f"Wrong password: this address must now wait {wait}.", 401)
        self._failures.pop(key, None)
        token = secrets.token_urlsafe(32)
        if len(self._logins) >= MAX_LOGINS:
            self.end(min(self._logins, key=lambda t: self._logins[t].last_seen))
        self._logins[token] = Login(key, now)
        return token

    def valid(self, token: str | None, *, touch: bool = False) -> Login | None:
        """The login of `token` if it is live; `touch`: the user did something (resets idling)."""
        login = self._logins.get(token or "")
        if login is None:
            return None
        now = self._clock()
        if now - login.last_seen > self.idle_seconds:
            self.end(token)
            return None
        if touch:
            login.last_seen = now
        return login

    def end(self, token: str | None) -> None:
        """Log out: the session token stops working and its dashboards stop."""
        login = self._logins.pop(token or "", None)
        if login is not None:
            for stop in login.on_end:
                stop()

    def sweep(self) -> int:
        """End every login idle for longer than the timeout; how many were ended."""
        now = self._clock()
        idle = [t for t, login in self._logins.items() if now - login.last_seen > self.idle_seconds]
        for token in idle:
            self.end(token)
        return len(idle)

    def failing_addresses(self) -> int:
        """How many client addresses have failed logins counted against them."""
        return len(self._failures)

    def _recent_failures(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and now - failures[0] >= FAILURE_WINDOW_SECONDS:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def _fail(self, key: str, now: float) -> None:
        if key not in self._failures and len(self._failures) >= MAX_ADDRESSES:
            stalest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[stalest]
        self._failures.setdefault(key, deque(maxlen=MAX_FAILURES)).append(now)
