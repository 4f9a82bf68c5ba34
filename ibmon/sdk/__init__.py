"""The plugin SDK: everything a provider plugin may use of the host, in one import.

    from ibmon.sdk import Account, Option, Provider, ProviderError, Session, dec, hookimpl

A plugin imports the host only from here, from `ibmon.sdk.ui` (its screens), from `ibmon.simkit`
(its simulator) and from `ibmon.testing` (its tests); every other `ibmon` module is internal and may
change. tests/core/test_sdk_edge.py holds the first-party plugins to that.

What is here:

* the plugin API (`ibmon.api`, all of it): Provider, Session, Sink, ConnectionContext, Action,
  ScreenSpec, ScreenContext, Simulator, RunningSimulator, Command, ThemeSpec...;
* `hookimpl`, the marker of a plugin's hook implementations (`ibmon.hookspecs` documents the hooks);
* the records (`Account`, `Position`, `Tick`, `LeadCounts`, `extra()`) and money (`dec`,
  `dec_or_none`, `from_cents`, `loads`: Decimal, never float; `with_places`: a price
  with its instrument's decimal places);
* options (`Option`, rules `one_of` / `requires`, the shared declarations `TLS_VERIFY`,
  `REQUEST_TIMEOUT`, `WALK_LIMITS`) and secrets (`Secret`, `reveal`, `redact`, `MASK`);
* errors (`ProviderError`, `AuthError`, `RateLimited`, `ConfigError`, `describe_exception`);
* safe text (`safe_text`: anything from a provider, fit for the terminal);
* the HTTP kit (`HttpClient`, `Token`, `TokenRenewal`, `basic_auth`, `error_text`, `login_refused`...),
  paging (`Walk`, `OffsetWalk`, `Walked`, `WalkLimits`, `Changes`) and mapping (`map_each`, `map_one`, `Rejected`: one bad
  item never stops the others).

Importing it is cheap: no Textual, httpx, websockets or aiohttp (the HTTP kit imports httpx when a
client is made).
"""

from ibmon import __version__, hookimpl
from ibmon import api as _api
from ibmon.api import *  # noqa: F403  every public name of the plugin API (ibmon.api.__all__)
from ibmon.errors import AuthError, ConfigError, IbmonError, ProviderError, RateLimited, describe_exception
from ibmon.http import (MAX_REPLY_BYTES, USER_AGENT, HttpClient, ReplyTooLarge, Token, TokenRenewal, basic_auth,
                        error_text, login_refused, rate_limit, retry_after, transport_error)
from ibmon.mapping import Rejected, map_each, map_one
from ibmon.model import MONEY_FIELDS, Account, LeadCounts, Position, Side, Tick, extra, format_age
from ibmon.money import dec, dec_or_none, from_cents, loads, with_places
from ibmon.options import (MAX_PAGES, MAX_RECORDS, REQUEST_TIMEOUT, TLS_OFF_NOTE, TLS_VERIFY, WALK_LIMITS, Option,
                           Rule, apply_options, check_options, one_of, requires)
from ibmon.paging import Changes, OffsetWalk, Walk, Walked, WalkLimits
from ibmon.safe import safe_text
from ibmon.secrets import MASK, Secret, redact, reveal

__all__ = sorted({
    *_api.__all__,
    "__version__", "hookimpl",
    "AuthError", "ConfigError", "IbmonError", "ProviderError", "RateLimited", "describe_exception",
    "MAX_REPLY_BYTES", "USER_AGENT", "HttpClient", "ReplyTooLarge", "Token", "TokenRenewal", "basic_auth",
    "error_text", "login_refused", "rate_limit", "retry_after", "transport_error",
    "Rejected", "map_each", "map_one",
    "MONEY_FIELDS", "Account", "LeadCounts", "Position", "Side", "Tick", "extra", "format_age",
    "dec", "dec_or_none", "from_cents", "loads", "with_places",
    "MAX_PAGES", "MAX_RECORDS", "REQUEST_TIMEOUT", "TLS_OFF_NOTE", "TLS_VERIFY", "WALK_LIMITS", "Option",
    "Rule", "apply_options", "check_options", "one_of", "requires",
    "Changes", "OffsetWalk", "Walk", "Walked", "WalkLimits",
    "safe_text",
    "MASK", "Secret", "redact", "reveal",
})
