"""B2Core account objects as ibmon records, and the names B2Core's numeric codes stand for; the
record its screen asks for on demand (one account's detail and metrics) and its request."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibmon.sdk import Account, Option, ProviderError, RequestSpec, dec, dec_or_none, extra

ACCOUNT_TYPES = {
    0: "default",
    1: "payment",
    2: "investment",
    3: "master",
    4: "B2Copy investment",
    5: "B2Copy master",
    6: "PAMM investment",
    7: "PAMM master",
    8: "MAM investment",
    9: "MAM master",
}

#: Money fields of the account object (decimal strings, up to 18 decimals).
MONEY_FIELDS = ("balance", "credit", "equity", "commission", "swap", "profit", "pnl", "deposits", "withdrawals")


def type_name(code: Any) -> str:
    try:
        return ACCOUNT_TYPES[int(code)]
    except (TypeError, ValueError, KeyError):
        return f"type {code}"


def yes_no(value: Any) -> str | None:
    return None if value is None else ("yes" if value else "no")


#: Facts and values many accounts share (a platform, a group, "enabled: yes", a zero credit), kept
#: once: 50,000 accounts would otherwise hold 400,000 equal small tuples. Bounded, whatever the
#: server sends; past the bound values are simply not shared.
_SHARED: dict[Any, Any] = {}
SHARED_MAX = 4096
#: Facts that differ for every account: never worth sharing. (The number is the account's name.)
OWN_FACTS = ("pnl",)


def shared(value: Any) -> Any:
    """An equal value kept before (the same object for every account), or `value`."""
    try:
        kept = _SHARED.get(value)
    except TypeError:  # not hashable: the check before the store names what is wrong with it
        return value
    if kept is not None and type(kept) is type(value):
        return kept
    if len(_SHARED) < SHARED_MAX:
        _SHARED[value] = value
    return value


def money(item: dict[str, Any], name: str) -> Decimal | None:
    value = dec_or_none(item.get(name), name)
    # Zeros are shared by their exact text (0.00 and 0E-18 stay apart); other amounts are each account's own.
    return shared((str(value), value))[1] if value is not None and not value else value


def account_key(item: dict[str, Any]) -> str | None:
    """The id `to_account` gives the account (None without an accountId)."""
    account_id = item.get("accountId")
    return str(account_id) if account_id else None


def to_account(item: dict[str, Any]) -> Account:
    """One account object as an `Account`: exact Decimals, the facts worth showing in `extra`."""
    account_id = item.get("accountId")
    if not account_id:
        raise ProviderError("B2Core sent an account without accountId")
    try:
        sent_balance = item.get("balance")
        balance = dec(sent_balance if sent_balance is not None else 0, "balance")
        return Account(
            id=str(account_id),
            balance=balance,
            currency=shared(item.get("currency") or None),
            # most accounts have no credit: their equity is their balance, and one Decimal serves both
            # (sent as the same value of the same type: an equity of true is never a balance of 1)
            equity=(balance if same_value(item.get("equity"), sent_balance) else money(item, "equity")),
            credit=money(item, "credit"),
            profit=money(item, "profit"),
            name=str(item.get("number") or account_id),
            extra=tuple(pair if pair[0] in OWN_FACTS else shared(pair) for pair in extra(
                platform=item.get("platformName"),
                platform_id=item.get("platformId"),
                group=item.get("platformGroupName"),
                type=type_name(item.get("type")),
                environment=item.get("environment"),
                enabled=yes_no(item.get("enabled")),
                archived=yes_no(item.get("archived")),
                pnl=money(item, "pnl"),
            )),
        )
    except ValueError as exc:  # dec() names the field; whoever shows this names the account
        raise ProviderError(str(exc)) from None


def same_value(value: Any, other: Any) -> bool:
    return other is not None and type(value) is type(other) and value == other


def facts(account: Account) -> dict[str, str]:
    """The account's facts by name: its number and what `to_account` put in `extra`."""
    return {"number": account.number, **dict(account.extra)}


#: Items of each part of an account's detail (the API's sections are small; a huge one is cut).
DETAIL_ITEMS = 200


@dataclass(frozen=True, slots=True)
class AccountDetail:
    """One account as GET accounts/{id} (expanded) and its metrics give it: `facts` the account's
    own text fields, `amounts` its money fields, `metrics` the metrics endpoint's figures and
    `sections` (section, key, value) of its platform, profile and contacts."""

    account_id: str
    facts: tuple[tuple[str, str], ...]
    amounts: tuple[tuple[str, Decimal | None], ...]
    metrics: tuple[tuple[str, str], ...]
    sections: tuple[tuple[str, str, str], ...]


DETAIL_FACTS = ("number", "platformName", "platformGroupName", "accountId", "profileId", "environment",
                "currency", "createTime", "updateTime", "uuid")


def to_detail(account_id: str, item: dict[str, Any], metrics: dict[str, Any]) -> AccountDetail:
    if not isinstance(item, dict):
        raise ProviderError(f"B2Core sent no account object for {account_id}")
    facts = [(key, str(item[key])) for key in DETAIL_FACTS if item.get(key) is not None]
    facts += [("type", type_name(item.get("type"))), ("enabled", yes_no(item.get("enabled")) or ""),
              ("archived", yes_no(item.get("archived")) or "")]
    sections = [(section, str(key), str(value)) for section in ("platform", "profile", "contacts")
                if isinstance(item.get(section), dict) for key, value in item[section].items()]
    return AccountDetail(
        account_id=account_id, facts=tuple(facts),
        amounts=tuple((name, money(item, name)) for name in MONEY_FIELDS),
        metrics=tuple((str(key), str(value)) for key, value in list(metrics.items())[:DETAIL_ITEMS]),
        sections=tuple(sections[:DETAIL_ITEMS]))


REQUESTS = (
    RequestSpec("b2core.account_detail", AccountDetail, "one account with its platform, profile, contacts "
                "and metrics", params=(Option("account_id", "str", required=True, help="the accountId"),)),
)


@dataclass(frozen=True)
class NewAccount:
    """What the add-account form sends (the target of the b2core.create action)."""

    number: str
    platform_id: str
    platform_name: str
    profile_id: str
