"""Secret values and their redaction.

Every secret a config resolves is wrapped in `Secret` (whose repr and str never show it) and
remembered here, so `redact()` can scrub it from any text before that text reaches the screen, a log,
an error message or a snapshot. URLs get their credential-bearing query parameters masked too.

What is masked, for every remembered value:

- the value itself and the forms it travels in: percent-encoded (as `quote` and `quote_plus` write
  it, in upper- or lower-case hex), JSON-escaped (with or without `\\u` escapes and `\\/`),
  HTML-escaped, and base64;
- for a pair registered with `remember_basic(user, secret)`: the base64 `user:secret` of an HTTP
  Basic `Authorization` header (and its form-urlencoded variant), in those forms too;
- any base64 token (raw, percent-encoded or with `\\/`) whose decoded bytes hold a remembered value
  of 5 or more bytes: so the Basic header of a pair nobody registered is masked whole as well.

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
from urllib.parse import quote, quote_plus, unquote

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
#: A run of base64 text, with the escapes of "+", "/" and "=" a URL or a JSON encoder may add.
_BASE64_RUN = re.compile(r"(?:[A-Za-z0-9+/=]|%(?:2[BbFf]|3[Dd])|\\/)+")
_BASE64_ESCAPE = re.compile(r"%(?:2[BbFf]|3[Dd])|\\/")
#: Values of fewer bytes are not looked for inside base64 (too many unrelated tokens would match).
BASE64_INSIDE_FROM = 5


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
    base64_cores: tuple[str, ...] = ()  # see `_base64_cores`
    next_expiry: float = float("inf")


#: Remembered value → when it is forgotten (None: never).
_values: dict[str, float | None] = {}
_forms_of: dict[str, frozenset[str]] = {}
_cores_of: dict[str, tuple[str, ...]] = {}
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


def forget(*values: "Secret | str") -> None:
    """Stop masking `values` now (a client that logged out, a test that made up a secret)."""
    plain = [v for v in map(reveal, values) if v]
    if plain:
        _update(plain, expiry=clock())


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
    out = _mask_base64(str(text), masks.base64_cores)
    for form in masks.anywhere:
        if form in out:
            out = out.replace(form, MASK)
    if masks.tokens is not None:
        out = masks.tokens.sub(MASK, out)
    out = _QUERY_SECRET.sub(r"\1" + MASK, out)
    return _USERINFO.sub(r"\1" + MASK + "@", out)


def shorten(text: object, limit: int, tail: str = "…") -> str:
    """`text` redacted, then cut to at most `limit` characters (ending in `tail` when cut). Always
    redact before cutting: a cut through a secret leaves a start that no longer matches it."""
    out = redact(text)
    return out if len(out) <= limit else out[: max(0, limit - len(tail))] + tail


# -- the registry ------------------------------------------------------------------------------


def _update(values: Iterable[str], expiry: float | None) -> None:
    global _masks
    with _lock:
        changed = _drop_expired()
        for value in values:
            if value not in _values:
                _forms_of[value] = _forms(value)
                _cores_of[value] = _base64_cores(value)
                changed = True
            elif _values[value] != expiry:
                changed = True
            _values[value] = expiry
        if changed:
            _masks = _build()


def _forget_expired() -> _Masks:
    global _masks
    with _lock:
        if _drop_expired():
            _masks = _build()
        return _masks


def _drop_expired() -> bool:
    """Forget the replaced tokens whose time is up (under the lock); True if any was."""
    if _masks.next_expiry > clock():
        return False
    now = clock()
    for value in [value for value, expiry in _values.items() if expiry is not None and expiry <= now]:
        del _values[value], _forms_of[value], _cores_of[value]
    return True


def _build() -> _Masks:
    forms = set().union(*_forms_of.values()) if _forms_of else set()
    anywhere = tuple(sorted((f for f in forms if len(f) >= WHOLE_TOKEN_BELOW), key=len, reverse=True))
    short = sorted((f for f in forms if len(f) < WHOLE_TOKEN_BELOW), key=len, reverse=True)
    tokens = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, short)) + r")(?!\w)") if short else None
    cores = tuple(sorted({core for cores in _cores_of.values() for core in cores}))
    expiries = [expiry for expiry in _values.values() if expiry is not None]
    return _Masks(anywhere, tokens, cores, min(expiries, default=float("inf")))


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


def _base64_cores(value: str) -> tuple[str, ...]:
    """The base64 characters that encode only `value`'s bytes, for each of the three alignments the
    value can have inside longer encoded bytes ("user:" + value in a Basic header): whatever
    precedes or follows it, the base64 of those bytes contains one of these."""
    data = value.encode()
    if len(data) < BASE64_INSIDE_FROM:
        return ()
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        first, last = 8 * offset, 8 * (offset + len(data))  # the bits that are the value's
        pure = [i for i in range(len(encoded)) if 6 * i >= first and 6 * i + 6 <= last]
        cores.append(encoded[pure[0]:pure[-1] + 1])
    return tuple(cores)


def _mask_base64(text: str, cores: tuple[str, ...]) -> str:
    """Mask every base64 run of `text` whose decoding holds a remembered value."""
    if not cores:
        return text
    raw_hit = any(core in text for core in cores)
    if not raw_hit and not _BASE64_ESCAPE.search(text):
        return text

    def run(match: re.Match[str]) -> str:
        found = match.group(0)
        if "%" in found or "\\" in found:
            plain = unquote(found.replace("\\/", "/"))
        elif raw_hit:
            plain = found
        else:
            return found
        return MASK if any(core in plain for core in cores) else found

    return _BASE64_RUN.sub(run, text)
