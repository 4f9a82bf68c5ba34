"""Shared HTTP client set-up for REST providers (httpx is imported only when a client is made)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ibmon import __version__
from ibmon.errors import ProviderError
from ibmon.secrets import redact

if TYPE_CHECKING:  # pragma: no cover
    import httpx

USER_AGENT = f"ibmon/{__version__}"


def async_client(base_url: str = "", *, timeout: float = 20.0, verify: bool = True,
                 headers: dict[str, str] | None = None, max_connections: int = 4,
                 **kwargs: Any) -> "httpx.AsyncClient":
    """An httpx.AsyncClient with ibmon's defaults: a User-Agent, a timeout and a small per-host
    connection pool (httpx slows sharply with many concurrent requests on one client)."""
    import httpx

    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    return httpx.AsyncClient(
        base_url=base_url, timeout=timeout, verify=verify, headers=merged,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        **kwargs,
    )


def transport_error(exc: Exception, what: str) -> ProviderError:
    """A ProviderError for a network failure (refused, timeout, TLS...), with URLs redacted."""
    kind = type(exc).__name__
    detail = str(exc).strip()
    return ProviderError(redact(f"{what}: {kind}{': ' + detail if detail else ''}"))
