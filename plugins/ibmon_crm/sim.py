"""A loopback simulator of the Impact CRM IB integration API.

Speaks the documented endpoints (login, leads, registrations, transactions, servers, positions)
with their header checks, required filters (a 400 with a JSON body saying what is missing) and
paging ({"total", "page", "pageSize", "data"}). Records come from `simdata.Population`: computed
from their index, so `huge_leads=1_000_000` presents a million leads without storing them, while a
ticker keeps leads, deposits and closed positions arriving.

Settings (all optional): api_key, domain, email, password; leads (history size, default 5000),
huge_leads (overrides leads, spread over a year), history_days; tick (seconds between arrivals,
0 = none), lead_rate / transaction_rate / position_rate (mean arrivals per tick); conversion (share of
leads that become customers), conversion_delay (seconds from lead to customer); token_ttl (seconds),
expire_tokens (every Nth call finds its token expired, 0 = never); error_rate (share of 500 replies),
delay (seconds added to every reply); seed.
The `CrmSimulator` is in `RunningSimulator.extra["sim"]`; its `http.requests` counts requests per path.
"""

from __future__ import annotations

import calendar
import inspect
import json
import math
import random
import re
import secrets
import threading
import time
from datetime import date, timedelta
from typing import Any

from ibmon.api import RunningSimulator
from ibmon.simkit import Faults, HttpSimulator, Reply, Request, Ticker, json_reply

from ibmon_crm.simdata import SERVER_TAGS, SERVERS, Population, Selection

API_KEY = "sim-crm-api-key-6f1c2a"
DOMAIN = "ib-demo.impactcrm.local"
EMAIL = "ib.reports@example.com"
PASSWORD = "sim-crm-password"
MAX_PAGE_SIZE = 1000

_NUMBER_MARK = "#decimal#"
_NUMBER = re.compile(r'"#decimal#(-?\d+(?:\.\d+)?)"')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadRequest(Exception):
    """A request the CRM refuses with 400; the message goes into the JSON body."""


def _numbers_reply(payload: Any) -> Reply:
    """A JSON reply writing Decimals as JSON numbers with their exact digits (300.00, not "300.00"
    nor 300.0), as a CRM's JSON shows amounts."""
    text = json.dumps(payload, default=lambda value: f"{_NUMBER_MARK}{value}")
    return Reply(200, _NUMBER.sub(r"\1", text).encode(), "application/json")


def _problem(status: int, message: str) -> Reply:
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    return json_reply({"status": status, "error": titles.get(status, "Error"), "message": message}, status)


def _day_start(text: str, name: str) -> float:
    if not _DATE.match(text):
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD, got {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{name} is not a valid date: {text!r}") from None
    return float(calendar.timegm(day.timetuple()))


def _date_range(query: dict[str, str], prefix: str) -> tuple[float, float] | None:
    """[start of From, end of To) in epoch seconds (UTC days, both inclusive), None when absent."""
    low, high = query.get(f"{prefix}From"), query.get(f"{prefix}To")
    if low is None and high is None:
        return None
    if low is None or high is None:
        missing = f"{prefix}From" if low is None else f"{prefix}To"
        raise BadRequest(f"{missing} is required together with {prefix}{'To' if low is None else 'From'}")
    return _day_start(low, f"{prefix}From"), _day_start(high, f"{prefix}To") + 86400


def _paging(query: dict[str, str]) -> tuple[int, int]:
    try:
        page = int(query.get("page", "1"))
        size = int(query.get("pageSize", str(MAX_PAGE_SIZE)))
    except ValueError:
        raise BadRequest("page and pageSize must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page must be at least 1 and pageSize between 1 and {MAX_PAGE_SIZE}")
    return page, size


class CrmSimulator:
    def __init__(self, *, api_key: str = API_KEY, domain: str = DOMAIN, email: str = EMAIL,
                 password: str = PASSWORD, leads: int = 5000, huge_leads: int = 0, history_days: float = 0,
                 conversion: float = 0.22, conversion_delay: float = 20.0, tick: float = 1.0,
                 lead_rate: float = 0.1, transaction_rate: float = 0.1, position_rate: float = 0.3,
                 token_ttl: float = 3600.0, expire_tokens: int = 0, error_rate: float = 0.0,
                 delay: float = 0.0, seed: int = 7,
                 host: str = "127.0.0.1") -> None:
        self.api_key, self.domain, self.email, self.password = api_key, domain, email, password
        count = int(huge_leads or leads)
        days = history_days or (365 if huge_leads else 120)
        self.population = Population(leads=count, history_days=days, now=time.time(), conversion=conversion,
                                     delay=conversion_delay, seed=seed)
        self.token_ttl = token_ttl
        self.expire_every = int(expire_tokens)
        self.token_checks = 0  # data calls so far (expire_tokens counts them)
        self.rates = (lead_rate, transaction_rate, position_rate)
        self._tokens: dict[str, float] = {}  # token → issued at
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.http = HttpSimulator(self.handle, host=host, faults=Faults(error_rate=error_rate, delay=delay))
        # The kit's handler writes headers and body separately; with Nagle's algorithm on, each reply
        # then waits ~40 ms for the client's delayed ACK. Until simkit sets it, switch Nagle off here.
        self.http._server.RequestHandlerClass.disable_nagle_algorithm = True
        self._ticker = Ticker(self.step, tick) if tick > 0 else None
        #: For tests: the `total` to answer for a list ("leads", "registrations", "transactions")
        #: whatever the population holds (a hostile CRM's negative or absurd counts).
        self.forced_totals: dict[str, Any] = {}

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> str:
        url = self.http.start()
        if self._ticker:
            self._ticker.start()
        return url

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        await self.http.stop()

    def step(self) -> None:
        """One tick of CRM life: leads arrive, customers deposit or withdraw, positions close."""
        lead_rate, transaction_rate, position_rate = self.rates
        self.add_leads(self._arrivals(lead_rate))
        self.add_transactions(self._arrivals(transaction_rate))
        for _ in range(self._arrivals(position_rate)):
            self.add_closed_position(self._rng.choice(SERVER_TAGS))

    def _arrivals(self, mean: float) -> int:
        # Poisson draws by inversion: bursts now and then, quiet ticks too
        limit, count, product = math.exp(-mean), 0, self._rng.random()
        while product > limit:
            count += 1
            product *= self._rng.random()
        return count

    def add_leads(self, count: int = 1) -> None:
        with self._lock:
            for _ in range(count):
                self.population.leads.add(time.time())

    def add_transactions(self, count: int = 1) -> None:
        with self._lock:
            for _ in range(count):
                self.population.transactions.add(time.time())

    def add_closed_position(self, tag: str) -> None:
        with self._lock:
            self.population.closed[tag].add(time.time())

    def expire_all_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- HTTP ------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        refused = self._check_key(request)
        if refused:
            return refused
        if request.path == "/api/v1/auth/login":
            return self._login(request) if request.method == "POST" else _problem(405, "use POST")
        routes = {"/api/v1/ib/leads": self._leads, "/api/v1/ib/registrations": self._registrations,
                  "/api/v1/ib/transactions": self._transactions, "/api/v1/ib/servers": self._servers,
                  "/api/v1/ib/positions": self._positions}
        route = routes.get(request.path)
        if route is None:
            return _problem(404, f"no endpoint {request.path}")
        if request.method != "GET":
            return _problem(405, "use GET")
        refused = self._check_token(request)
        if refused:
            return refused
        try:
            with self._lock:
                return route(request.query)
        except BadRequest as exc:
            return _problem(400, str(exc))

    def _check_key(self, request: Request) -> Reply | None:
        key = request.header("X-Api-Key")
        if not key:
            return _problem(401, "X-Api-Key header is missing")
        if not secrets.compare_digest(key, self.api_key):
            return _problem(401, "the API key is not valid (unknown or expired)")
        domain = request.header("X-DOMAIN")
        if not domain:
            return _problem(403, "X-DOMAIN header is missing")
        if domain != self.domain:
            return _problem(403, f"the API key is not valid for domain {domain!r}")
        return None

    def _login(self, request: Request) -> Reply:
        try:
            body = request.json() or {}
        except ValueError:
            return _problem(400, "the body must be JSON: {\"email\", \"password\", \"rememberMe\"}")
        if body.get("email") != self.email or body.get("password") != self.password:
            return _problem(401, "invalid email or password")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.time()
        return json_reply({"token": token})

    def _check_token(self, request: Request) -> Reply | None:
        token = request.header("X-Auth-Token")
        if not token:
            return _problem(401, "X-Auth-Token header is missing: log in first")
        now = time.time()
        with self._lock:
            issued = self._tokens.get(token)
            self.token_checks += 1
            if self.expire_every and self.token_checks % self.expire_every == 0:
                issued = None  # the fault knob: this token has just expired
            if issued is not None and now - issued > self.token_ttl:
                issued = None
            if issued is None:
                self._tokens.pop(token, None)
                return _problem(401, "the token is invalid or expired: log in again")
        return None

    def _page(self, selection: Selection, query: dict[str, str], what: str) -> Reply:
        page, size = _paging(query)
        return _numbers_reply({"total": self.forced_totals.get(what, selection.total), "page": page,
                               "pageSize": size, "data": selection.page(page, size)})

    @staticmethod
    def _person_filters(query: dict[str, str]) -> tuple[Any, Any]:
        registered = _date_range(query, "registrationDate")
        modified = _date_range(query, "lastModifiedDate")
        if registered is None and modified is None:
            raise BadRequest("registrationDateFrom and registrationDateTo, or lastModifiedDateFrom and "
                             "lastModifiedDateTo, are required (YYYY-MM-DD)")
        return registered, modified

    def _leads(self, query: dict[str, str]) -> Reply:
        return self._page(self.population.select_leads(*self._person_filters(query)), query, "leads")

    def _registrations(self, query: dict[str, str]) -> Reply:
        registered, modified = self._person_filters(query)
        return self._page(self.population.select_customers(registered, modified, time.time()), query,
                          "registrations")

    def _transactions(self, query: dict[str, str]) -> Reply:
        bounds = _date_range(query, "transactionDate")
        if bounds is None:
            raise BadRequest("transactionDateFrom and transactionDateTo are required (YYYY-MM-DD)")
        flag = query.get("includeFake", "false").lower()
        if flag not in ("true", "false"):
            raise BadRequest(f"includeFake must be true or false, got {flag!r}")
        return self._page(self.population.select_transactions(bounds, flag == "true"), query, "transactions")

    def _servers(self, query: dict[str, str]) -> Reply:
        return json_reply({platform: list(tags) for platform, tags in SERVERS.items()})

    def _positions(self, query: dict[str, str]) -> Reply:
        tag = query.get("serverTag")
        bounds = _date_range(query, "positionCloseDate")
        if not tag or bounds is None:
            raise BadRequest("serverTag, positionCloseDateFrom and positionCloseDateTo are required "
                             "(dates as YYYY-MM-DD)")
        if tag not in SERVER_TAGS:
            raise BadRequest(f"unknown serverTag {tag!r}; see /api/v1/ib/servers")
        return self._page(self.population.select_closed(tag, bounds), query, "positions")

    # -- for tests -------------------------------------------------------------------------------

    def expected_amounts(self, date_from: date, date_to: date, include_fake: bool) -> dict[tuple[str, str], Any]:
        """{(currency, "deposits"|"withdrawals"): Decimal} straight from the population."""
        bounds = (float(calendar.timegm(date_from.timetuple())),
                  float(calendar.timegm((date_to + timedelta(days=1)).timetuple())))
        totals: dict[tuple[str, str], Any] = {}
        with self._lock:
            selection = self.population.select_transactions(bounds, include_fake)
            for rank in selection.ranks:
                record = selection.build(selection.index_of(rank))
                kind, amount = self.population.amount(selection.index_of(rank))
                key = (record["currency"], "deposits" if kind == "Deposit" else "withdrawals")
                totals[key] = totals.get(key, 0) + amount
        return totals


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    known = set(inspect.signature(CrmSimulator).parameters) - {"host"}
    sim = CrmSimulator(host=host, **{k: v for k, v in settings.items() if k in known})
    url = sim.start()
    connection = {"name": "Impact CRM demo", "provider": "crm", "base_url": url, "domain": sim.domain,
                  "api_key": sim.api_key, "email": sim.email, "password": sim.password,
                  "lookback_days": 30, "poll_seconds": 5.0, "server_tag": SERVER_TAGS[0]}
    return RunningSimulator(provider="crm", endpoints={"api": url}, connections=[connection], stop=sim.stop,
                            extra={"sim": sim})
