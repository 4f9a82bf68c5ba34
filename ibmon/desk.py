"""Config of a desk: the collector's `[collect]` table and a dashboard's `attach_url`.

    [collect]                       # `ibmon collect`: /metrics and /attach on one port
    listen = "127.0.0.1"            # loopback by default; any other address needs TLS and a token
    port = 9464
    tls_cert = "/etc/ibmon/collector.pem"
    tls_key = "/etc/ibmon/collector.key"
    token = { env = "IBMON_COLLECT_TOKEN" }              # attach with quick actions, scrape
    read_only_token = { env = "IBMON_COLLECT_RO_TOKEN" } # attach to watch, scrape

    attach_url = "wss://desk.example:9464/attach"   # `ibmon run` shows this collector's store
    attach_token = { env = "IBMON_ATTACH_TOKEN" }
    attach_ca = "/etc/ibmon/desk-ca.pem"             # a private CA that signed the collector's cert

Tokens are secret references (or plain strings in a mode-600 file) and become `Secret`s, so they
are masked in every log line and message. Only this module reads these keys; `ibmon.config` calls
`read_desk` and keeps what it returns. Importing it pulls in no network library.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ibmon.options import did_you_mean, quoted
from ibmon.references import is_reference, resolve_reference
from ibmon.secrets import Secret

DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 9464
COLLECT_KEYS = ("listen", "port", "tls_cert", "tls_key", "token", "read_only_token")
ATTACH_KEYS = ("attach_url", "attach_token", "attach_ca")
#: Characters a token needs at least: a guessable token is no protection off loopback.
MIN_TOKEN = 16
#: Environment variable an attaching dashboard reads its token from when the config names none.
ENV_ATTACH_TOKEN = "IBMON_ATTACH_TOKEN"


@dataclass(frozen=True)
class CollectSettings:
    listen: str = DEFAULT_LISTEN
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    token: Secret | None = None
    read_only_token: Secret | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def tokens(self) -> bool:
        return self.token is not None or self.read_only_token is not None

    def problems(self) -> list[str]:
        """What a collector with these settings may not do: serve off loopback in clear text or
        without a token."""
        if is_loopback(self.listen):
            return []
        missing = [what for what, there in (("tls_cert and tls_key", self.tls), ("a token", self.tokens))
                   if not there]
        if not missing:
            return []
        return [f'[collect] listen = {quoted(self.listen)} is not loopback: it needs {" and ".join(missing)} '
                "(anyone who reaches the port would see every account)"]


@dataclass(frozen=True)
class AttachSettings:
    url: str
    token: Secret | None = None
    ca: Path | None = None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def read_desk(doc: dict[str, Any], base: Path | None,
              problems: list[str]) -> tuple[CollectSettings, AttachSettings | None]:
    """The `[collect]` table and the attach keys of a config document; mistakes go to `problems`."""
    return _collect(doc.get("collect", {}), base, problems), _attach(doc, base, problems)


def _collect(raw: Any, base: Path | None, problems: list[str]) -> CollectSettings:
    if not isinstance(raw, dict):
        problems.append("[collect] must be a table (listen, port, tls_cert, tls_key, token, read_only_token)")
        return CollectSettings()
    for key in raw:
        if key not in COLLECT_KEYS:
            problems.append(f"[collect]: unknown key {quoted(key)}{did_you_mean(key, COLLECT_KEYS)}")
    listen = raw.get("listen", DEFAULT_LISTEN)
    if not isinstance(listen, str) or not listen.strip():
        problems.append('[collect] key "listen" must be an address such as "127.0.0.1" or "0.0.0.0"')
        listen = DEFAULT_LISTEN
    port = raw.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        problems.append(f'[collect] key "port" must be a port number (0 picks a free one), not {port!r}')
        port = DEFAULT_PORT
    cert, key = (_file(raw, name, "[collect]", base, problems) for name in ("tls_cert", "tls_key"))
    if ("tls_cert" in raw) != ("tls_key" in raw):
        problems.append('[collect]: "tls_cert" and "tls_key" go together (the certificate and its private key)')
    settings = CollectSettings(listen=listen, port=port, tls_cert=cert, tls_key=key,
                               token=_token(raw, "token", "[collect]", problems),
                               read_only_token=_token(raw, "read_only_token", "[collect]", problems))
    if settings.token is not None and settings.token == settings.read_only_token:
        problems.append('[collect]: "token" and "read_only_token" must differ')
    problems.extend(settings.problems())
    return settings


def _attach(doc: dict[str, Any], base: Path | None, problems: list[str]) -> AttachSettings | None:
    url = doc.get("attach_url")
    if url is None:
        for key in ("attach_token", "attach_ca"):
            if key in doc:
                problems.append(f'key "{key}" has no effect without "attach_url"')
        return None
    why = url_problem(url)
    if why:
        problems.append(f'key "attach_url" {why}')
        return None
    return AttachSettings(url=url, token=_token(doc, "attach_token", "", problems),
                          ca=_file(doc, "attach_ca", "", problems=problems, base=base))


def url_problem(url: Any) -> str | None:
    """Why `url` cannot reach a collector's attach endpoint (ws:// or wss://), or None."""
    if not isinstance(url, str):
        return f"must be a ws:// or wss:// URL, not {url!r}"
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return f'must be a ws:// or wss:// URL such as "ws://127.0.0.1:{DEFAULT_PORT}/attach", not {url!r}'
    if parts.username or parts.password:
        return "must not carry credentials: put the token in attach_token"
    if parts.scheme == "ws" and not is_loopback(parts.hostname):
        return "must use wss:// (TLS) to reach a collector that is not on this machine"
    return None


def _token(raw: dict[str, Any], key: str, where: str, problems: list[str]) -> Secret | None:

    value = raw.get(key)
    label = f'{where} key "{key}"'.strip()
    if value is None:
        return None
    if is_reference(value):
        text, why = resolve_reference(value)
        if why:
            problems.append(f"{label}: {why}")
            return None
    elif isinstance(value, str):
        text = value
    else:
        problems.append(f'{label} must be a secret reference {{ env = "VAR" }} or {{ command = "..." }}')
        return None
    secret = Secret(text)  # masked from here on, even when it is refused below
    if len(text) < MIN_TOKEN or not text.isprintable() or " " in text:
        problems.append(f"{label}: a token needs at least {MIN_TOKEN} printable characters without spaces")
        return None
    return secret


def _file(raw: dict[str, Any], key: str, where: str, base: Path | None, problems: list[str]) -> Path | None:
    value = raw.get(key)
    if value is None:
        return None
    label = f'{where} key "{key}"'.strip()
    if not isinstance(value, str) or not value:
        problems.append(f"{label} must be a file path")
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        problems.append(f"{label}: no file at {path}")
        return None
    return path
