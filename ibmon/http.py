"""Shared HTTP client set-up for REST providers (httpx is imported only when a client is made)."""

from __future__ import annotations

import asyncio
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


#: A reply larger than this is refused unread: a broken or hostile server must not fill the memory.
MAX_REPLY_BYTES = 32 * 1024 * 1024
#: Headers that describe the wire form of a body, not the decoded bytes a rebuilt response holds.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


async def bounded_request(http: "httpx.AsyncClient", method: str, url: str, what: str,
                          max_bytes: int | None = None, **kwargs: Any) -> "httpx.Response":
    """`http.request(...)` that reads at most `max_bytes` (MAX_REPLY_BYTES) of the body and raises
    ProviderError beyond; httpx errors propagate for the caller to describe."""
    import httpx

    limit = MAX_REPLY_BYTES if max_bytes is None else max_bytes
    async with http.stream(method, url, **kwargs) as reply:
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_big(what, limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_big(what, limit)
            chunks.append(chunk)
    headers = [(k, v) for k, v in reply.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    extensions = {k: v for k, v in reply.extensions.items() if k in ("reason_phrase", "http_version")}
    return httpx.Response(reply.status_code, headers=headers, content=b"".join(chunks), request=reply.request,
                          extensions=extensions)


def _too_big(what: str, limit: int) -> ProviderError:
    return ProviderError(f"{what}: refused a reply over {limit / 2**20:g} MB")


class PooledClient:
    """An httpx.AsyncClient (made on first use) that never queues more requests than its pool
    holds, bounds reply sizes, and starts a fresh pool after the pool itself failed.

    Requests left waiting for a pool slot while replies are slow can leave slots stuck for good
    (httpcore keeps them "connecting"); a semaphore in front keeps the waiting out of the pool, and
    a PoolTimeout or a connection error that still happens replaces the client, so a connection
    recovers when the server does.
    """

    def __init__(self, base_url: str = "", *, max_connections: int = 4, **client_options: Any) -> None:
        self._options = dict(client_options, base_url=base_url, max_connections=max_connections)
        self._slots = asyncio.Semaphore(max_connections)
        self._http: "httpx.AsyncClient | None" = None

    @property
    def http(self) -> "httpx.AsyncClient":
        if self._http is None:
            self._http = async_client(**self._options)
        return self._http

    async def request(self, method: str, url: str, what: str, **kwargs: Any) -> "httpx.Response":
        """One bounded request; transport failures become a redacted ProviderError naming `what`."""
        import httpx

        async with self._slots:
            try:
                return await bounded_request(self.http, method, url, what, **kwargs)
            except (httpx.PoolTimeout, httpx.ConnectError) as exc:
                await self.reset()
                raise transport_error(exc, what) from None
            except httpx.HTTPError as exc:
                raise transport_error(exc, what) from None

    async def reset(self) -> None:
        """Drop the pool; the next request opens a new one."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def aclose(self) -> None:
        await self.reset()
