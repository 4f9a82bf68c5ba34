"""`ibmon serve`: the dashboard in a browser, safe to leave running.

`session_command` is the one place that says what a browser session runs: `ibmon attach` on one
collector, so ten open tabs never mean ten logins at a provider. The collector is the one
`attach_url` names, or one `serve` runs itself on loopback with a token made for this run (handed
to the sessions through their environment, never on a command line). `serve` checks where it may
listen, resolves the password and runs the web site (`ibmon.serve.site`) until interrupted.
Importing this package imports no web library: `serve` does, when it runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ibmon.errors import IbmonError
from ibmon.secrets import Secret
from ibmon.serve.logins import MIN_PASSWORD_CHARS
from ibmon.serve.settings import ServeSettings, bind_problems, is_loopback

if TYPE_CHECKING:
    import ssl

    from ibmon.collect import Collector
    from ibmon.feeds import FeedRuntime


@dataclass(frozen=True)
class SessionCommand:
    argv: list[str]
    #: What the page title names after "ibmon": where the dashboards' data comes from.
    label: str


def session_command(attach_url: str, config_path: Path, *, read_only: bool,
                    plugin_dirs: list[str | Path]) -> SessionCommand:
    """The command each browser session runs: a dashboard attached to the collector at
    `attach_url`, with the same config, plugin folders and read-only flag as `ibmon serve` itself,
    so `--read-only` holds in every browser session."""
    argv = [sys.executable, "-m", "ibmon", "--config", str(Path(config_path).absolute())]
    if read_only:
        argv.append("--read-only")
    for folder in plugin_dirs:
        argv += ["--plugin-dir", str(Path(folder).absolute())]
    argv += ["attach", attach_url]
    return SessionCommand(argv, f"collector {attach_url}")


def resolve_password(settings: ServeSettings) -> Secret | None:
    """The login password from its secret reference (None: no password configured). A password
    read from the environment is then removed from it, so no dashboard process inherits it."""
    from ibmon.references import resolve_reference

    if settings.password is None:
        return None
    text, problem = resolve_reference(settings.password)
    if problem:
        raise IbmonError(f'[serve] key "password": {problem}')
    if len(text) < MIN_PASSWORD_CHARS:
        raise IbmonError(f'[serve] key "password": the password is too short (at least {MIN_PASSWORD_CHARS} '
                         "characters)")
    kind, name = next(iter(settings.password.items()))
    if kind == "env":
        os.environ.pop(name, None)
    return Secret(text)


def tls_context(settings: ServeSettings) -> "ssl.SSLContext | None":
    import ssl

    if not settings.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
        raise IbmonError(f"[serve] tls_cert / tls_key: cannot load {settings.tls_cert} with {settings.tls_key} "
                         f"({reason})") from None
    return context


def serve(settings: ServeSettings, sessions: "Callable[[str], SessionCommand]", host: str, port: int,
          say: Callable[[str], None], *, attach_url: str | None = None, collector: "Collector | None" = None) -> int:
    """Listen on host:port until SIGINT or SIGTERM; each browser session runs `sessions(url)` for
    the collector at `attach_url`, or at `collector` (started here, stopped with the site). Refuses
    (IbmonError) a non-loopback address without a password and TLS, a password that cannot be
    read, a certificate that does not load."""
    problems = bind_problems(host, settings)
    if problems:
        raise IbmonError("; ".join(problems))
    password = resolve_password(settings)
    context = tls_context(settings)
    return asyncio.run(_serve_with_collector(settings, sessions, host, port, password, context, say,
                                             attach_url, collector))


async def _serve_with_collector(settings: ServeSettings, sessions: "Callable[[str], SessionCommand]", host: str,
                                port: int, password: Secret | None, context: "ssl.SSLContext | None",
                                say: Callable[[str], None], attach_url: str | None,
                                collector: "Collector | None") -> int:
    if collector is None:
        return await _serve(settings, sessions(attach_url or ""), host, port, password, context, say)
    base = await collector.start()
    try:
        return await _serve(settings, sessions(base.replace("http", "ws", 1) + "/attach"), host, port,
                            password, context, say)
    finally:
        await collector.stop()


def own_collector(runtime: "FeedRuntime", *, read_only: bool) -> "Collector":
    """A collector for this serve alone: loopback, any free port, a token made for this run that
    the browser sessions get through their environment ($IBMON_ATTACH_TOKEN)."""
    import secrets

    from ibmon.collect import Collector
    from ibmon.desk import ENV_ATTACH_TOKEN, CollectSettings

    token = secrets.token_urlsafe(24)
    os.environ[ENV_ATTACH_TOKEN] = token  # inherited by each session's process, never on its command line
    return Collector(runtime, CollectSettings(listen="127.0.0.1", port=0, token=Secret(token)), read_only=read_only)


async def _serve(settings: ServeSettings, command: SessionCommand, host: str, port: int,
                 password: Secret | None, context: "ssl.SSLContext | None", say: Callable[[str], None]) -> int:
    from aiohttp import web

    from ibmon.serve.logins import Logins
    from ibmon.serve.site import SiteOptions, make_site

    logins = Logins(password, settings.idle_minutes * 60)
    site_options = SiteOptions(command.argv, command.label, logins, tls=context is not None,
                               loopback=is_loopback(host))
    runner = web.AppRunner(make_site(site_options), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        listener = web.TCPSite(runner, host, port, ssl_context=context)
        try:
            await listener.start()
        except OSError as exc:
            raise IbmonError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        bound_port = runner.addresses[0][1] if runner.addresses else port
        scheme = "https" if context else "http"
        shown_host = f"[{host}]" if ":" in host else host
        access = (f"login required, idle timeout {settings.idle_minutes:g} min" if password
                  else "no password: anyone who can reach this machine's loopback can open it")
        say(f"serving {command.label} on {scheme}://{shown_host}:{bound_port}/ ({access}); Ctrl-C stops")
        sys.stdout.flush()  # whoever started serve (a script, a test) reads the address now
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
