"""A B2Core IB Accounts API simulator on loopback.

Serves `POST /tokens` (client credentials, Basic auth) and every Accounts endpoint under
`/api/v2/ib`: several hundred accounts on MT4, MT5 and cTrader platforms and groups, USD, EUR, USDT
and BTC (18-decimal strings), all ten account types, demo and production, some archived. Balances
and profits drift, trades accrue. Sorting, filters, paging and query[...] expansions are honoured,
tokens expire, and validation errors come back as 422 with a JSON body.

Settings are declared in `sim_settings.py`; `B2CoreControl` is the handle tests and the soak use.
"""

from __future__ import annotations

import base64
import copy
import random
import secrets
import time
import uuid as uuidlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from aiohttp import web

from ibmon.sdk import RunningSimulator
from ibmon.simkit import (Faults, HttpControl, HttpSimulator, check_settings, json_body, json_reply,
                          on_loop, tls_context)

from ibmon_b2core.sim_settings import SETTINGS

PREFIX = "/api/v2/ib"
CLIENT_ID = "ibmon-demo"
CLIENT_SECRET = "b2core-demo-client-secret"
#: A second API user whose tokens may read but not change accounts (answers 403).
READONLY_CLIENT_ID = "ibmon-readonly"
READONLY_CLIENT_SECRET = "b2core-readonly-client-secret"

TYPE_COUNT = 10
CRYPTO = {"BTC", "USDT"}
#: currency -> (share of accounts, typical balance)
CURRENCIES = {"USD": (0.45, 5000), "EUR": (0.25, 4000), "USDT": (0.12, 3000), "BTC": (0.18, 2)}
PLATFORMS = (("MetaTrader 4", "MT4"), ("MetaTrader 5", "MT5"), ("cTrader", "CT"))
MONEY = ("balance", "credit", "equity", "commission", "swap", "profit", "pnl", "deposits", "withdrawals")
FILTERS = ("archived", "startTime", "endTime", "currency", "number", "enabled", "platformId", "platformGroupId",
           "platformGroupName", "profileId", "userId", "type", "uuid", "platform")
EXPANSIONS = ("platform", "profile", "contacts", "metrics")
SORTS = ("accountId", "archived", "createTime", "enabled", "number", "trades")
FIRST_NAMES = ("Anna", "Boris", "Chen", "Dana", "Emre", "Farah", "Goran", "Hana", "Ivan", "Julia", "Kofi", "Lena")
LAST_NAMES = ("Novak", "Silva", "Okafor", "Meyer", "Tanaka", "Rossi", "Kowalski", "Haddad", "Larsen", "Petrov")
COUNTRIES = ("CY", "DE", "AE", "GB", "PL", "TH", "BR", "ZA")


def object_id(rng: random.Random) -> str:
    """A 24-hex identifier like B2Core's."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def money_text(value: Decimal | str, currency: str) -> str:
    """Crypto with 18 decimals (as B2Core writes them), fiat with 2. Text is sent as it is (a test
    stores a hostile server's number text, such as "1e999999999", with `set_money_text`)."""
    if isinstance(value, str):
        return value
    places = 18 if currency in CRYPTO else 2
    return f"{value:.{places}f}"


def truthy(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    return None


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


class B2CoreSim:
    """The simulated IB back office (state on the simulator's loop: `B2CoreControl` reaches it)."""

    def __init__(self, *, accounts: int = 400, token_ttl: float = 3600, expires_in_unit: str = "s",
                 envelope: str = "data", max_limit: int = 1000, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.token_ttl = float(token_ttl)
        self.expires_in_unit = expires_in_unit
        self.envelope = envelope
        self.max_limit = max_limit
        self.tokens: dict[str, tuple[float, bool]] = {}  # token -> (expiry, may write)
        self.platforms: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self.trades: dict[str, int] = {}
        #: Counts changes to the accounts: the sorted, filtered list is kept while it stays the same
        #: (sorting 50,000 accounts for each page would make the simulator the bottleneck).
        self.version = 0
        self._listing: tuple[Any, list[dict[str, Any]]] | None = None
        self._build(accounts)

    # -- data ------------------------------------------------------------------------------------

    def _build(self, count: int) -> None:
        rng = self.rng
        for name, short in PLATFORMS:
            platform_id = object_id(rng)
            self.platforms[platform_id] = {"id": platform_id, "name": name, "short": short}
            for currency in CURRENCIES:
                for tier in ("STD", "PRO"):
                    group_id = object_id(rng)
                    self.groups[group_id] = {"id": group_id, "platformId": platform_id, "currency": currency,
                                             "name": f"{short}-{currency}-{tier}"}
        for _ in range(max(10, count // 3)):
            profile_id = object_id(rng)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            self.profiles[profile_id] = {
                "profileId": profile_id, "userId": object_id(rng), "firstName": first, "lastName": last,
                "country": rng.choice(COUNTRIES),
                "contacts": {"email": f"{first}.{last}{rng.randint(1, 999)}@example.com".lower(),
                             "phone": f"+357{rng.randint(10_000_000, 99_999_999)}"},
            }
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        profiles = list(self.profiles)  # listed once: an IB of 50,000 accounts must start in seconds
        groups = {currency: [g for g in self.groups.values() if g["currency"] == currency] for currency in CURRENCIES}
        for index in range(count):
            currency = rng.choices(list(CURRENCIES), [share for share, _ in CURRENCIES.values()])[0]
            group = rng.choice(groups[currency])
            created = start + timedelta(hours=index * 7 + rng.randint(0, 6))
            account = self._new_account(
                number=str((100000 if index % 2 else 5000000) + index), platform_id=group["platformId"],
                group=group, profile_id=rng.choice(profiles),
                account_type=index % TYPE_COUNT if index < TYPE_COUNT * 2 else rng.randrange(TYPE_COUNT),
                created=created)
            account["archived"] = rng.random() < 0.1
            account["enabled"] = rng.random() < 0.9
            account["environment"] = "demo" if rng.random() < 0.25 else "production"
            account["uuid"] = str(uuidlib.UUID(int=rng.getrandbits(128))) if rng.random() < 0.3 else None
            self._fund(account, rng)
            self.trades[account["accountId"]] = rng.randint(0, 500)

    def _new_account(self, *, number: str, platform_id: str, group: dict[str, Any], profile_id: str,
                     account_type: int, created: datetime) -> dict[str, Any]:
        account_id = object_id(self.rng)
        while account_id in self.accounts:
            account_id = object_id(self.rng)
        account: dict[str, Any] = {
            "accountId": account_id, "platformId": platform_id,
            "platformName": self.platforms[platform_id]["name"], "platformGroupId": group["id"],
            "platformGroupName": group["name"], "profileId": profile_id, "number": number,
            "type": account_type, "archived": False, "enabled": True, "environment": "production",
            "currency": group["currency"], **{name: Decimal(0) for name in MONEY}, "uuid": None,
            "createTime": iso(created), "updateTime": iso(created),
        }
        self.accounts[account_id] = account
        self.trades[account_id] = 0
        self.version += 1
        return account

    def _amount(self, currency: str, scale: float, rng: random.Random) -> Decimal:
        if currency == "BTC":
            # 18 significant decimals: the digits a float would lose.
            return Decimal(rng.randint(0, int(scale * 10**18))) / Decimal(10**18)
        return Decimal(rng.randint(0, int(scale * 100))) / 100

    def _fund(self, account: dict[str, Any], rng: random.Random) -> None:
        currency = account["currency"]
        typical = CURRENCIES[currency][1]
        deposits = self._amount(currency, typical * 2, rng) + Decimal(1)
        withdrawals = -self._amount(currency, float(deposits) * 0.4, rng)
        profit = self._amount(currency, typical * 0.3, rng) - self._amount(currency, typical * 0.2, rng)
        account.update(
            deposits=deposits, withdrawals=withdrawals, profit=profit,
            commission=-self._amount(currency, typical * 0.01, rng),
            swap=self._amount(currency, typical * 0.005, rng) - self._amount(currency, typical * 0.005, rng),
            credit=self._amount(currency, typical * 0.1, rng) if rng.random() < 0.15 else Decimal(0),
        )
        self._settle(account)

    @staticmethod
    def _settle(account: dict[str, Any]) -> None:
        account["balance"] = account["deposits"] + account["withdrawals"] + account["profit"] + \
            account["commission"] + account["swap"]
        account["pnl"] = account["profit"] + account["commission"] + account["swap"]
        account["equity"] = account["balance"] + account["credit"]

    def step(self) -> None:
        """Drift: some live accounts trade (profit moves), a few deposit."""
        live = [a for a in self.accounts.values() if not a["archived"] and a["enabled"]]
        if not live:
            return
        for account in self.rng.sample(live, max(1, len(live) // 20)):
            currency = account["currency"]
            typical = CURRENCIES[currency][1] * 0.01
            move = self._amount(currency, typical, self.rng) - self._amount(currency, typical, self.rng)
            account["profit"] += move
            if self.rng.random() < 0.1:
                account["deposits"] += self._amount(currency, typical * 10, self.rng)
            self._settle(account)
            self.trades[account["accountId"]] += 1
            account["updateTime"] = iso(datetime.now(timezone.utc))
        self.version += 1

    # -- tokens ----------------------------------------------------------------------------------

    def issue_token(self, ttl: float | None = None, *, may_write: bool = True) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (time.monotonic() + (self.token_ttl if ttl is None else ttl), may_write)
        return token

    def expire_all_tokens(self) -> None:
        self.tokens.clear()

    async def _token_reply(self, request: web.Request) -> web.Response:
        header = request.headers.get("authorization") or ""
        try:
            client_id, _, client_secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        users = {CLIENT_ID: (CLIENT_SECRET, True), READONLY_CLIENT_ID: (READONLY_CLIENT_SECRET, False)}
        if not header.startswith("Basic ") or users.get(client_id, ("", False))[0] != client_secret \
                or not client_secret:
            return json_reply({"error": "invalid_client", "message": "Client authentication failed"}, 401)
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return json_reply({"error": "unsupported_grant_type",
                               "message": "The authorization grant type is not supported"}, 400)
        token = self.issue_token(may_write=users[client_id][1])
        reply: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in_unit == "s":
            reply["expires_in"] = int(self.token_ttl)
        elif self.expires_in_unit == "ms":
            reply["expires_in"] = int(self.token_ttl * 1000)
        return json_reply(reply)

    def _authorised(self, request: web.Request) -> bool | None:
        """None: no valid token; else whether the token may write."""
        header = request.headers.get("authorization") or ""
        if not header.startswith("Bearer "):
            return None
        entry = self.tokens.get(header[7:])
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self.tokens[header[7:]]
            return None
        return entry[1]

    # -- HTTP ------------------------------------------------------------------------------------

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(f"{PREFIX}/tokens", self._token_reply)
        router.add_get(f"{PREFIX}/accounts", self._guarded(self._list_reply))
        router.add_post(f"{PREFIX}/accounts", self._guarded(self._create_reply))
        router.add_get(f"{PREFIX}/accounts/{{id}}/metrics", self._guarded(self._metrics_reply))
        router.add_get(f"{PREFIX}/accounts/{{id}}", self._guarded(self._detail_reply))
        router.add_put(f"{PREFIX}/accounts/{{id}}", self._guarded(self._update_reply))
        router.add_patch(f"{PREFIX}/accounts/{{id}}", self._guarded(self._update_reply))
        router.add_delete(f"{PREFIX}/accounts/{{id}}", self._guarded(self._delete_reply))
        router.add_route("*", "/{tail:.*}", self._unrouted)

    def _guarded(self, handler: Any) -> Any:
        """`handler` behind the bearer token (401 without a valid one, 403 for a read-only token's
        writes) and, for /accounts/{id}, the account's existence (404)."""

        async def guarded(request: web.Request) -> web.Response:
            may_write = self._authorised(request)
            if may_write is None:
                return json_reply({"message": "Unauthenticated."}, 401)
            if request.method in ("POST", "PUT", "PATCH", "DELETE") and not may_write:
                return json_reply({"message": "This action is unauthorized."}, 403)
            if "id" in request.match_info:
                account = self.accounts.get(request.match_info["id"])
                if account is None:
                    return json_reply({"message": f"Account {request.match_info['id']} not found"}, 404)
                return await handler(request, account)
            return await handler(request)

        return guarded

    async def _unrouted(self, request: web.Request) -> web.Response:
        if not request.path.startswith(f"{PREFIX}/accounts"):
            return json_reply({"message": f"Route {request.path} not found"}, 404)
        if self._authorised(request) is None:
            return json_reply({"message": "Unauthenticated."}, 401)
        return json_reply({"message": f"The {request.method} method is not supported for this route."}, 405)

    async def _list_reply(self, request: web.Request) -> web.Response:
        return self._list(dict(request.query))

    async def _create_reply(self, request: web.Request) -> web.Response:
        return self._create(await json_body(request))

    async def _metrics_reply(self, request: web.Request, account: dict[str, Any]) -> web.Response:
        return json_reply({"total": 1, "metrics": [{"key": "trades", "value": self.trades[account["accountId"]]}]})

    async def _detail_reply(self, request: web.Request, account: dict[str, Any]) -> web.Response:
        return json_reply(self._public(account, dict(request.query)))

    async def _update_reply(self, request: web.Request, account: dict[str, Any]) -> web.Response:
        return self._update(account, await json_body(request), partial=request.method == "PATCH")

    async def _delete_reply(self, request: web.Request, account: dict[str, Any]) -> web.Response:
        del self.accounts[account["accountId"]]
        self.version += 1
        return web.Response(status=204, content_type="application/json")

    def _public(self, account: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        currency = account["currency"]
        out = {key: (money_text(value, currency) if key in MONEY else value) for key, value in account.items()}
        wanted = {name for name in EXPANSIONS if truthy(query.get(f"query[{name}]", "0"))}
        profile = self.profiles.get(account["profileId"])
        if "platform" in wanted:
            platform = self.platforms[account["platformId"]]
            out["platform"] = {"id": platform["id"], "name": platform["name"], "type": platform["short"].lower()}
        if "profile" in wanted and profile:
            out["profile"] = {k: profile[k] for k in ("profileId", "userId", "firstName", "lastName", "country")}
        if "contacts" in wanted and profile:
            out["contacts"] = dict(profile["contacts"])
        if "metrics" in wanted:
            out["metrics"] = [{"key": "trades", "value": self.trades[account["accountId"]]}]
        return out

    def _matches(self, account: dict[str, Any], name: str, value: str) -> bool | None:
        """Whether `account` passes filter[name]=value (None: the value is invalid)."""
        if name in ("archived", "enabled"):
            wanted = truthy(value)
            return None if wanted is None else account[name] is wanted
        if name == "type":
            return int(value) == account["type"] if value.lstrip("-").isdigit() else None
        if name in ("startTime", "endTime"):
            try:
                moment = datetime.fromisoformat(value.replace(" ", "+").replace("Z", "+00:00"))
            except ValueError:
                return None
            created = datetime.fromisoformat(account["createTime"])
            return created >= moment if name == "startTime" else created <= moment
        if name == "userId":
            profile = self.profiles.get(account["profileId"])
            return profile is not None and profile["userId"] == value
        if name == "platform":
            platform = self.platforms[account["platformId"]]
            return value.lower() in (platform["id"], platform["name"].lower(), platform["short"].lower())
        return str(account.get(name)) == value

    def _list(self, query: dict[str, str]) -> web.Response:
        filters = {key[7:-1]: value for key, value in query.items() if key.startswith("filter[") and key.endswith("]")}
        if "type" in query:  # the documented example also sends type=2 bare
            filters.setdefault("type", query["type"])
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            return json_reply({"message": f"Unknown filter: {', '.join(unknown)}"}, 400)
        errors: dict[str, list[str]] = {}
        sort_by = query.get("sort_by", "createTime")
        sort_order = query.get("sort_order", "asc")
        if sort_by not in SORTS:
            errors["sort_by"] = [f"The selected sort_by is invalid (one of {', '.join(SORTS)})."]
        if sort_order not in ("asc", "desc"):
            errors["sort_order"] = ["The selected sort_order is invalid (asc or desc)."]
        limit, offset = query.get("limit", "50"), query.get("offset", "0")
        if not limit.isdigit() or int(limit) < 1:
            errors["limit"] = ["The limit must be a positive integer."]
        if not offset.isdigit():
            errors["offset"] = ["The offset must be an integer of at least 0."]
        if errors:
            return json_reply({"message": "The given data was invalid.", "errors": errors}, 422)
        listing = (self.version, tuple(sorted(filters.items())), sort_by, sort_order)
        if self._listing is not None and self._listing[0] == listing:
            rows = self._listing[1]
        else:
            rows = self._sorted(filters, sort_by, sort_order)
            if isinstance(rows, web.Response):
                return rows
            self._listing = (listing, rows)
        size = min(int(limit), self.max_limit)  # larger pages are cut silently, as servers do
        page = [self._public(a, query) for a in rows[int(offset):int(offset) + size]]
        if self.envelope == "bare":
            return json_reply(page)
        if self.envelope == "data_no_total":
            return json_reply({"data": page})
        return json_reply({"data": page, "total": len(rows)})

    def _sorted(self, filters: dict[str, str], sort_by: str, sort_order: str) -> list[dict[str, Any]] | web.Response:
        """The accounts the filters keep, in the asked order (or the 422 reply to a bad filter value)."""
        rows = list(self.accounts.values())
        for name, value in filters.items():
            kept = []
            for account in rows:
                verdict = self._matches(account, name, value)
                if verdict is None:
                    return json_reply({"message": "The given data was invalid.",
                                       "errors": {f"filter.{name}": [f"The filter {name} value {value!r} is invalid."]}},
                                      422)
                if verdict:
                    kept.append(account)
            rows = kept
        rows.sort(key=lambda a: (self._sort_key(a, sort_by), a["accountId"]), reverse=sort_order == "desc")
        return rows

    def _sort_key(self, account: dict[str, Any], field: str) -> Any:
        if field == "trades":
            return self.trades[account["accountId"]]
        if field == "number":
            number = account["number"]
            return (0, int(number), "") if number.isdigit() else (1, 0, number)
        return account[field]

    def _create(self, body: Any) -> web.Response:
        if not isinstance(body, dict):
            return json_reply({"message": "The request body must be a JSON object."}, 400)
        errors: dict[str, list[str]] = {}
        number, platform_id, profile_id = body.get("number"), body.get("platformId"), body.get("profileId")
        if not isinstance(number, str) or not number.strip():
            errors["number"] = ["The number field is required."]
        elif not number.isdigit():
            errors["number"] = ["The number must contain digits only."]
        if not platform_id:
            errors["platformId"] = ["The platform id field is required."]
        elif platform_id not in self.platforms:
            errors["platformId"] = ["The selected platform id is invalid."]
        if not profile_id:
            errors["profileId"] = ["The profile id field is required."]
        elif profile_id not in self.profiles:
            errors["profileId"] = ["The selected profile id is invalid."]
        if "enabled" in body and not isinstance(body["enabled"], bool):
            errors["enabled"] = ["The enabled field must be true or false."]
        if "number" not in errors and "platformId" not in errors and any(
                a["number"] == number and a["platformId"] == platform_id for a in self.accounts.values()):
            errors["number"] = ["The number has already been taken on this platform."]
        if errors:
            return json_reply({"message": "The given data was invalid.", "errors": errors}, 422)
        group = next(g for g in self.groups.values() if g["platformId"] == platform_id and g["currency"] == "USD")
        account = self._new_account(number=number, platform_id=platform_id, group=group, profile_id=profile_id,
                                    account_type=0, created=datetime.now(timezone.utc))
        account["enabled"] = body.get("enabled", True)
        account["uuid"] = body.get("uuid")
        return json_reply(self._public(account, {}), 201)

    def _update(self, account: dict[str, Any], body: Any, *, partial: bool) -> web.Response:
        if not isinstance(body, dict):
            return json_reply({"message": "The request body must be a JSON object."}, 400)
        errors: dict[str, list[str]] = {}
        changes: dict[str, Any] = {}
        if "number" in body:
            number = body["number"]
            if not isinstance(number, str) or not number.isdigit():
                errors["number"] = ["The number must contain digits only."]
            elif any(a["number"] == number and a["platformId"] == account["platformId"]
                     and a is not account for a in self.accounts.values()):
                errors["number"] = ["The number has already been taken on this platform."]
            else:
                changes["number"] = number
        elif not partial:
            errors["number"] = ["The number field is required."]
        if "enabled" in body:
            value = body["enabled"]
            enabled = value if isinstance(value, bool) else truthy(value) if isinstance(value, str) else None
            if enabled is None:
                errors["enabled"] = ["The enabled field must be true or false."]
            else:
                changes["enabled"] = enabled
        if "uuid" in body:
            changes["uuid"] = body["uuid"]
        if errors:
            return json_reply({"message": "The given data was invalid.", "errors": errors}, 422)
        account.update(changes, updateTime=iso(datetime.now(timezone.utc)))
        self.version += 1
        return json_reply(self._public(account, {}))



class B2CoreControl(HttpControl):
    """The B2Core simulator's handle: its accounts, profiles and platforms, money (also as raw
    text), tokens; faults, the request log and pausing the drift come from `HttpControl`."""

    _state: B2CoreSim

    @on_loop
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every account by id as the simulator holds it (money as Decimal, or the text given to
        `set_money_text`)."""
        return copy.deepcopy(self._state.accounts)

    @on_loop
    def snapshot(self, account_id: str) -> dict[str, Any]:
        """The account as the API would answer it now (money as strings)."""
        return self._state._public(self._state.accounts[account_id], {})

    @on_loop
    def profiles(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._state.profiles)

    @on_loop
    def platforms(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._state.platforms)

    @on_loop
    def trades(self, account_id: str) -> int:
        return self._state.trades[account_id]

    @on_loop
    def set_trades(self, account_id: str, count: int) -> None:
        self._state.trades[account_id] = count
        self._state.version += 1

    @on_loop
    def set_account(self, account_id: str, **fields: Any) -> None:
        """Change fields of the account as stored (number, currency, platformName, enabled...)."""
        self._state.accounts[account_id].update(fields)
        self._state.version += 1

    @on_loop
    def copy_account(self, account_id: str, new_id: str, **fields: Any) -> None:
        """Store a copy of the account under `new_id` (its accountId unchanged: a duplicate record)."""
        self._state.accounts[new_id] = {**self._state.accounts[account_id], **fields}
        self._state.version += 1

    @on_loop
    def remove_account(self, account_id: str) -> None:
        del self._state.accounts[account_id]
        self._state.version += 1

    @on_loop
    def set_profile(self, profile_id: str, **fields: Any) -> None:
        self._state.profiles[profile_id].update(fields)
        self._state.version += 1

    @on_loop
    def set_money(self, account_id: str, **values: str) -> None:
        """Set money fields of the account to these decimal values (it keeps drifting from them)."""
        self._state.accounts[account_id].update({key: Decimal(value) for key, value in values.items()})
        self._state.version += 1

    @on_loop
    def set_money_text(self, account_id: str, **texts: str) -> None:
        """Send these money fields of the account as the exact text given (a hostile server's
        "1e999999999"); the account is disabled, so it stops drifting."""
        self._state.accounts[account_id].update(texts, enabled=False)
        self._state.version += 1

    @on_loop
    def issue_token(self, ttl: float | None = None, *, may_write: bool = True) -> str:
        return self._state.issue_token(ttl, may_write=may_write)

    @on_loop
    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next call is answered 401)."""
        self._state.expire_all_tokens()


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    values = check_settings(SETTINGS, settings, "b2core")
    sim = B2CoreSim(accounts=values["accounts"], token_ttl=values["token_ttl"],
                    expires_in_unit=values["expires_in_unit"], envelope=values["envelope"],
                    max_limit=values["max_limit"], seed=values["seed"])
    server = HttpSimulator(faults=Faults.from_settings(values), seed=values["seed"])
    sim.routes(server.router)
    server.every(values["interval"], sim.step)
    if values["expire_tokens"]:
        server.every(values["expire_tokens"], sim.expire_all_tokens, market=False)
    base_url = await server.listen(host, tls=tls_context(values["tls_cert"], values["tls_key"])) + PREFIX
    return RunningSimulator(
        provider="b2core", endpoints={"api": base_url},
        connections=[{"name": "B2Core demo", "provider": "b2core", "base_url": base_url,
                      "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
        stop=server.stop, control=B2CoreControl(server, sim),
    )
