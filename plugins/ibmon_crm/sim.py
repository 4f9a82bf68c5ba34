"""A loopback simulator of the Impact CRM IB integration API.

Speaks the documented endpoints (login, leads, registrations, transactions, servers, positions)
with their header checks, required filters (a 400 with a JSON body saying what is missing) and
paging ({"total", "page", "pageSize", "data"}). Records come from `simdata.Population`: computed
from their index, so `huge_leads=1_000_000` presents a million leads without storing them, while a
ticker keeps leads, deposits and closed positions arriving.

Settings are declared in `sim_settings.py`; `CrmControl` is the handle tests and the soak use.
"""

from __future__ import annotations

import calendar
import copy
import json
import math
import random
import re
import secrets
import time
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from ibmon.sdk import RunningSimulator
from ibmon.simkit import (Faults, HttpControl, HttpSimulator, check_settings, json_body, json_reply, on_loop,
                          text_reply, tls_context)

from ibmon_crm.sim_settings import API_KEY, DOMAIN, EMAIL, PASSWORD, SETTINGS
from ibmon_crm.simdata import SERVER_TAGS, SERVERS, Population, Selection

MAX_PAGE_SIZE = 1000

_NUMBER_MARK = "#decimal#"
_NUMBER = re.compile(r'"#decimal#(-?\d+(?:\.\d+)?)"')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadRequest(Exception):
    """A request the CRM refuses with 400; the message goes into the JSON body."""


def _numbers_reply(payload: Any) -> web.Response:
    """A JSON reply writing Decimals as JSON numbers with their exact digits (300.00, not "300.00"
    nor 300.0), as a CRM's JSON shows amounts."""
    text = json.dumps(payload, default=lambda value: f"{_NUMBER_MARK}{value}")
    return text_reply(_NUMBER.sub(r"\1", text), content_type="application/json")


def _problem(status: int, message: str) -> web.Response:
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
    """The simulated CRM: its population, tokens and request handling (on the simulator's loop:
    `CrmControl` reaches it)."""

    def __init__(self, *, api_key: str = API_KEY, domain: str = DOMAIN, email: str = EMAIL,
                 password: str = PASSWORD, leads: int = 5000, huge_leads: int = 0, history_days: float = 0,
                 conversion: float = 0.22, conversion_delay: float = 20.0,
                 lead_rate: float = 0.1, transaction_rate: float = 0.1, position_rate: float = 0.3,
                 token_ttl: float = 3600.0, expire_tokens: int = 0, seed: int | None = 7) -> None:
        self.api_key, self.domain, self.email, self.password = api_key, domain, email, password
        count = int(huge_leads or leads)
        days = history_days or (365 if huge_leads else 120)
        self.population = Population(leads=count, history_days=days, now=time.time(), conversion=conversion,
                                     delay=conversion_delay, seed=7 if seed is None else seed)
        self.token_ttl = token_ttl
        self.expire_every = int(expire_tokens)
        self.token_checks = 0  # data calls so far (expire_tokens counts them)
        self.rates = (lead_rate, transaction_rate, position_rate)
        self._tokens: dict[str, float] = {}  # token → issued at
        self._rng = random.Random(seed)
        #: The `total` to answer for a list ("leads", "registrations", "transactions") whatever
        #: the population holds (a hostile CRM's negative or absurd counts).
        self.forced_totals: dict[str, Any] = {}
        #: path -> what the list endpoint answers for a query
        self.lists = {"/api/v1/ib/leads": self._leads, "/api/v1/ib/registrations": self._registrations,
                      "/api/v1/ib/transactions": self._transactions, "/api/v1/ib/servers": self._servers,
                      "/api/v1/ib/positions": self._positions}

    # -- life ------------------------------------------------------------------------------------

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
        for _ in range(count):
            self.population.leads.add(time.time())

    def add_transactions(self, count: int = 1) -> None:
        for _ in range(count):
            self.population.transactions.add(time.time())

    def add_closed_position(self, tag: str) -> None:
        self.population.closed[tag].add(time.time())

    def expire_all_tokens(self) -> None:
        self._tokens.clear()

    # -- HTTP ------------------------------------------------------------------------------------

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/api/v1/auth/login", self._keyed(self._login))
        for path in self.lists:
            router.add_get(path, self._keyed(self._list))
        router.add_route("*", "/{tail:.*}", self._keyed(self._unrouted))

    def _keyed(self, handler: Any) -> Any:
        """`handler` behind the X-Api-Key and X-DOMAIN checks every CRM path makes."""

        async def keyed(request: web.Request) -> web.Response:
            return self._check_key(request) or await handler(request)

        return keyed

    async def _unrouted(self, request: web.Request) -> web.Response:
        if request.path == "/api/v1/auth/login":
            return _problem(405, "use POST")
        if request.path in self.lists:
            return _problem(405, "use GET")
        return _problem(404, f"no endpoint {request.path}")

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._check_token(request)
        if refused:
            return refused
        try:
            return _numbers_reply(self.lists[request.path](dict(request.query)))
        except BadRequest as exc:
            return _problem(400, str(exc))

    def _check_key(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("X-Api-Key")
        if not key:
            return _problem(401, "X-Api-Key header is missing")
        if not secrets.compare_digest(key, self.api_key):
            return _problem(401, "the API key is not valid (unknown or expired)")
        domain = request.headers.get("X-DOMAIN")
        if not domain:
            return _problem(403, "X-DOMAIN header is missing")
        if domain != self.domain:
            return _problem(403, f"the API key is not valid for domain {domain!r}")
        return None

    async def _login(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is None and await request.read():
            return _problem(400, "the body must be JSON: {\"email\", \"password\", \"rememberMe\"}")
        body = body if isinstance(body, dict) else {}
        if body.get("email") != self.email or body.get("password") != self.password:
            return _problem(401, "invalid email or password")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.time()
        return json_reply({"token": token})

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("X-Auth-Token")
        if not token:
            return _problem(401, "X-Auth-Token header is missing: log in first")
        issued = self._tokens.get(token)
        self.token_checks += 1
        if self.expire_every and self.token_checks % self.expire_every == 0:
            issued = None  # the fault knob: this token has just expired
        if issued is not None and time.time() - issued >= self.token_ttl:
            issued = None
        if issued is None:
            self._tokens.pop(token, None)
            return _problem(401, "the token is invalid or expired: log in again")
        return None

    def _page(self, selection: Selection, query: dict[str, str], what: str) -> dict[str, Any]:
        page, size = _paging(query)
        return {"total": self.forced_totals.get(what, selection.total), "page": page, "pageSize": size,
                "data": selection.page(page, size)}

    @staticmethod
    def _person_filters(query: dict[str, str]) -> tuple[Any, Any]:
        registered = _date_range(query, "registrationDate")
        modified = _date_range(query, "lastModifiedDate")
        if registered is None and modified is None:
            raise BadRequest("registrationDateFrom and registrationDateTo, or lastModifiedDateFrom and "
                             "lastModifiedDateTo, are required (YYYY-MM-DD)")
        return registered, modified

    def _leads(self, query: dict[str, str]) -> dict[str, Any]:
        return self._page(self.population.select_leads(*self._person_filters(query)), query, "leads")

    def _registrations(self, query: dict[str, str]) -> dict[str, Any]:
        registered, modified = self._person_filters(query)
        return self._page(self.population.select_customers(registered, modified, time.time()), query,
                          "registrations")

    def _transactions(self, query: dict[str, str]) -> dict[str, Any]:
        bounds = _date_range(query, "transactionDate")
        if bounds is None:
            raise BadRequest("transactionDateFrom and transactionDateTo are required (YYYY-MM-DD)")
        flag = query.get("includeFake", "false").lower()
        if flag not in ("true", "false"):
            raise BadRequest(f"includeFake must be true or false, got {flag!r}")
        return self._page(self.population.select_transactions(bounds, flag == "true"), query, "transactions")

    def _servers(self, query: dict[str, str]) -> dict[str, Any]:
        return {platform: list(tags) for platform, tags in SERVERS.items()}

    def _positions(self, query: dict[str, str]) -> dict[str, Any]:
        tag = query.get("serverTag")
        bounds = _date_range(query, "positionCloseDate")
        if not tag or bounds is None:
            raise BadRequest("serverTag, positionCloseDateFrom and positionCloseDateTo are required "
                             "(dates as YYYY-MM-DD)")
        if tag not in SERVER_TAGS:
            raise BadRequest(f"unknown serverTag {tag!r}; see /api/v1/ib/servers")
        return self._page(self.population.select_closed(tag, bounds), query, "positions")

    def expected_amounts(self, date_from: date, date_to: date, include_fake: bool) -> dict[tuple[str, str], Any]:
        """{(currency, "deposits"|"withdrawals"): Decimal} straight from the population."""
        bounds = (float(calendar.timegm(date_from.timetuple())),
                  float(calendar.timegm((date_to + timedelta(days=1)).timetuple())))
        totals: dict[tuple[str, str], Any] = {}
        selection = self.population.select_transactions(bounds, include_fake)
        for rank in selection.ranks:
            record = selection.build(selection.index_of(rank))
            kind, amount = self.population.amount(selection.index_of(rank))
            key = (record["currency"], "deposits" if kind == "Deposit" else "withdrawals")
            totals[key] = totals.get(key, 0) + amount
        return totals


class CrmControl(HttpControl):
    """The CRM simulator's handle: its population, arrivals, tokens and forced totals; faults, the
    request log and pausing the arrivals come from `HttpControl`."""

    _state: CrmSimulator

    @on_loop
    def population(self) -> Population:
        """A copy of the population (query it with its select_* methods)."""
        return copy.deepcopy(self._state.population)

    @on_loop
    def answer(self, path: str, query: dict[str, str]) -> Any:
        """What the list endpoint at `path` answers now for `query` (its JSON, Decimals as they are)."""
        return self._state.lists[path](query)

    @on_loop
    def expected_amounts(self, date_from: date, date_to: date,
                         include_fake: bool = False) -> dict[tuple[str, str], Any]:
        """{(currency, "deposits"|"withdrawals"): Decimal} of the transactions between the days."""
        return self._state.expected_amounts(date_from, date_to, include_fake)

    @on_loop
    def add_leads(self, count: int = 1) -> None:
        self._state.add_leads(count)

    @on_loop
    def add_transactions(self, count: int = 1) -> None:
        self._state.add_transactions(count)

    @on_loop
    def add_closed_position(self, tag: str) -> None:
        self._state.add_closed_position(tag)

    @on_loop
    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next call is answered 401)."""
        self._state.expire_all_tokens()

    @on_loop
    def force_total(self, what: str, total: Any = None) -> None:
        """Answer `total` as the count of "leads", "registrations" or "transactions" whatever the
        population holds (a hostile CRM's negative or absurd counts); None: the true count again."""
        if total is None:
            self._state.forced_totals.pop(what, None)
        else:
            self._state.forced_totals[what] = total


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    values = check_settings(SETTINGS, settings, "crm")
    sim = CrmSimulator(**{name: values[name] for name in (
        "api_key", "domain", "email", "password", "leads", "huge_leads", "history_days", "conversion",
        "conversion_delay", "lead_rate", "transaction_rate", "position_rate", "token_ttl", "expire_tokens", "seed")})
    server = HttpSimulator(faults=Faults.from_settings(values), seed=values["seed"])
    sim.routes(server.router)
    if values["tick"] > 0:
        server.every(values["tick"], sim.step)
    url = await server.listen(host, tls=tls_context(values["tls_cert"], values["tls_key"]))
    connection = {"name": "Impact CRM demo", "provider": "crm", "base_url": url, "domain": sim.domain,
                  "api_key": sim.api_key, "email": sim.email, "password": sim.password,
                  "lookback_days": 30, "poll_seconds": 5.0, "server_tag": SERVER_TAGS[0]}
    return RunningSimulator(provider="crm", endpoints={"api": url}, connections=[connection], stop=server.stop,
                            control=CrmControl(server, sim))
