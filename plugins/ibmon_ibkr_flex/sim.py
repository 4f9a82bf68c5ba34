"""The Flex Web Service simulator: both v3 endpoints on loopback, serving a moving multi-account
portfolio.

    GET /AccountManagement/FlexWebService/SendRequest?t=TOKEN&q=QUERY_ID&v=3
    GET /AccountManagement/FlexWebService/GetStatement?q=REFERENCE_CODE&t=TOKEN&v=3

Like IB it answers HTTP 200 with a FlexStatementResponse for every refusal: 1020 without a
User-Agent or with a bad request, 1018 when a token asks faster than `min_interval` seconds apart or
more than `max_per_minute` times a minute, 1015 for an unknown token, 1012 for an expired one, 1014
for an unknown query id, 1017 for an unknown reference code, and 1019 ("in progress") for the first
`pending_polls` GetStatement calls of each reference.

Settings are declared in `sim_settings.py` (the Flex query's set-up among them: date_format,
datetime_separator, position_detail, nav_sections, base_summary, trade_times); `FlexControl` is the
handle tests and the soak use.
"""

from __future__ import annotations

import copy
import secrets as token_source
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from ibmon.sdk import RunningSimulator
from ibmon.simkit import Faults, HttpControl, HttpSimulator, check_settings, on_loop, text_reply, tls_context

from ibmon_ibkr_flex.codes import CODES
from ibmon_ibkr_flex.dates import EASTERN
from ibmon_ibkr_flex.sim_portfolio import Portfolio
from ibmon_ibkr_flex.sim_settings import SETTINGS

SERVICE_PATH = "/AccountManagement/FlexWebService"
#: The settings that say how the Flex query is set up (what its statements look like).
QUERY_SETUP = ("date_format", "datetime_separator", "position_detail", "nav_sections", "base_summary", "trade_times")
MAX_REFERENCES = 100

#: IB's own wording for the codes the simulator answers.
IB_TEXT = {
    "1012": "Token has expired.",
    "1014": "Query is invalid.",
    "1015": "Token is invalid.",
    "1017": "Reference code is invalid.",
    "1018": "Too many requests have been made from this token. Please try again shortly.",
    "1019": "Statement generation in progress. Please try again shortly.",
    "1020": "Invalid request or unable to validate request.",
}


@dataclass
class Reference:
    token: str
    query_id: str
    pending: int
    body: bytes | None = None


class FlexService:
    """The protocol: validation, rate limits, references (on the simulator's loop: `FlexControl`
    reaches it)."""

    def __init__(self, portfolio: Portfolio, *, tokens: list[str], expired_tokens: list[str],
                 query_ids: list[str], pending_polls: int, min_interval: float, max_per_minute: int,
                 date_format: str, datetime_separator: str, position_detail: str = "summary+lot",
                 nav_sections: bool = True, base_summary: bool = True, trade_times: str = "dateTime",
                 clock=time.monotonic) -> None:
        self.portfolio = portfolio
        self.tokens = set(tokens)
        self.expired_tokens = set(expired_tokens)
        self.query_ids = set(query_ids)
        self.pending_polls = pending_polls
        self.min_interval = min_interval
        self.max_per_minute = max_per_minute
        self.date_format = date_format
        self.separator = datetime_separator
        self.position_detail = position_detail
        self.nav_sections = nav_sections
        self.base_summary = base_summary
        self.trade_times = trade_times
        self.clock = clock
        self.references: dict[str, Reference] = {}
        self._accepted: dict[str, deque[float]] = {}
        self.base_url = ""

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"{SERVICE_PATH}/SendRequest", self._endpoint(self._send_request))
        router.add_get(f"{SERVICE_PATH}/GetStatement", self._endpoint(self._get_statement))
        router.add_route("*", "/{tail:.*}", _not_found)

    def _endpoint(self, answer: Any) -> Any:
        """`answer(token, argument)` behind the checks both endpoints make, in IB's order."""

        async def endpoint(request: web.Request) -> web.Response:
            if not (request.headers.get("user-agent") or "").strip():
                return self._fail("1020")
            token, argument = request.query.get("t", ""), request.query.get("q", "")
            if request.query.get("v") not in ("2", "3") or not token or not argument:
                return self._fail("1020")
            if self._too_fast(token):
                return self._fail("1018")
            if token in self.expired_tokens:
                return self._fail("1012")
            if token not in self.tokens:
                return self._fail("1015")
            return answer(token, argument)

        return endpoint

    def step(self) -> None:
        self.portfolio.step()

    def _too_fast(self, token: str) -> bool:
        """IB's per-token limit; refused requests do not count."""
        now = self.clock()
        accepted = self._accepted.setdefault(token, deque())
        while accepted and accepted[0] <= now - 60.0:
            accepted.popleft()
        if accepted and now - accepted[-1] < self.min_interval:
            return True
        if len(accepted) >= self.max_per_minute:
            return True
        accepted.append(now)
        return False

    def _send_request(self, token: str, query_id: str) -> web.Response:
        if query_id not in self.query_ids:
            return self._fail("1014")
        code = str(1_000_000_000 + token_source.randbelow(9_000_000_000))
        self.references[code] = Reference(token, query_id, self.pending_polls)
        while len(self.references) > MAX_REFERENCES:  # old codes expire (then 1017), oldest first
            del self.references[next(iter(self.references))]
        return self._response("Success", ReferenceCode=code, Url=f"{self.base_url}{SERVICE_PATH}/GetStatement")

    def _get_statement(self, token: str, code: str) -> web.Response:
        reference = self.references.get(code)
        if reference is None or reference.token != token:
            return self._fail("1017")
        if reference.pending > 0:
            reference.pending -= 1
            return self._fail("1019", status="Warn")
        if reference.body is None:
            now = datetime.now(EASTERN).replace(tzinfo=None, microsecond=0)
            reference.body = self.portfolio.statement_xml(
                now, self.date_format, self.separator, position_detail=self.position_detail,
                nav_sections=self.nav_sections, base_summary=self.base_summary, trade_times=self.trade_times)
        return _xml_reply(reference.body)

    def _fail(self, code: str, status: str = "Fail") -> web.Response:
        return self._response(status, ErrorCode=code, ErrorMessage=IB_TEXT.get(code, CODES[code].message))

    @staticmethod
    def _response(status: str, **children: str) -> web.Response:
        root = ET.Element("FlexStatementResponse",
                          timestamp=datetime.now(EASTERN).strftime("%d %B, %Y %I:%M %p %Z"))
        ET.SubElement(root, "Status").text = status
        for tag, text in children.items():
            ET.SubElement(root, tag).text = text
        return _xml_reply(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _xml_reply(body: bytes) -> web.Response:
    return text_reply(body, content_type="text/xml;charset=utf-8")


async def _not_found(request: web.Request) -> web.Response:
    return text_reply("<html><body>Not Found</body></html>", 404, "text/html")


class FlexControl(HttpControl):
    """The Flex simulator's handle: the portfolio, tokens, 1019 answers and the statement's date
    style; faults, the request log and pausing the portfolio come from `HttpControl`."""

    _state: FlexService

    @on_loop
    def portfolio(self) -> Portfolio:
        """A copy of the simulated portfolio (accounts, holdings, instruments, trades)."""
        return copy.deepcopy(self._state.portfolio)

    @on_loop
    def expire_token(self, token: str, expired: bool = True) -> None:
        """Answer 1012 (token expired) for `token` from now on (or no longer, with expired=False)."""
        if expired:
            self._state.expired_tokens.add(token)
        else:
            self._state.expired_tokens.discard(token)

    @on_loop
    def set_pending_polls(self, polls: int) -> None:
        """Answer 1019 (in progress) to the first `polls` GetStatement calls of each new reference."""
        self._state.pending_polls = polls

    @on_loop
    def set_statement_style(self, date_format: str, separator: str) -> None:
        """How statements not yet generated write dates (yyyyMMdd, yyyy-MM-dd, MM/dd/yyyy) and what
        separates a date from its time (";", ",", " ", "T")."""
        self._state.date_format, self._state.separator = date_format, separator


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    values = check_settings(SETTINGS, settings, "ibkr_flex")
    tokens, query_ids = values["tokens"], values["query_ids"]
    service = FlexService(Portfolio(values["seed"]), tokens=tokens, expired_tokens=values["expired_tokens"],
                          query_ids=query_ids, pending_polls=values["pending_polls"],
                          min_interval=values["min_interval"], max_per_minute=values["max_per_minute"],
                          **{name: values[name] for name in QUERY_SETUP})
    server = HttpSimulator(faults=Faults.from_settings(values), seed=values["seed"])
    service.routes(server.router)
    server.every(values["interval"], service.step)
    service.base_url = await server.listen(host, tls=tls_context(values["tls_cert"], values["tls_key"]))
    base_url = f"{service.base_url}{SERVICE_PATH}"
    return RunningSimulator(
        provider="ibkr_flex",
        endpoints={"flex": base_url},
        connections=[{"name": "IBKR Flex demo", "provider": "ibkr_flex", "token": tokens[0],
                      "query_id": query_ids[0], "base_url": base_url, "poll_seconds": values["poll_seconds"],
                      "max_wait_seconds": 60}],
        stop=server.stop,
        control=FlexControl(server, service),
    )
