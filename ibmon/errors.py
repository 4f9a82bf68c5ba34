"""Errors a provider raises, and how the host tells them apart.

A plugin raises `ProviderError` (or a subclass) with a message meant for the user. The feed runtime
shows it on that connection's health line (redacted), backs off and tries again; nothing else stops.
"""

from __future__ import annotations

from ibmon.secrets import redact, shorten


class IbmonError(Exception):
    """An error with a message fit for one line on screen or stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


class ProviderError(IbmonError):
    """A provider refused or failed a request.

    `code` is the provider's own error code (e.g. "BE005", "CH_ACCESS_TOKEN_INVALID", "1019").
    `permanent` marks errors that retrying will not fix without the user (bad credentials, invalid
    query): the connection shows `error` and retries slowly instead of `reconnecting`.
    """

    def __init__(self, message: str, *, code: str | None = None, permanent: bool = False) -> None:
        super().__init__(f"{code}: {message}" if code and code not in message else message)
        self.code = code
        self.permanent = permanent


class AuthError(ProviderError):
    """Credentials were refused: the user must act (new token, right password)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, permanent=True)


class RateLimited(ProviderError):
    """The provider asked to wait (HTTP 429 / 503 with `Retry-After`, or a protocol's own limit).

    `retry_after` is how many seconds to wait before the next request (already capped by whoever
    raised it); the feed runtime waits at least that long and says so on the health line.
    """

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(0.0, float(retry_after))


class ConfigError(IbmonError):
    """The config (or a command line) is wrong. `problems` lists every mistake found, one line each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def describe_exception(exc: BaseException) -> str:
    """A short, redacted, one-line reason for any exception."""
    if isinstance(exc, IbmonError):
        text = exc.message
    else:
        detail = str(exc).strip()
        text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return shorten(" ".join(text.split()), 300, tail="...")


#: What the host catches around plugin code (imports, hooks, sessions, actions, screens, commands):
#: any exception, and the process exits a plugin must not take for the app (`sys.exit()` raises
#: SystemExit; a stray KeyboardInterrupt). A task's CancelledError is not among them.
PLUGIN_FAILURES: tuple[type[BaseException], ...] = (Exception, SystemExit, KeyboardInterrupt)
