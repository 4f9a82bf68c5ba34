"""A hostile REST server on loopback that refuses every request and echoes the credentials it was
sent back in its error message, in every form a careless server might: as received (the
`Authorization` header, the percent-encoded query, the raw JSON body), decoded (the `id:secret` of a
Basic header, the query values), percent-encoded again, and JSON-escaped.

Its error body carries the echo where each provider's client reads its error text: `message`
(B2Core, the CRM) and `error.description` (cTrader).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_plus, urlsplit

CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-auth-token")


def echo_of(method: str, target: str, headers: dict[str, str], body: bytes) -> str:
    """What the server says back about a request (lower-cased header names)."""
    parts = [f"{method} {target}"]
    for name in CREDENTIAL_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        parts += [f"{name}: {value}", f"{name} as sent in a URL: {quote(value, safe='')}",
                  f"{name} as JSON: {json.dumps(value)}"]
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(credentials, validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pair = credentials
            parts += [f"basic pair {pair}", f"basic pair as JSON {json.dumps(pair)}"]
    for item in urlsplit(target).query.split("&"):
        key, _, raw = item.partition("=")
        if raw:
            parts += [f"{key} was {raw}", f"decoded {key} {unquote_plus(raw)}",
                      f"{key} as JSON {json.dumps(unquote_plus(raw))}"]
    if body:
        parts.append(f"body {body.decode('utf-8', 'replace')}")
    return "; ".join(parts)


class EchoingServer:
    """Refuses every request with HTTP `status` and the echo; `requests` counts them."""

    def __init__(self, status: int = 401) -> None:
        self.requests = 0
        self.echoes: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _refuse(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                echo = echo_of(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                server.requests += 1
                server.echoes.append(echo)
                reply = json.dumps({"message": f"refused: {echo}",
                                    "error": {"errorCode": "ECHO_REFUSED", "description": f"refused: {echo}"}})
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def log_message(self, format, *args) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name="echoing-server")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "EchoingServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
