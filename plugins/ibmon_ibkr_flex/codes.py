"""Every Flex Web Service error code: what it means for the user and what the client does about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ibmon.sdk import AuthError, ProviderError, RateLimited

#: wait: not ready yet, ask again after a growing delay; busy: too many requests, wait longer;
#: auth: the token is refused (the user must make a new one); fatal: the query or set-up is wrong,
#: retrying will not help; later: a passing failure, the next poll tries again.
Handling = Literal["wait", "busy", "auth", "fatal", "later"]

NEW_TOKEN = ("generate a new token in Client Portal (Performance & Reports > Flex Queries > "
             "Flex Web Service Configuration) and put it in the connection's token")


@dataclass(frozen=True)
class FlexCode:
    code: str
    message: str
    handling: Handling


CODES: dict[str, FlexCode] = {entry.code: entry for entry in (
    FlexCode("1001", "IB could not generate the statement at this time; the next poll tries again", "later"),
    FlexCode("1003", "the statement is not available; check the Flex query's period and accounts", "later"),
    FlexCode("1004", "the statement is incomplete at this time", "wait"),
    FlexCode("1005", "settlement data is not ready yet", "wait"),
    FlexCode("1006", "FIFO P/L data is not ready yet", "wait"),
    FlexCode("1007", "MTM P/L data is not ready yet", "wait"),
    FlexCode("1008", "MTM and FIFO P/L data are not ready yet", "wait"),
    FlexCode("1009", "IB's server is under heavy load", "wait"),
    FlexCode("1010", "legacy Flex queries are not supported: create an Activity Flex query in Client Portal "
                     "and use its query id", "fatal"),
    FlexCode("1011", "the Flex Web Service is inactive for this account: activate it in Client Portal "
                     "(Flex Web Service Configuration)", "fatal"),
    FlexCode("1012", f"the Flex token has expired: {NEW_TOKEN}", "auth"),
    FlexCode("1013", "IP restriction: the token only works from the IP address it was restricted to; "
                     f"{NEW_TOKEN} with this machine's IP address or without an IP restriction", "auth"),
    FlexCode("1014", "the query id is invalid: use the Query ID shown next to the Flex query in Client Portal", "fatal"),
    FlexCode("1015", f"the Flex token is invalid: {NEW_TOKEN}", "auth"),
    FlexCode("1016", "the account is invalid: check the accounts selected in the Flex query", "fatal"),
    FlexCode("1017", "the reference code is invalid or expired; the next poll requests a new statement", "later"),
    FlexCode("1018", "too many requests: IB allows 1 request per second and 10 per minute per token", "busy"),
    FlexCode("1019", "statement generation in progress", "wait"),
    FlexCode("1020", "IB found the request invalid or could not validate it: check the token and query id", "fatal"),
    FlexCode("1021", "the statement could not be retrieved at this time; the next poll tries again", "later"),
)}


def handling(code: str) -> Handling:
    entry = CODES.get(code)
    return entry.handling if entry else "later"


def error_for(code: str, ib_message: str = "", *, waited: float | None = None,
              retry_after: float | None = None) -> ProviderError:
    """The error to raise for `code`: our message (IB's own text for a code we do not know);
    RateLimited for a "busy" code when `retry_after` says how long the token must rest."""
    entry = CODES.get(code)
    if entry is None:
        text = f"IB Flex error {code}: {ib_message or 'no message'}"
        return ProviderError(text, code=code)
    text = f"IB Flex {code}: {entry.message}"
    if waited is not None:
        text += f" (still so after waiting {waited:.0f} s)"
    if entry.handling == "auth":
        return AuthError(text, code=code)
    if entry.handling == "busy" and retry_after is not None:
        return RateLimited(text, retry_after=retry_after, code=code)
    return ProviderError(text, code=code, permanent=entry.handling == "fatal")
