"""The `[serve]` table of the config and the rule for where `ibmon serve` may listen.

    [serve]
    password = { env = "IBMON_SERVE_PASSWORD" }   # a secret reference, never the password itself
    tls_cert = "/etc/ibmon/cert.pem"               # both or neither; relative to the config's folder
    tls_key = "/etc/ibmon/key.pem"
    idle_minutes = 30                              # a login ends after this long without a key press

`read_serve_table` only checks the table's shape, so every command (and `ibmon config check`) says
what is wrong with it without running the password's command; `ibmon serve` resolves the password
itself. This module imports no web library: the config check must stay light.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ibmon.options import did_you_mean, quoted

KEYS = ("password", "tls_cert", "tls_key", "idle_minutes")
DEFAULT_IDLE_MINUTES = 30.0
#: A login that could never end is no login; a day is the longest a wallboard may stay unattended.
IDLE_MINUTES_RANGE = (1.0, 1440.0)
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


#: The commented `[serve]` example of `ibmon config init`'s template.
TEMPLATE = (
    "# [serve]",
    '# password = { env = "IBMON_SERVE_PASSWORD" }',
    '# tls_cert = "cert.pem"',
    '# tls_key = "key.pem"',
    f"# idle_minutes = {DEFAULT_IDLE_MINUTES:g}",
)


@dataclass(frozen=True)
class ServeSettings:
    """The `[serve]` table, checked. `password` is the secret reference as written (unresolved)."""

    password: dict[str, Any] | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    idle_minutes: float = DEFAULT_IDLE_MINUTES

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


def read_serve_table(raw: Any, base: Path | None) -> tuple[ServeSettings, list[str]]:
    """The settings and the problems of the `[serve]` table (one line each, naming the key)."""
    from ibmon.references import is_reference

    if raw is None:
        return ServeSettings(), []
    if not isinstance(raw, dict):
        return ServeSettings(), ["[serve] must be a table (password, tls_cert, tls_key, idle_minutes)"]
    problems = [f"[serve]: unknown key {quoted(key)}{did_you_mean(key, KEYS)}" for key in raw if key not in KEYS]
    password = raw.get("password")
    if password is not None and not is_reference(password):
        problems.append('[serve] key "password" must be a secret reference, { env = "VAR" } or '
                        '{ command = "program args" }, so the password is never written in the file')
        password = None
    paths: dict[str, Path | None] = {}
    for key in ("tls_cert", "tls_key"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f'[serve] key "{key}" must be the path of a PEM file (a string)')
            value = None
        folder = base if base is not None else Path.cwd()
        paths[key] = folder / Path(value).expanduser() if value else None
    if (paths["tls_cert"] is None) != (paths["tls_key"] is None):
        problems.append('[serve]: TLS needs both "tls_cert" and "tls_key" (the certificate and its private key)')
    idle = raw.get("idle_minutes", DEFAULT_IDLE_MINUTES)
    low, high = IDLE_MINUTES_RANGE
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not low <= idle <= high:
        problems.append(f'[serve] key "idle_minutes" must be a number of minutes from {low:g} to {high:g}, '
                        f'not {idle!r}')
        idle = DEFAULT_IDLE_MINUTES
    return ServeSettings(password, paths["tls_cert"], paths["tls_key"], float(idle)), problems


def is_loopback_name(name: str) -> bool:
    """Whether `name` is a loopback address or one of the names that always mean this machine
    (no lookup: what a name resolves to can change, see DNS rebinding)."""
    name = name.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) reaches this machine only. A name counts as loopback
    only when every address it resolves to is one; "" and 0.0.0.0 mean every interface."""
    name = host.strip().strip("[]")
    if is_loopback_name(name):
        return True
    try:
        ipaddress.ip_address(name)
        return False  # an address, and not a loopback one
    except ValueError:
        pass
    if not name:
        return False
    try:
        infos = socket.getaddrinfo(name, None)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def bind_problems(host: str, settings: ServeSettings) -> list[str]:
    """Why `ibmon serve` must not listen on `host` with these settings (empty: it may)."""
    if is_loopback(host):
        return []
    where = f"--host {host or '(every interface)'} is not a loopback address"
    problems = []
    if settings.password is None:
        problems.append(f'{where}: a password is required, e.g. [serve] password = {{ env = "IBMON_SERVE_PASSWORD" }}')
    if not settings.tls:
        problems.append(f"{where}: TLS is required, [serve] tls_cert and tls_key (so the password and "
                        "the session cookie never cross the network in clear)")
    return problems
