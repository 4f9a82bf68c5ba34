"""B2Core IB Accounts API client: OAuth client-credentials tokens, paging, account CRUD and metrics.

Pure protocol: JSON in, plain dicts out (money values left as the server's decimal strings, which
`ibmon.money.loads` keeps exact), every refusal turned into a `ProviderError` carrying the server's
own message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ibmon.sdk import (AuthError, HttpClient, OffsetWalk, ProviderError, Secret, Token, TokenRenewal, WalkLimits,
                       Walked, basic_auth, error_text, loads, login_refused)

if TYPE_CHECKING:  # pragma: no cover
    import httpx

#: The expansions GET /accounts and GET /accounts/{id} accept as query[name]=1.
EXPANSIONS = ("platform", "profile", "contacts", "metrics")
#: sort_by values the API documents for the list.
SORT_FIELDS = ("accountId", "archived", "createTime", "enabled", "number", "trades")

#: Token lifetime assumed when the server gives no usable expires_in (renewal on 401 still applies).
FALLBACK_TOKEN_SECONDS = 60.0
#: An expires_in above this many "seconds" (two days) is taken to be milliseconds.
MILLISECONDS_ABOVE = 2 * 86400


@dataclass(frozen=True)
class Page:
    """One reply of the account list. `reply` is (the request it answered, a fingerprint of its
    bytes); `listed` holds the account ids of a reply known unchanged, which was not decoded again
    (its `items` are then empty)."""

    items: list[dict[str, Any]]
    total: int | None
    reply: tuple[Any, Any] | None = None
    listed: tuple[str, ...] | None = None

    @property
    def records(self) -> Sequence[Any]:
        return self.items if self.listed is None else self.listed


#: Answers the account ids of a reply (its `Page.reply`) known unchanged, or None (`Changes.unchanged`).
Known = Callable[[tuple[Any, Any]], "tuple[str, ...] | None"]


class B2CoreError(ProviderError):
    """A refusal by the API. `status` is the HTTP status; `fields` the validation details (422)."""

    def __init__(self, message: str, *, status: int, fields: dict[str, list[str]] | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message, code=str(status), permanent=permanent)
        self.status = status
        self.fields = fields or {}


class B2CoreAuthError(AuthError):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, code=str(status))
        self.status = status


def token_lifetime(expires_in: Any) -> float:
    """Seconds a token may be used, from an expires_in of unclear unit (seconds or milliseconds)."""
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
        return FALLBACK_TOKEN_SECONDS
    seconds = float(expires_in)
    return seconds / 1000 if seconds > MILLISECONDS_ABOVE else seconds


def query_value(value: Any) -> str:
    """A filter value as the API takes it (booleans as 1/0, like the documented filter[enabled]=1)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def list_params(*, filters: Mapping[str, Any] | None = None, sort_by: str | None = None,
                sort_order: str | None = None, expand: Iterable[str] = ()) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in (filters or {}).items():
        if value is not None and value != "":
            params[f"filter[{name}]"] = query_value(value)
    if sort_by:
        params["sort_by"] = sort_by
    if sort_order:
        params["sort_order"] = sort_order
    params.update(expansion_params(expand))
    return params


def expansion_params(expand: Iterable[str]) -> dict[str, str]:
    return {f"query[{name}]": "1" for name in expand}


def parse_envelope(payload: Any) -> Page:
    """A list reply: a bare array, or an object with the items under `data` (and maybe `total`)."""
    if isinstance(payload, list):
        return Page(payload, None)
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        total = payload.get("total")
        if isinstance(total, str) and total.isdigit():
            total = int(total)
        return Page(payload["data"], total if isinstance(total, int) and not isinstance(total, bool) else None)
    raise ProviderError("B2Core answered the account list with an unexpected shape "
                        "(expected an array or an object with \"data\")")


def parse_metrics(payload: Any) -> dict[str, Any]:
    """{"metrics": [{"key": "trades", "value": 101}]} (or a plain mapping) as {"trades": 101}."""
    if isinstance(payload, dict) and "metrics" in payload:
        payload = payload["metrics"]
    if isinstance(payload, list):
        return {str(item.get("key")): item.get("value") for item in payload if isinstance(item, dict)}
    if isinstance(payload, dict):
        return dict(payload)
    return {}


def validation_fields(payload: Any) -> dict[str, list[str]]:
    """The per-field validation details of an error body ({"errors": {field: [problems]}} or a list)."""
    fields: dict[str, list[str]] = {}
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, dict):
        for name, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            fields[str(name)] = [str(p) for p in items]
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                name = str(item.get("field") or item.get("property") or "")
                fields.setdefault(name, []).append(str(item.get("message", item)))
    return fields


def describe_fields(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(problems)}" if name else " ".join(problems)
                     for name, problems in fields.items())


class B2CoreClient:
    """One API user. Give either client_id + client_secret (tokens fetched and renewed) or a static
    token. `update_method` is PUT (the documented verb) or PATCH. `page_concurrency` is how many
    account list pages are requested at a time once the list's total is known."""

    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: Secret | None = None,
                 token: Secret | None = None, page_size: int = 100, update_method: str = "PUT",
                 verify: bool = True, timeout: float = 20.0, clock: Callable[[], float] = time.monotonic,
                 limits: WalkLimits = WalkLimits(), page_concurrency: int = 1) -> None:
        if token is None and not (client_id and client_secret):
            raise ProviderError("B2Core needs client_id and client_secret, or a token", permanent=True)
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._static_token = token
        self.page_size = page_size
        self.update_method = update_method.upper()
        self.limits = limits
        self.page_concurrency = page_concurrency
        self._renewal = None if token is not None else TokenRenewal(self._fetch_token, clock=clock)
        #: The total each reply of the account list gave (by `Page.reply`), for the ones known unchanged.
        self._totals: dict[tuple[Any, Any], int | None] = {}
        self.http = HttpClient(self.base_url + "/", verify=verify, timeout=timeout,
                               headers={"Accept": "application/json"}, renewal=self._renewal)

    @property
    def tokens_fetched(self) -> int:
        """Tokens fetched so far (for the health line and tests)."""
        return self._renewal.fetched if self._renewal is not None else 0

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- tokens ----------------------------------------------------------------------------------

    async def _fetch_token(self) -> Token:
        assert self.client_id and self._client_secret
        response = await self.http.request("POST", "tokens", "B2Core POST /tokens", authorised=False,
                                           json={"grant_type": "client_credentials"},
                                           headers=basic_auth(self.client_id, self._client_secret))
        if response.status_code in (400, 401, 403):
            raise login_refused("B2Core", response, "client_id and client_secret")
        payload = self._decode(response, "POST /tokens")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderError("B2Core's token reply has no access_token")
        return Token(Secret(token), token_lifetime(payload.get("expires_in")))

    def forget_token(self) -> None:
        if self._renewal is not None:
            self._renewal.forget()

    # -- requests --------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      json: Any = None) -> Any:
        """An authorised call; a 401 fetches a new token and tries once more."""
        return self._decode(await self._reply(method, path, params=params, json=json), f"{method} /{path}")

    async def _reply(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                     json: Any = None) -> "httpx.Response":
        kwargs: dict[str, Any] = {"params": params}
        if self._static_token is not None:
            kwargs["headers"] = {"Authorization": f"Bearer {self._static_token.reveal()}"}
        if json is not None:
            kwargs["json"] = json
        return await self.http.request(method, path, f"B2Core {method} /{path}", **kwargs)

    def _decode(self, response: "httpx.Response", what: str) -> Any:
        status = response.status_code
        if status < 400:
            if status == 204 or not response.content:
                return None
            try:
                return loads(response.content)
            except ValueError:
                raise ProviderError(f"B2Core {what}: the reply is not JSON (HTTP {status})") from None
        fields = validation_fields(_json_or_none(response))
        text = error_text(response) or "no message"
        if fields:
            text = f"{text} ({describe_fields(fields)})"
        text = f"B2Core {what}: HTTP {status}: {text}"
        if status == 401:
            hint = "the token was refused: check token" if self._static_token is not None else \
                "a fresh token was refused too: check the API user's rights"
            raise B2CoreAuthError(f"{text} ({hint})", status=status)
        if status == 403:
            raise B2CoreAuthError(f"{text} (the API user lacks the rights for this call)", status=status)
        raise B2CoreError(text, status=status, fields=fields, permanent=status in (400, 404, 422))

    # -- accounts --------------------------------------------------------------------------------

    async def page(self, offset: int = 0, limit: int | None = None, known: Known | None = None,
                   **list_options: Any) -> Page:
        """The page at `offset`. With `known`, a reply byte for byte the same as one `known`
        remembers is not decoded again: the page lists the account ids it listed then."""
        params = {"limit": str(limit or self.page_size), "offset": str(offset), **list_params(**list_options)}
        response = await self._reply("GET", "accounts", params=params)
        where = tuple(params.items())
        reply = (where, (len(response.content), hash(response.content)))
        if known is not None and response.status_code == 200 and reply in self._totals:
            listed = known(reply)
            if listed is not None:
                return Page([], self._totals[reply], reply, listed)
        page = parse_envelope(self._decode(response, "GET /accounts"))
        if known is not None:
            if len(self._totals) >= 2 * self.limits.max_pages:  # a list whose pages keep moving
                self._totals.clear()
            self._totals[reply] = page.total
        return Page(page.items, page.total, reply)

    def walk_accounts(self, *, filters: Mapping[str, Any] | None = None, sort_by: str | None = None,
                      sort_order: str | None = None, expand: Iterable[str] = (),
                      known: Known | None = None) -> OffsetWalk[Page]:
        """The pages of the accounts matching `filters`, until a short page or `total` (or a bound),
        `page_concurrency` at a time once the total is known, in the order they arrive (see `page`
        for `known`)."""
        options = {"filters": filters, "sort_by": sort_by, "sort_order": sort_order, "expand": tuple(expand)}

        async def fetch(offset: int) -> Page:
            return await self.page(offset, self.page_size, known, **options)

        return OffsetWalk("B2Core account list", fetch, self.limits, page_size=self.page_size,
                          total=lambda page: page.total, concurrency=self.page_concurrency,
                          records=lambda page: page.records, key=_walk_key)

    async def list_accounts(self, **list_options: Any) -> Walked:
        """Every account matching the filters (see `walk_accounts`); `.note` says if the walk stopped early."""
        return await self.walk_accounts(**list_options).collect()

    async def account(self, account_id: str, expand: Iterable[str] = EXPANSIONS) -> dict[str, Any]:
        return await self.request("GET", f"accounts/{_segment(account_id)}", params=expansion_params(expand))

    async def metrics(self, account_id: str) -> dict[str, Any]:
        return parse_metrics(await self.request("GET", f"accounts/{_segment(account_id)}/metrics"))

    async def create(self, number: str, platform_id: str, profile_id: str, *, enabled: bool = True,
                     uuid: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"number": number, "platformId": platform_id, "profileId": profile_id,
                                "enabled": enabled}
        if uuid is not None:
            body["uuid"] = uuid
        return await self.request("POST", "accounts", json=body)

    async def update(self, account_id: str, *, number: str | None = None, enabled: bool | None = None,
                     uuid: str | None = None) -> dict[str, Any]:
        """PUT (number is required there) or PATCH with only the given fields."""
        if self.update_method == "PUT" and number is None:
            raise ProviderError("B2Core update: PUT needs the account number")
        body = {key: value for key, value in (("number", number), ("enabled", enabled), ("uuid", uuid))
                if value is not None}
        return await self.request(self.update_method, f"accounts/{_segment(account_id)}", json=body)

    async def delete(self, account_id: str) -> None:
        await self.request("DELETE", f"accounts/{_segment(account_id)}")


def _walk_key(item: Any) -> Any:
    """What tells the accounts of a page apart for the walk (an account id as listed, or as known)."""
    if isinstance(item, dict):
        return item.get("accountId")
    return item if isinstance(item, str) else repr(item)


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _json_or_none(response: "httpx.Response") -> Any:
    try:
        return loads(response.content)
    except ValueError:
        return None
