"""Client of the Impact CRM "IB integration" REST API.

* Login: POST [domain]/api/v1/auth/login with X-Api-Key and X-DOMAIN → {"token": ...}. Every later
  call sends X-Api-Key, X-DOMAIN and X-Auth-Token; on 401/403 the client logs in again once and
  retries, then reports what the user must fix.
* Lists answer {"total", "page", "pageSize", "data"} (a bare array is taken as the whole list).
  A count is the `total` of one pageSize=1 request; lists are walked page by page on demand.
* The required filters are part of each `Query` constructor, so no request goes out without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ibmon.sdk import (AuthError, HttpClient, ProviderError, Secret, Token, TokenRenewal, Walk, WalkLimits,
                       error_text, loads, login_refused, reveal)

from ibmon_crm import records

if TYPE_CHECKING:  # pragma: no cover
    import httpx

T = TypeVar("T")

LOGIN_PATH = "/api/v1/auth/login"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Query(Generic[T]):
    """One list endpoint with its filters (the required ones included)."""

    what: str
    path: str
    params: tuple[tuple[str, str], ...]
    parse: Callable[[dict[str, Any]], T]


@dataclass(frozen=True)
class Page(Generic[T]):
    total: int
    page: int
    page_size: int
    items: tuple[T, ...]

    @property
    def last(self) -> bool:
        return not self.items or self.page * self.page_size >= self.total


def _day(value: date) -> str:
    return value.isoformat()


def leads(date_from: date, date_to: date, *, by: str = "registration") -> Query[records.Lead]:
    """Leads registered (or last modified, `by="modified"`) between two dates, inclusive."""
    return Query("leads", "/api/v1/ib/leads", _date_filter(by, date_from, date_to), records.parse_lead)


def registrations(date_from: date, date_to: date, *, by: str = "registration") -> Query[records.Registration]:
    return Query("registrations", "/api/v1/ib/registrations", _date_filter(by, date_from, date_to),
                 records.parse_registration)


def transactions(date_from: date, date_to: date, *, include_fake: bool = False) -> Query[records.Transaction]:
    params = (("transactionDateFrom", _day(date_from)), ("transactionDateTo", _day(date_to)),
              ("includeFake", "true" if include_fake else "false"))
    return Query("transactions", "/api/v1/ib/transactions", params, records.parse_transaction)


def positions(server_tag: str, date_from: date, date_to: date) -> Query[records.ClosedPosition]:
    """Closed positions of one server (a tag from `CrmClient.servers()`)."""
    if not server_tag:
        raise ProviderError("closed positions need a server tag: pick a server (or set server_tag)")
    params = (("serverTag", server_tag), ("positionCloseDateFrom", _day(date_from)),
              ("positionCloseDateTo", _day(date_to)))
    return Query("positions", "/api/v1/ib/positions", params, records.parse_position)


def _date_filter(by: str, date_from: date, date_to: date) -> tuple[tuple[str, str], ...]:
    prefix = {"registration": "registrationDate", "modified": "lastModifiedDate"}[by]
    return ((f"{prefix}From", _day(date_from)), (f"{prefix}To", _day(date_to)))


class CrmClient:
    def __init__(self, base_url: str, *, domain: str, api_key: Secret | str, email: str,
                 password: Secret | str, timeout: float = 20.0, verify: bool = True,
                 limits: WalkLimits = WalkLimits()) -> None:
        self.base_url = base_url.rstrip("/")
        self.domain = domain
        self.limits = limits
        self._api_key = api_key
        self._email = email
        self._password = password
        # 403 is renewed too: the CRM answers it for an expired session as well as for a wrong domain
        self._renewal = TokenRenewal(self._login, header="X-Auth-Token", prefix="", renew_on=(401, 403))
        self._http = HttpClient(self.base_url, timeout=timeout, verify=verify, renewal=self._renewal)

    @property
    def logins(self) -> int:
        """Successful logins so far (for tests and the health line)."""
        return self._renewal.fetched

    async def close(self) -> None:
        await self._http.aclose()

    # -- auth ------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"X-DOMAIN": self.domain}
        key = reveal(self._api_key)
        if key:  # an empty key is left out, so the CRM's own "missing X-Api-Key" answer reaches the user
            headers["X-Api-Key"] = key
        return headers

    async def login(self) -> None:
        """Log in, unless the client holds a token that is still good."""
        await self._renewal.token()

    async def _login(self) -> Token:
        body = {"email": self._email, "password": reveal(self._password), "rememberMe": True}
        response = await self._send("POST", LOGIN_PATH, json=body, authorised=False)
        if response.status_code != 200:
            raise self._error(response, "login")
        payload = _json(response, "login") if response.content else None
        token = payload.get("token") if isinstance(payload, dict) else None
        if not token or not isinstance(token, str):
            raise ProviderError("login answered without a token: is base_url the CRM's API address?")
        return Token(Secret(token))

    # -- requests --------------------------------------------------------------------------------

    async def _send(self, method: str, path: str, **kwargs: Any) -> "httpx.Response":
        return await self._http.request(method, path, f"CRM {method} {path}", headers=self._headers(), **kwargs)

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET an endpoint with the session headers; logs in first, and once more on 401/403."""
        response = await self._send("GET", path, params=params)
        if response.status_code != 200:
            raise self._error(response, path)
        return _json(response, path)

    async def page(self, query: Query[T], page: int = 1, page_size: int = MAX_PAGE_SIZE) -> Page[T]:
        params = dict(query.params, page=str(page), pageSize=str(page_size))
        payload = await self.get(query.path, params)
        if isinstance(payload, list):  # an unpaged answer: the whole list
            return Page(len(payload), 1, max(len(payload), 1), tuple(query.parse(r) for r in payload))
        try:
            data = payload.get("data") or []
            return Page(int(payload["total"]), int(payload.get("page", page)),
                        int(payload.get("pageSize", page_size)), tuple(query.parse(r) for r in data))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderError(f"unexpected {query.what} answer from the CRM "
                                f"({type(exc).__name__}: {exc})") from None

    async def count(self, query: Query[Any]) -> int:
        """How many records match: the `total` of a single pageSize=1 request."""
        return (await self.page(query, 1, 1)).total

    def pages(self, query: Query[T], page_size: int = MAX_PAGE_SIZE) -> Walk[Page[T]]:
        """The pages of a query, each fetched only when the caller asks for it (within the walk limits)."""

        async def fetch(number: int | None) -> tuple[Page[T], int | None]:
            number = number or 1
            page = await self.page(query, number, page_size)
            return page, None if page.last else number + 1

        return Walk(f"CRM {query.what}", fetch, self.limits, records=lambda page: page.items)

    async def servers(self) -> dict[str, tuple[str, ...]]:
        """Server tags grouped by platform."""
        return records.parse_servers(await self.get("/api/v1/ib/servers"))

    # -- errors ----------------------------------------------------------------------------------

    def _error(self, response: "httpx.Response", what: str) -> ProviderError:
        status = response.status_code
        detail = error_text(response)
        if status == 401:
            if what == "login":
                return login_refused("the CRM", response, "api_key, email and password "
                                                          "(the API key must belong to the user logging in)")
            return AuthError(f"the CRM refused the session again after a fresh login (HTTP 401: {detail}); "
                             "check api_key and the user's IB Reports permission", code="401")
        if status == 403:
            return AuthError(f"the CRM refused domain {self.domain!r} (HTTP 403: {detail}); set domain to the "
                             "X-DOMAIN the API key was issued for, and check the user's IB Reports permission",
                             code="403")
        if status == 400:
            return ProviderError(f"the CRM rejected the {what} request (HTTP 400: {detail})", code="400",
                                 permanent=True)
        if status == 404:
            return ProviderError(f"{what} not found on {self.base_url} (HTTP 404): check base_url, and that "
                                 "the CRM's IB module is enabled", code="404", permanent=True)
        return ProviderError(f"the CRM answered HTTP {status} to {what}: {detail}", code=str(status))


def _json(response: "httpx.Response", what: str) -> Any:
    try:
        return loads(response.content)
    except ValueError:
        raise ProviderError(f"the CRM's answer to {what} is not JSON: is base_url right?") from None
