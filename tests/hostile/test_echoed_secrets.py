"""Servers that echo the credentials they were sent: the real B2Core (client credentials, HTTP Basic),
CRM (login with API key and a 2-character password) and cTrader (access token in the query) clients
run against an echoing server on loopback, and the health lines and error messages, the dashboard's
screen, `ibmon snapshot` (text and JSON) and the debug log are searched for every secret in every
form it travels in (plain, percent-encoded, JSON-escaped, base64, inside a Basic header)."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import tomli_w

from ibmon import config as cfg
from ibmon.app import IbmonApp
from ibmon.feeds import Backoff
from ibmon.logs import setup_logging
from ibmon.model import HealthState

from echoing_servers import EchoingServer

IBMON = Path(sys.prefix) / "bin" / "ibmon"
B2_ID = "ib-client-42"
B2_SECRET = 'b2Secret/with+"quotes"=é'
CT_TOKEN = "ctToken+with/reserved=chars&more~9"
CRM_KEY = 'crmKey/+="x"'
CRM_PASSWORD = "Q7"  # shorter than 4 characters: masked where it stands alone
SECRETS = (B2_SECRET, CT_TOKEN, CRM_KEY, CRM_PASSWORD)


def lower_hex(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def forms(secret: str) -> set[str]:
    """The forms `secret` itself travels in."""
    json_forms = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    found = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), lower_hex(quote(secret, safe="")),
             *json_forms, *(form.replace("/", "\\/") for form in json_forms)}
    if len(secret) >= 4:
        found.add(base64.b64encode(secret.encode()).decode())
    return found


def basic_forms(secret: str) -> set[str]:
    """The forms of the HTTP Basic credentials of B2_ID and `secret`."""
    basic = base64.b64encode(f"{B2_ID}:{secret}".encode()).decode()
    return {basic, quote(basic, safe=""), json.dumps(basic)[1:-1]}


#: A shown start this long of a secret's form (a message cut off inside it) is a leak too.
FRAGMENT = 8


def leaks(text: str) -> list[str]:
    """Each secret form found in `text`, and each start of one cut off after FRAGMENT characters or
    more; the forms of a short secret count only as whole tokens."""
    found = []
    for secret in SECRETS:
        own = forms(secret)
        for form in own | basic_forms(secret):
            pattern = re.escape(form) if len(form) >= 4 else rf"(?<!\w){re.escape(form)}(?!\w)"
            if re.search(pattern, text):
                found.append(f"{secret!r} as {form!r}")
            elif form in own and len(form) > FRAGMENT and form[:FRAGMENT] in text:
                found.append(f"{secret!r}: the start of {form!r}")
    return found


#: Connection name → (provider, what the server echoes to it: see echoing_servers.echo_forms).
ECHOES = {
    **{f"b2core {form}": ("b2core", form) for form in ("auth", "auth-url", "auth-json", "pair", "pair-json", "all")},
    **{f"crm {form}": ("crm", form) for form in ("key", "key-url", "key-json", "body", "all")},
    **{f"ctrader {form}": ("ctrader", form)
       for form in ("query", "access_token", "access_token-url", "access_token-json", "all")},
}
NAMES = tuple(ECHOES)


def connections(url: str) -> list[dict]:
    options = {
        "b2core": {"client_id": B2_ID, "client_secret": B2_SECRET},
        "crm": {"domain": "ib.example", "api_key": CRM_KEY, "email": "ib@example.com", "password": CRM_PASSWORD},
        "ctrader": {"access_token": CT_TOKEN, "timeout": 5},
    }
    return [{"name": name, "provider": provider, "base_url": f"{url}/echo/{form}", "poll_seconds": 0.5,
             **options[provider]} for name, (provider, form) in ECHOES.items()]


@pytest.fixture
def echoing():
    with EchoingServer() as server:
        yield server


def echoed_every_secret(server: EchoingServer) -> None:
    """The server did echo each secret (so a clean output means it was masked, not never sent)."""
    echoes = "\n".join(server.echoes)
    for secret in SECRETS:
        assert secret in echoes, f"{secret!r} was never sent"
    assert base64.b64encode(f"{B2_ID}:{B2_SECRET}".encode()).decode() in echoes
    assert quote(CT_TOKEN, safe="") in echoes


def test_the_forms_searched_for_are_found_when_shown():
    assert leaks(f"x {lower_hex(quote(CT_TOKEN, safe=''))} y") and leaks(json.dumps(B2_SECRET))
    assert leaks("Basic " + base64.b64encode(f"{B2_ID}:{B2_SECRET}".encode()).decode())
    assert leaks('"password": "Q7"') and not leaks("Q7x and aQ7")
    assert leaks(f"decoded access_token {CT_TOKEN[:12]}…")  # a message cut inside the token
    assert not leaks(f"client {B2_ID} refused: Basic ***")


async def test_health_lines_errors_screen_and_log_hold_no_echoed_secret(echoing, debug_home, configured_runtime):
    setup_logging()
    runtime, host = configured_runtime(connections(echoing.url), Backoff(base=0.2, cap=1.0))
    store = runtime.store
    app = IbmonApp(runtime, host)

    def refused() -> bool:
        return all(store.health.get(name) is not None and
                   store.health[name].state in (HealthState.ERROR, HealthState.RECONNECTING) and
                   "refused" in store.health[name].detail for name in NAMES)

    async with app.run_test(size=(200, 60)) as pilot:
        for _ in range(400):
            if refused():
                break
            await pilot.pause(0.05)
        assert refused(), {name: store.health.get(name) for name in NAMES}
        await pilot.pause(0.3)
        shown = html.unescape(app.export_screenshot())
        lines = [store.health[name].describe() for name in NAMES]
    echoed_every_secret(echoing)
    first = {name: "query" if form == "all" else form for name, (_provider, form) in ECHOES.items()}
    assert all(f"refused: {first[name]} " in line for name, line in zip(NAMES, lines)), lines
    assert leaks("\n".join(lines)) == [], leaks("\n".join(lines))
    assert leaks(shown) == [], leaks(shown)
    log = debug_home.log_text()
    assert "refused" in log and "DEBUG" in log
    assert leaks(log) == [], leaks(log)


async def test_snapshot_text_json_and_log_hold_no_echoed_secret(echoing, debug_home, tmp_path):
    path = tmp_path / "config.toml"
    cfg.write_private(path, tomli_w.dumps({"connections": connections(echoing.url)}))

    async def snapshot(*flags: str) -> str:
        process = await asyncio.create_subprocess_exec(
            str(IBMON), "--config", str(path), "snapshot", "--timeout", "5", *flags,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=debug_home.env)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, err.decode()
        return out.decode() + err.decode()

    as_text = await snapshot()
    as_json = await snapshot("--json")
    errors = {c["name"]: c["error"] for c in json.loads(as_json[: as_json.rindex("}") + 1])["connections"]}
    assert all(errors[name] and "refused" in errors[name] for name in NAMES), errors
    echoed_every_secret(echoing)
    assert leaks(as_text) == [], leaks(as_text)
    assert leaks(as_json) == [], leaks(as_json)
    log = debug_home.log_text()
    assert "refused" in log
    assert leaks(log) == [], leaks(log)
