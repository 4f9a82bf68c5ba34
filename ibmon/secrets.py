"""Secret values and their redaction.

Every secret a config resolves is wrapped in `Secret` (whose repr and str never show it) and
remembered here, so `redact()` can scrub it from any text before that text reaches the screen, a log,
an error message or a snapshot. URLs get their credential-bearing query parameters masked too.

What is masked, for every remembered value:

- the value itself and the forms it travels in: percent-encoded (as `quote` and `quote_plus` write
  it, in upper- or lower-case hex), JSON-escaped (with or without `\\u` escapes and `\\/`),
  HTML-escaped, and base64;
- for a pair registered with `remember_basic(user, secret)`: the base64 `user:secret` of an HTTP
  Basic `Authorization` header (and its form-urlencoded variant), in those forms too.

Length: a form of 4 or more characters is masked wherever it appears, inside words too. A shorter
one (a 1-3 character password or PIN) is masked only where it stands as a whole token, not touching
a letter, digit or underscore: `ab` is masked in "login ab refused" and "pw=ab&", never in "about".

Renewed tokens: a client that replaces a token calls `replaced(old, new)`. The old value stays
masked for `RENEWED_KEEP_SECONDS` (replies and log lines about requests sent with it may still come),
then it is forgotten, so the registry holds the live secrets and the last hour's tokens, not every
token a long session has seen.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

MASK = "***"
#: How long a replaced token stays masked before the registry forgets it.
RENEWED_KEEP_SECONDS = 3600.0
#: Forms shorter than this are masked only as whole tokens.
WHOLE_TOKEN_BELOW = 4

#: Monotonic clock for the forgetting of replaced tokens (tests may replace it).
clock = time.monotonic

# Query parameters that carry credentials in the providers' URLs (access_token=..., t=...).
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:access_token|oauth_token|token|t|api_key|apikey|key|password|secret)=)[^&#\s\"']+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


class Secret:
    """A secret string. Call `reveal()` at the single place the value is sent to the provider."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)
        remember(self._value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def reveal(value: "Secret | str | None") -> str | None:
    """The plain value of a secret option (plain strings pass through)."""
    return value.reveal() if isinstance(value, Secret) else value


@dataclass(frozen=True)
class _Masks:
    """What `redact` applies, rebuilt whenever the registry changes (read without a lock)."""

    anywhere: tuple[str, ...] = ()  # longest first, so a form containing another is masked whole
    tokens: re.Pattern[str] | None = None
    next_expiry: float = float("inf")


#: Remembered value → when it is forgotten (None: never).
_values: dict[str, float | None] = {}
_forms_of: dict[str, frozenset[str]] = {}
_masks = _Masks()
_lock = threading.Lock()


def remember(value: "Secret | str | None") -> None:
    """Mask `value` (of any length) and its encoded forms from now on."""
    plain = reveal(value)
    if plain:
        _update([plain], expiry=None)


def remember_basic(user: str, secret: "Secret | str") -> None:
    """Mask `secret` and the HTTP Basic credentials of the pair: call it where an `Authorization:
    Basic` header is built from `user` and `secret` (the user id alone stays visible)."""
    plain = reveal(secret) or ""
    pairs = {f"{user}:{plain}", f"{quote_plus(user)}:{quote_plus(plain)}"}  # RFC 6749 2.3.1 encodes first
    encoded = set()
    for pair in pairs:
        for charset in ("utf-8", "latin-1"):
            try:
                encoded.add(base64.b64encode(pair.encode(charset)).decode("ascii"))
            except UnicodeEncodeError:
                pass
    _update([plain, *sorted(encoded)] if plain else sorted(encoded), expiry=None)


def replaced(old: "Secret | str | None", new: "Secret | str | None" = None, *,
             keep_seconds: float = RENEWED_KEEP_SECONDS) -> None:
    """A client renewed a token: `new` (if given) is masked from now on, and `old` is forgotten
    `keep_seconds` from now (unless it is remembered again before then)."""
    if new is not None:
        remember(new)
    plain = reveal(old)
    if plain and plain != reveal(new):
        _update([plain], expiry=clock() + max(0.0, keep_seconds))


def remembered() -> int:
    """How many values are masked now (renewed tokens drop out after their hour)."""
    _forget_expired()
    return len(_values)


def redact(text: object) -> str:
    """`text` as a string with every known secret (in each of its forms) and every credential in a
    URL masked."""
    masks = _masks
    if masks.next_expiry <= clock():
        masks = _forget_expired()
    out = str(text)
    for form in masks.anywhere:
        if form in out:
            out = out.replace(form, MASK)
    if masks.tokens is not None:
        out = masks.tokens.sub(MASK, out)
    out = _QUERY_SECRET.sub(r"\1" + MASK, out)
    return _USERINFO.sub(r"\1" + MASK + "@", out)


# -- the registry ------------------------------------------------------------------------------


def _update(values: Iterable[str], expiry: float | None) -> None:
    global _masks
    with _lock:
        changed = False
        for value in values:
            if value not in _values:
                _forms_of[value] = _forms(value)
                changed = True
            elif _values[value] != expiry:
                changed = True
            _values[value] = expiry
        if changed:
            _masks = _build()


def _forget_expired() -> _Masks:
    global _masks
    with _lock:
        now = clock()
        expired = [value for value, expiry in _values.items() if expiry is not None and expiry <= now]
        for value in expired:
            del _values[value]
            del _forms_of[value]
        if expired or _masks.next_expiry <= now:
            _masks = _build()
        return _masks


def _build() -> _Masks:
    forms = set().union(*_forms_of.values()) if _forms_of else set()
    anywhere = tuple(sorted((f for f in forms if len(f) >= WHOLE_TOKEN_BELOW), key=len, reverse=True))
    short = sorted((f for f in forms if len(f) < WHOLE_TOKEN_BELOW), key=len, reverse=True)
    tokens = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, short)) + r")(?!\w)") if short else None
    expiries = [expiry for expiry in _values.values() if expiry is not None]
    return _Masks(anywhere, tokens, min(expiries, default=float("inf")))


def _forms(value: str) -> frozenset[str]:
    """The value as it may travel: escaped for JSON and HTML, percent-encoded, base64."""
    forms = {value, html.escape(value)}
    for ascii_only in (True, False):
        escaped = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms |= {escaped, escaped.replace("/", "\\/")}
    bases = [value]
    if len(value) >= WHOLE_TOKEN_BELOW:  # a short value's base64 would match unrelated base64 text
        bases.append(base64.b64encode(value.encode()).decode("ascii"))
    for base in bases:
        forms |= {base, quote(base, safe=""), quote(base), quote_plus(base)}
    forms |= {_PERCENT_HEX.sub(lambda m: m.group(0).lower(), form) for form in forms if "%" in form}
    forms.discard("")
    return frozenset(forms)
