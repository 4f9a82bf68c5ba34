"""Secret values and their redaction.

Every secret a config resolves is wrapped in `Secret` (whose repr and str never show it) and
remembered here, so `redact()` can scrub it from any text before that text reaches the screen, a log,
an error message or a snapshot. URLs get their credential-bearing query parameters masked too.
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_known: set[str] = set()
#: The known secrets, longest first (so a secret containing another is masked whole).
_ordered: tuple[str, ...] = ()
_lock = threading.Lock()

# Query parameters that carry credentials in the providers' URLs (access_token=..., t=...).
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:access_token|oauth_token|token|t|api_key|apikey|key|password|secret)=)[^&#\s\"']+"
)
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")


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


def remember(value: str) -> None:
    """Register a value to be scrubbed by `redact` (values under 4 characters are too common to mask)."""
    global _ordered
    if value and len(value) >= 4 and value not in _known:
        with _lock:
            _known.add(value)
            _ordered = tuple(sorted(_known, key=len, reverse=True))


def redact(text: object) -> str:
    """`text` as a string with every known secret and every credential in a URL masked."""
    out = str(text)
    for value in _ordered:
        if value in out:
            out = out.replace(value, MASK)
    out = _QUERY_SECRET.sub(r"\1" + MASK, out)
    return _USERINFO.sub(r"\1" + MASK + "@", out)
