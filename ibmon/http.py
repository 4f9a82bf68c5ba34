"""The HTTP kit every REST provider uses (httpx is imported only when a client is made).

`HttpClient` is the one way a plugin talks HTTP. Every request it sends:

* ends within a total deadline (connecting, the headers and the whole body): a server that answers a
  byte a second cannot hold a connection past it, whatever httpx's per-read timeouts would allow;
* reads at most `MAX_REPLY_BYTES` of body (declared or not) and refuses the rest unread;
* waits for a slot of its host before it reaches the connection pool, so no more requests than
  `max_per_host` are in flight per host and none queue inside httpx;
* turns 429 (and 503 with `Retry-After`) into `RateLimited` carrying the capped wait;
* carries the token of a `TokenRenewal`, renewed at most once per request when refused.

`error_text(response)` is the server's own words from an error reply, for every client's messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ibmon import __version__
from ibmon.errors import AuthError, ProviderError, RateLimited
from ibmon.secrets import Secret, redact, remember_basic, replaced, reveal, shorten

if TYPE_CHECKING:  # pragma: no cover
    import httpx

USER_AGENT = f"ibmon/{__version__}"

#: A reply larger than this is refused unread: a broken or hostile server must not fill the memory.
MAX_REPLY_BYTES = 32 * 1024 * 1024
#: Seconds a whole request may take (connect, headers, body) unless the client says otherwise.
DEADLINE_SECONDS = 30.0
#: The longest wait a `Retry-After` can impose; a later date is cut to this.
MAX_RETRY_AFTER = 600.0
#: The wait after a 429 that gives no usable `Retry-After`.
DEFAULT_RETRY_AFTER = 30.0
#: At most this many characters of a server's error text reach a message.
ERROR_TEXT_CHARS = 200

#: Headers that describe the wire form of a body, not the decoded bytes a rebuilt response holds.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
#: Error bodies up to this size are read as JSON; larger ones only for their first characters.
_JSON_ERROR_BYTES = 64 * 1024
#: Where a JSON error body keeps its message, in the order they are looked for.
_MESSAGE_KEYS = ("message", "error_description", "description", "detail", "title", "error")


class ReplyTooLarge(ProviderError):
    """A reply over the size bound, refused unread (a client may add advice to its message)."""


class _RedactHttpxLog(logging.Filter):
    """httpx logs each request's full URL (which may carry a token) at INFO: mask it before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxLog) for f in logger.filters):
        logger.addFilter(_RedactHttpxLog())


def transport_error(exc: Exception, what: str) -> ProviderError:
    """A ProviderError for a network failure (refused, reset, TLS...), with URLs redacted."""
    kind = type(exc).__name__
    detail = str(exc).strip()
    return ProviderError(redact(f"{what}: {kind}{': ' + detail if detail else ''}"))


# -- replies ---------------------------------------------------------------------------------------

def error_text(response: "httpx.Response", limit: int = ERROR_TEXT_CHARS) -> str:
    """The server's own message from an error reply, on one line and at most `limit` characters:
    a JSON body's message (also one level inside an "error" object), else a plain-text body, else
    the reason phrase ("" when there is none)."""
    body = response.content
    payload = _json_of(body) if len(body) <= _JSON_ERROR_BYTES else _NOT_JSON
    if payload is not _NOT_JSON:
        text = _message_in(payload)
    elif body.lstrip()[:1] == b"<":  # an HTML error page says nothing a line can hold
        text = ""
    else:
        text = body[: 4 * limit].decode(response.encoding or "utf-8", errors="replace")
    # redacted before it is cut: a cut through a secret would leave its start unmasked
    return shorten(" ".join(text.split()) or response.reason_phrase or "", limit)


_NOT_JSON = object()


def _json_of(body: bytes) -> Any:
    try:  # numbers stay strings: nothing here needs their value
        return json.loads(body, parse_float=str, parse_int=str, parse_constant=str)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _message_in(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    if not isinstance(payload, dict):
        return ""
    for key in _MESSAGE_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):
            inner = next((value[k] for k in ("message", "description") if isinstance(value.get(k), str)), "")
            if inner.strip():
                return inner
    return ""


def retry_after(value: str | None, *, cap: float = MAX_RETRY_AFTER, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or an HTTP-date), between 0 and
    `cap`; None when the value is missing or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), cap)


def rate_limit(response: "httpx.Response", what: str) -> RateLimited | None:
    """RateLimited for a 429 (or a 503 that says when to come back), else None."""
    status = response.status_code
    wait = retry_after(response.headers.get("retry-after"))
    if status == 429 or (status == 503 and wait is not None):
        return RateLimited(f"{what}: rate limited by the server (HTTP {status}: {error_text(response)})",
                           retry_after=DEFAULT_RETRY_AFTER if wait is None else wait, code=str(status))
    return None


async def bounded_request(http: "httpx.AsyncClient", method: str, url: str, what: str,
                          max_bytes: int | None = None, deadline: float | None = None,
                          **kwargs: Any) -> "httpx.Response":
    """`http.request(...)` that reads at most `max_bytes` (MAX_REPLY_BYTES) of the body and ends
    within `deadline` seconds (DEADLINE_SECONDS) in all, raising ProviderError otherwise; httpx
    errors propagate for the caller to describe."""
    import httpx

    limit = MAX_REPLY_BYTES if max_bytes is None else max_bytes
    seconds = DEADLINE_SECONDS if deadline is None else deadline
    received: int | None = None  # body bytes so far, once the headers arrived
    try:
        # httpx's own timeouts are only a backstop: the deadline ends a request first
        async with asyncio.timeout(seconds), http.stream(method, url, timeout=seconds + 1, **kwargs) as reply:
            declared = reply.headers.get("content-length", "")
            if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
                raise _too_big(what, limit)
            chunks: list[bytes] = []
            received = 0
            async for chunk in reply.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    raise _too_big(what, limit)
                chunks.append(chunk)
    except TimeoutError:
        if received is None:
            raise ProviderError(f"{what}: no answer within {seconds:g} s") from None
        raise ProviderError(f"{what}: the reply was not complete within {seconds:g} s "
                            f"({received:,} bytes arrived)") from None
    headers = [(k, v) for k, v in reply.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    extensions = {k: v for k, v in reply.extensions.items() if k in ("reason_phrase", "http_version")}
    return httpx.Response(reply.status_code, headers=headers, content=b"".join(chunks), request=reply.request,
                          extensions=extensions)


def _too_big(what: str, limit: int) -> ReplyTooLarge:
    size = f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit:,} bytes"
    return ReplyTooLarge(f"{what}: refused a reply over {size}")


# -- credentials -------------------------------------------------------------------------------------

def basic_auth(user: str, secret: Secret | str) -> dict[str, str]:
    """An HTTP Basic `Authorization` header; its encoded value is masked wherever it shows up."""
    remember_basic(user, secret)
    encoded = base64.b64encode(f"{user}:{reveal(secret)}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def login_refused(what: str, response: "httpx.Response", check: str) -> AuthError:
    """The AuthError for a refused login: the server's words and which settings to check."""
    return AuthError(f"{what} refused the login (HTTP {response.status_code}: {error_text(response)}): "
                     f"check {check}", code=str(response.status_code))


def renew_after(lifetime: float) -> float:
    """Renew well before expiry: at 80 % of the lifetime, and at least 30 s early for long ones."""
    return min(lifetime * 0.8, max(lifetime - 30, lifetime * 0.5))


@dataclass(frozen=True)
class Token:
    """What a login gives: the token and, when the server says, its lifetime in seconds."""

    value: Secret
    lifetime: float | None = None


class TokenRenewal:
    """The token of one client: fetched by `login()` on first use, renewed before it expires and
    when the server refuses it (at most once per request).

    A failed login is not asked again by the requests that were already waiting for it: they all
    get the same error, so a poll of ten concurrent requests with a wrong password costs one login
    request, not ten (the feed runtime's next attempt logs in afresh). `login` should raise
    AuthError (see `login_refused`) when the credentials are refused.
    """

    def __init__(self, login: Callable[[], Awaitable[Token]], *, header: str = "Authorization",
                 prefix: str = "Bearer ", renew_on: Collection[int] = (401,),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._login = login
        self.header = header
        self.prefix = prefix
        self.renew_on = frozenset(renew_on)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: Secret | None = None
        self._renew_at = 0.0
        self._finished = 0  # logins ended so far, failed or not
        self._failure: BaseException | None = None
        self._failed_at = 0  # the value of _finished the failed login left
        #: Tokens obtained so far (for the health line and tests).
        self.fetched = 0

    def headers(self, token: Secret) -> dict[str, str]:
        return {self.header: self.prefix + token.reveal()}

    @property
    def logins_ended(self) -> int:
        """Logins ended so far, failed or not: a request notes it when it starts (see `renew`)."""
        return self._finished

    async def token(self, since: int | None = None) -> Secret:
        """The current token, logging in first when there is none or it is due for renewal."""
        current = self._token
        if current is not None and self._clock() < self._renew_at:
            return current
        return await self.renew(current, since=since)

    async def renew(self, stale: Secret | None = None, *, since: int | None = None) -> Secret:
        """A token other than `stale`: the one another request just got, or a fresh login. A login
        that failed after `since` (`logins_ended` when the request started; default: now) is not
        tried again: its error is raised."""
        finished = self._finished if since is None else since
        async with self._lock:
            current = self._token
            if current is not None and current is not stale and self._clock() < self._renew_at:
                return current
            if self._failure is not None and self._failed_at > finished:
                raise self._failure  # the login this request waited for failed: not asked again now
            self._token = None
            started = self._clock()
            try:
                token = await self._login()
            except Exception as exc:
                self._finished += 1
                self._failure, self._failed_at = exc, self._finished
                raise
            self._finished += 1
            self._failure = None
            if current is not None:
                replaced(current, token.value)  # masked a while longer, then forgotten
            self._token = token.value
            self._renew_at = math.inf if token.lifetime is None else started + renew_after(token.lifetime)
            self.fetched += 1
            return token.value

    def forget(self) -> None:
        """Drop the token; the next request logs in."""
        self._token = None


# -- the client ----------------------------------------------------------------------------------------

class HttpClient:
    """An httpx.AsyncClient (made on first use) with the kit's bounds: a total deadline and a
    size bound per request, at most `max_per_host` requests in flight per host, rate limits raised
    as RateLimited, and the token of `renewal` on every request that asks for it.

    Requests wait for their host's slot before they reach httpx, so none wait inside its pool
    (waiting there while replies are slow can leave pool slots stuck for good); a connection error
    replaces the pool, so a connection recovers when the server does.
    """

    def __init__(self, base_url: str = "", *, timeout: float = DEADLINE_SECONDS, verify: bool = True,
                 headers: dict[str, str] | None = None, max_per_host: int = 4, max_bytes: int | None = None,
                 renewal: TokenRenewal | None = None, **client_options: Any) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_per_host = max_per_host
        self.renewal = renewal
        self._verify = verify
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._client_options = client_options
        self._slots: dict[tuple[str, str, int | None], asyncio.Semaphore] = {}
        self._http: "httpx.AsyncClient | None" = None
        _install_log_filter()

    @property
    def http(self) -> "httpx.AsyncClient":
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                base_url=self.base_url, verify=self._verify, headers=self._headers, timeout=self.timeout + 1,
                # the per-host slots bound the connections; a pool limit would only add a queue
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=self.max_per_host),
                **self._client_options)
        return self._http

    def _slot(self, url: str) -> asyncio.Semaphore:
        target = self.http.base_url.join(url)
        origin = (target.scheme, target.host, target.port)
        slot = self._slots.get(origin)
        if slot is None:
            slot = self._slots[origin] = asyncio.Semaphore(self.max_per_host)
        return slot

    async def request(self, method: str, url: str, what: str, *, authorised: bool = True,
                      headers: dict[str, str] | None = None, max_bytes: int | None = None,
                      timeout: float | None = None, **kwargs: Any) -> "httpx.Response":
        """One bounded request; `what` names it in every error ("B2Core GET /accounts").

        Transport failures and the deadline raise a redacted ProviderError, rate limits
        RateLimited; any other reply is returned for the caller to judge. With a renewal (and
        `authorised`), a reply whose status is in `renewal.renew_on` gets a new token and one more
        try; the second reply is returned whatever it is.
        """
        renewal = self.renewal if authorised else None
        if renewal is None:
            return await self._send(method, url, what, headers, max_bytes, timeout, kwargs)
        since = renewal.logins_ended
        token = await renewal.token(since)
        response = await self._send(method, url, what, {**(headers or {}), **renewal.headers(token)},
                                    max_bytes, timeout, kwargs)
        if response.status_code in renewal.renew_on:
            token = await renewal.renew(token, since=since)
            response = await self._send(method, url, what, {**(headers or {}), **renewal.headers(token)},
                                        max_bytes, timeout, kwargs)
        return response

    async def _send(self, method: str, url: str, what: str, headers: dict[str, str] | None,
                    max_bytes: int | None, timeout: float | None, kwargs: dict[str, Any]) -> "httpx.Response":
        import httpx

        async with self._slot(url):
            try:
                response = await bounded_request(
                    self.http, method, url, what, max_bytes=self.max_bytes if max_bytes is None else max_bytes,
                    deadline=self.timeout if timeout is None else timeout, headers=headers, **kwargs)
            except (httpx.PoolTimeout, httpx.ConnectError) as exc:
                await self.reset()
                raise transport_error(exc, what) from None
            except httpx.HTTPError as exc:
                raise transport_error(exc, what) from None
        limited = rate_limit(response, what)
        if limited is not None:
            raise limited
        return response

    async def reset(self) -> None:
        """Drop the pool; the next request opens a new one."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def aclose(self) -> None:
        await self.reset()
