"""xAPI error replies (`status: false`) as typed errors with a hint of what to do."""

from __future__ import annotations

from ibmon.sdk import AuthError, ProviderError

#: What the user can do about the codes worth a hint (the server's description is always shown).
HINTS = {
    "BE005": "check user_id and password",
    "EX007": "this login/password pair is blocked for 10 minutes after a failed attempt: fix the password and wait",
    "EX004": "check user_id, password and app_name",
    "EX008": "too many connections from this address (at most 50): close other xAPI clients",
    "EX010": "the login is on the server's black list: contact the broker",
    "BE103": "the session is not logged in: it will log in again",
    "BE004": "the login is disabled: contact the broker",
}

#: Codes that retrying cannot fix without the user.
AUTH_CODES = frozenset({"BE005", "EX007", "EX004", "BE004", "EX010"})


class XapiError(ProviderError):
    """A `status: false` reply: `error_code` and `error_descr` as the server sent them."""

    def __init__(self, code: str, descr: str, *, permanent: bool = False) -> None:
        hint = HINTS.get(code)
        text = f"{descr} ({hint})" if hint else descr
        ProviderError.__init__(self, text, code=code, permanent=permanent)
        self.error_code = code
        self.error_descr = descr


class XapiAuthError(XapiError, AuthError):
    """Credentials refused or blocked: the connection shows an error until the user acts."""

    def __init__(self, code: str, descr: str) -> None:
        XapiError.__init__(self, code, descr, permanent=True)


class CommandTooLarge(ProviderError):
    """A command over the server's 1 kB limit, refused before it is sent."""


class ConnectionLost(ProviderError):
    """A connection closed or broke; the runtime reconnects."""


def error_from_reply(reply: dict) -> XapiError:
    code = str(reply.get("errorCode") or "UNKNOWN")
    descr = str(reply.get("errorDescr") or "the server refused the command")
    if code in AUTH_CODES:
        return XapiAuthError(code, descr)
    return XapiError(code, descr)
