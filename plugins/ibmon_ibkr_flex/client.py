"""The Flex Web Service (v3) client: SendRequest, then GetStatement until the statement is ready.

    client = FlexClient(token, "123456", user_agent="ibmon/0.1.0")
    report = await client.fetch()      # FlexReport: one FlexStatement per account

Every request first takes a slot from the token's rate limiter (IB: 1 a second, 10 a minute).
"Not ready yet" answers (1019, 1009, 1004-1008) are asked again after growing delays, 1018 (too many
requests) after a longer one, all within `max_wait_seconds`; every other code is raised at once as
a ProviderError (AuthError for a refused token) with a message saying what to do.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ibmon.sdk import USER_AGENT, HttpClient, ProviderError, RateLimited, ReplyTooLarge, Secret, error_text

from ibmon_ibkr_flex.codes import error_for, handling
from ibmon_ibkr_flex.ratelimit import Clock, RateLimiter, Sleep, limiter_for
from ibmon_ibkr_flex.statement import FlexReport, parse_document, parse_report, parse_service_response

if TYPE_CHECKING:  # pragma: no cover
    from xml.etree.ElementTree import Element

DEFAULT_BASE_URL = "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService"
#: Refuse bodies larger than this (a year of trades for a busy account is a few MB).
MAX_BYTES = 64 * 1024 * 1024
SERVICE = "IB Flex Web Service"


class FlexClient:
    def __init__(self, token: Secret | str, query_id: str, *, base_url: str = DEFAULT_BASE_URL,
                 user_agent: str = USER_AGENT, max_wait_seconds: float = 300.0,
                 limiter: RateLimiter | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep, first_delay: float = 1.0, busy_delay: float = 15.0,
                 max_delay: float = 30.0, max_bytes: int = MAX_BYTES, timeout: float = 120.0,
                 verify: bool = True, http: HttpClient | None = None) -> None:
        """`timeout`: seconds one request may take in all (a statement of many MB takes a while);
        `http`: the HttpClient to send with (tests watch what it sends; default: one of our own)."""
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.query_id = str(query_id)
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.max_wait_seconds = max_wait_seconds
        self.limiter = limiter or limiter_for(self._token.reveal())
        self.clock = clock
        self.sleep = sleep
        self.first_delay = first_delay
        self.busy_delay = busy_delay
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.verify = verify
        self._http = http
        self._owns_http = http is None

    async def fetch(self) -> FlexReport:
        """Request the query's statement and wait for it (up to `max_wait_seconds`)."""
        started = self.clock()
        sent = await self._ask("SendRequest", f"{self.base_url}/SendRequest",
                               {"t": self._token.reveal(), "q": self.query_id, "v": "3"}, started)
        response = parse_service_response(sent)
        if not response.reference_code:
            raise ProviderError(f"{SERVICE}: SendRequest succeeded without a reference code")
        root = await self._ask("GetStatement", self._statement_url(response.url),
                               {"q": response.reference_code, "t": self._token.reveal(), "v": "3"}, started)
        return parse_report(root)

    async def aclose(self) -> None:
        if self._http is not None and self._owns_http:
            await self._http.aclose()
            self._http = None

    async def _ask(self, what: str, url: str, params: dict[str, str], started: float) -> "Element":
        """GET until the answer is a success (or a statement), waiting out the codes that ask for it."""
        delay = self.first_delay
        while True:
            root = await self._get(what, url, params)
            if root.tag == "FlexQueryResponse" and what == "GetStatement":
                return root
            if root.tag != "FlexStatementResponse":
                raise ProviderError(f"{SERVICE}: {what} answered an unexpected <{root.tag}> document")
            response = parse_service_response(root)
            if response.error_code is None:
                if response.status == "Success" and what == "SendRequest":
                    return root
                raise ProviderError(f"{SERVICE}: {what} answered status {response.status or '(none)'!r} "
                                    f"without a statement or an error code")
            kind = handling(response.error_code)
            if kind not in ("wait", "busy"):
                raise error_for(response.error_code, response.error_message)
            pause = max(delay, self.busy_delay) if kind == "busy" else delay
            if kind == "busy":  # every caller of this token backs off, not only this fetch
                self.limiter.hold_off(pause)
            waited = self.clock() - started
            if waited + pause > self.max_wait_seconds:
                raise error_for(response.error_code, response.error_message, waited=waited,
                                retry_after=self.limiter.wait_time() if kind == "busy" else None)
            await self.sleep(pause)
            delay = min(delay * 1.5, self.max_delay)

    async def _get(self, what: str, url: str, params: dict[str, str]) -> "Element":
        async with self.limiter.slot():
            try:
                reply = await self._client().request("GET", url, f"{SERVICE} {what}", params=params,
                                                     headers={"User-Agent": self.user_agent})
            except ReplyTooLarge as exc:
                raise ProviderError(f"{exc.message}: narrow the Flex query (fewer sections or a shorter "
                                    "period)") from None
            except RateLimited as exc:  # every caller of this token waits, not only this fetch
                self.limiter.hold_off(exc.retry_after)
                raise
        if reply.status_code != 200:
            raise ProviderError(f"{SERVICE}: {what} answered HTTP {reply.status_code}: {error_text(reply)}")
        return parse_document(reply.content)

    def _statement_url(self, given: str | None) -> str:
        """Where to fetch the statement: IB's returned Url, unless it would carry the token to
        another host or over plain HTTP than the configured service."""
        fallback = f"{self.base_url}/GetStatement"
        if not given:
            return fallback
        target, base = urlsplit(given), urlsplit(self.base_url)
        same_host = target.hostname == base.hostname and target.port == base.port
        ib_host = (target.hostname or "").endswith(".interactivebrokers.com")
        if target.scheme == base.scheme and (same_host or (ib_host and target.scheme == "https")):
            return given
        return fallback

    def _client(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(timeout=self.timeout, verify=self.verify, max_bytes=self.max_bytes,
                                    headers={"User-Agent": self.user_agent})
        return self._http

    def __repr__(self) -> str:
        return f"FlexClient(base_url={self.base_url!r}, query_id={self.query_id!r})"
