"""The Flex Web Service simulator: both v3 endpoints on loopback, serving a moving multi-account
portfolio.

    GET /AccountManagement/FlexWebService/SendRequest?t=TOKEN&q=QUERY_ID&v=3
    GET /AccountManagement/FlexWebService/GetStatement?q=REFERENCE_CODE&t=TOKEN&v=3

Like IB it answers HTTP 200 with a FlexStatementResponse for every refusal: 1020 without a
User-Agent or with a bad request, 1018 when a token asks faster than `min_interval` seconds apart or
more than `max_per_minute` times a minute, 1015 for an unknown token, 1012 for an expired one, 1014
for an unknown query id, 1017 for an unknown reference code, and 1019 ("in progress") for the first
`pending_polls` GetStatement calls of each reference.

Settings: tokens, expired_tokens, query_ids (lists of strings), pending_polls, min_interval,
max_per_minute, interval (seconds between market moves), seed, poll_seconds (written into the demo
connection), and how the Flex query is set up:
date_format (yyyyMMdd | yyyy-MM-dd | MM/dd/yyyy | MM/dd/yy | dd-MMM-yy), datetime_separator
(";" | "," | " " | "T" | ""), position_detail ("summary+lot", the default: each summary row followed
by its lots | "summary" | "lot": lot rows only), nav_sections (false: no "Net Asset Value" and
"Change in NAV" sections), base_summary (false: no BASE_SUMMARY cash row), trade_times ("dateTime" |
"tradeDate+tradeTime": older statements' separate time of day).
"""

from __future__ import annotations

import secrets as token_source
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ibmon.api import RunningSimulator
from ibmon.simkit import HttpSimulator, Reply, Request, Ticker

from ibmon_ibkr_flex.codes import CODES
from ibmon_ibkr_flex.dates import DATE_STYLES, EASTERN, SEPARATORS
from ibmon_ibkr_flex.sim_portfolio import POSITION_DETAILS, TRADE_TIMES, Portfolio

SERVICE_PATH = "/AccountManagement/FlexWebService"
DEFAULT_TOKEN = "811302486412895127461539"
EXPIRED_TOKEN = "200000000000000000000001"
DEFAULT_QUERY = "987654"
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
    """The protocol: validation, rate limits, references. `handle` runs in the server's threads."""

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
        self.lock = threading.Lock()
        self.references: dict[str, Reference] = {}
        self._accepted: dict[str, deque[float]] = {}
        self.base_url = ""
        #: While set, the portfolio stands still (a soak's final check compares it with the client's).
        self.paused = False

    def handle(self, request: Request) -> Reply:
        if request.path == f"{SERVICE_PATH}/SendRequest":
            endpoint = self._send_request
        elif request.path == f"{SERVICE_PATH}/GetStatement":
            endpoint = self._get_statement
        else:
            return Reply(404, b"<html><body>Not Found</body></html>", "text/html")
        if not (request.header("user-agent") or "").strip():
            return self._fail("1020")
        token, argument = request.query.get("t", ""), request.query.get("q", "")
        if request.query.get("v") not in ("2", "3") or not token or not argument:
            return self._fail("1020")
        with self.lock:
            if self._too_fast(token):
                return self._fail("1018")
            if token in self.expired_tokens:
                return self._fail("1012")
            if token not in self.tokens:
                return self._fail("1015")
            return endpoint(token, argument)

    def step(self) -> None:
        if self.paused:
            return
        with self.lock:
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

    def _send_request(self, token: str, query_id: str) -> Reply:
        if query_id not in self.query_ids:
            return self._fail("1014")
        code = str(1_000_000_000 + token_source.randbelow(9_000_000_000))
        self.references[code] = Reference(token, query_id, self.pending_polls)
        while len(self.references) > MAX_REFERENCES:  # old codes expire (then 1017), oldest first
            del self.references[next(iter(self.references))]
        return self._response("Success", ReferenceCode=code, Url=f"{self.base_url}{SERVICE_PATH}/GetStatement")

    def _get_statement(self, token: str, code: str) -> Reply:
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
        return Reply(200, reference.body, "text/xml;charset=utf-8")

    def _fail(self, code: str, status: str = "Fail") -> Reply:
        return self._response(status, ErrorCode=code, ErrorMessage=IB_TEXT.get(code, CODES[code].message))

    @staticmethod
    def _response(status: str, **children: str) -> Reply:
        root = ET.Element("FlexStatementResponse",
                          timestamp=datetime.now(EASTERN).strftime("%d %B, %Y %I:%M %p %Z"))
        ET.SubElement(root, "Status").text = status
        for tag, text in children.items():
            ET.SubElement(root, tag).text = text
        return Reply(200, ET.tostring(root, encoding="utf-8", xml_declaration=True), "text/xml;charset=utf-8")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, not {value!r}")
    return value


def _strings(value: Any, default: list[str]) -> list[str]:
    if value is None:
        return default
    return [value] if isinstance(value, str) else [str(item) for item in value]


async def start(host: str = "127.0.0.1", *, tokens: Any = None, expired_tokens: Any = None,
                query_ids: Any = None, pending_polls: int = 2, min_interval: float = 1.0,
                max_per_minute: int = 10, date_format: str = "yyyyMMdd", datetime_separator: str = ";",
                position_detail: str = "summary+lot", nav_sections: bool = True, base_summary: bool = True,
                trade_times: str = "dateTime", interval: float = 1.0, seed: int | None = None,
                poll_seconds: float = 30.0, **_settings: Any) -> RunningSimulator:
    tokens = _strings(tokens, [DEFAULT_TOKEN])
    query_ids = _strings(query_ids, [DEFAULT_QUERY])
    service = FlexService(Portfolio(seed), tokens=tokens, expired_tokens=_strings(expired_tokens, [EXPIRED_TOKEN]),
                          query_ids=query_ids, pending_polls=pending_polls, min_interval=min_interval,
                          max_per_minute=max_per_minute,
                          date_format=_choice("date_format", date_format, DATE_STYLES),
                          datetime_separator=_choice("datetime_separator", datetime_separator, SEPARATORS),
                          position_detail=_choice("position_detail", position_detail, POSITION_DETAILS),
                          nav_sections=_flag("nav_sections", nav_sections),
                          base_summary=_flag("base_summary", base_summary),
                          trade_times=_choice("trade_times", trade_times, TRADE_TIMES))
    server = HttpSimulator(service.handle, host=host)
    service.base_url = server.url
    server.start()
    ticker = Ticker(service.step, interval).start()

    async def stop() -> None:
        ticker.stop()
        await server.stop()

    base_url = f"{server.url}{SERVICE_PATH}"
    return RunningSimulator(
        provider="ibkr_flex",
        endpoints={"flex": base_url},
        connections=[{"name": "IBKR Flex demo", "provider": "ibkr_flex", "token": tokens[0],
                      "query_id": query_ids[0], "base_url": base_url, "poll_seconds": poll_seconds,
                      "max_wait_seconds": 60}],
        stop=stop,
        extra={"service": service, "http": server},
    )
