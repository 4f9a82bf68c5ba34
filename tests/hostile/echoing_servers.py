"""A hostile REST server on loopback that refuses every request and echoes the credentials it was
sent back in its error message, in every form a careless server might: as received (a header, the
percent-encoded query, the raw JSON body), decoded (the `id:secret` of a Basic header, a query
value), percent-encoded again, and JSON-escaped.

The first segment of the request path picks what is echoed (`/echo/<form>/...`, see `echo_forms`), so
each connection of a test shows one form in a message short enough to be shown whole; `all` echoes
every form in one long message, which a client cuts to its own length. The error body carries the
echo where each provider's client reads its error text: `message` (B2Core, the CRM) and
`error.description` (cTrader).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_plus, urlsplit

CREDENTIAL_HEADERS = {"authorization": "auth", "x-api-key": "key", "x-auth-token": "session"}


def echo_forms(target: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
    """Each form of each credential in a request, by name (header names lower-cased)."""
    forms: dict[str, str] = {"query": target}
    for header, name in CREDENTIAL_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        forms.update({name: value, f"{name}-url": quote(value, safe=""), f"{name}-json": json.dumps(value)})
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(credentials, validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pair = credentials
            forms.update({"pair": pair, "pair-json": json.dumps(pair)})
    for item in urlsplit(target).query.split("&"):
        key, _, raw = item.partition("=")
        if raw:
            forms.update({f"{key}-url": raw, key: unquote_plus(raw), f"{key}-json": json.dumps(unquote_plus(raw))})
    if body:
        forms["body"] = body.decode("utf-8", "replace")
    return forms


class EchoingServer:
    """Refuses every request with HTTP `status` and the echo; `echoes` keeps what it said."""

    def __init__(self, status: int = 401) -> None:
        self.echoes: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _refuse(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                forms = echo_forms(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                wanted = self.path.split("/")[2] if self.path.startswith("/echo/") else "all"
                if wanted == "all":
                    echo = "; ".join(f"{name} {text}" for name, text in forms.items())
                else:
                    echo = f"{wanted} {forms.get(wanted, '(not sent)')}"
                server.echoes.append(echo)
                data = json.dumps({"message": f"refused: {echo}",
                                   "error": {"errorCode": "ECHO_REFUSED", "description": f"refused: {echo}"}}).encode()
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
