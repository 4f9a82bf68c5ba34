"""No secret reaches any output: every provider's error paths run with recognisable secrets, then every
output is searched for them (plain, URL-encoded, base64, and inside Basic credentials) and for URLs
carrying an unmasked token.

Outputs searched: `ibmon snapshot --json` and its text form (stdout and stderr of the real command),
the debug log file of that command and of the dashboard, the dashboard's screen (health lines and
notifications) through every phase, the health lines and errors of quick actions, and a crash log.
Error paths: wrong password / token / API key / client secret, an expired or revoked token, server
errors, replies slower than the timeout, refused connections, dropped connections.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import socket
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import tomli_w
from textual.app import App

from ibmon import config as cfg
from ibmon.app import IbmonApp
from ibmon.errors import ProviderError
from ibmon.feeds import Backoff
from ibmon.logs import setup_logging, write_crash_log
from ibmon.model import HealthState
from ibmon.simulators import SimulatorHost

from ibmon_b2core.sim import CLIENT_ID, CLIENT_SECRET

XTB_OK, XTB_BAD, XTB_REFUSED = "CANARYxtbPass0k1", "CANARYxtbPassBad2", "CANARYxtbPassRef3"
CT_OK, CT_BAD, CT_REFUSED = "CANARYctTokenOk4", "CANARYctTokenBad5", "CANARYctTokenRef6"
B2_BAD, B2_TOKEN, B2_REFUSED = "CANARYb2SecretBad7", "CANARYb2Token8", "CANARYb2TokenRef9"
CRM_KEY, CRM_PW, CRM_BAD_KEY, CRM_BAD_PW = "CANARYcrmKey10", "CANARYcrmPass11", "CANARYcrmKeyBad12", "CANARYcrmPassBad13"
FLEX_OK, FLEX_EXPIRED, FLEX_BAD, FLEX_REFUSED = ("CANARYflexOk14", "CANARYflexExpired15", "CANARYflexBad16",
                                                 "CANARYflexRef17")
#: Every secret given to a connection, including the B2Core simulator's fixed (right) client secret.
SECRETS = [XTB_OK, XTB_BAD, XTB_REFUSED, CT_OK, CT_BAD, CT_REFUSED, B2_BAD, B2_TOKEN, B2_REFUSED, CRM_KEY, CRM_PW,
           CRM_BAD_KEY, CRM_BAD_PW, FLEX_OK, FLEX_EXPIRED, FLEX_BAD, FLEX_REFUSED, CLIENT_SECRET]
UNMASKED_URL_TOKEN = re.compile(r"(?i)[?&](access_token|oauth_token|token|t|api_key|apikey|key|password|secret)="
                                r"(?!\*\*\*)[^&\s\"'<]+")


def leaks(text: str) -> list[str]:
    """Every secret found in `text`, in any of the forms it travels in, and every unmasked URL token."""
    found = []
    for secret in SECRETS:
        forms = {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode(),
                 base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()}
        found += [f"{secret} as {form!r}" for form in forms if form in text]
    found += [f"URL with an unmasked credential: {m.group(0)}" for m in UNMASKED_URL_TOKEN.finditer(text)]
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sims():
    from ibmon.plugins import PluginHost

    host = PluginHost()
    host.load()
    with SimulatorHost(host) as sims:
        sims.start(["xtb"], {"users": {"1000123": XTB_OK, "1000456": "someone-elses-password"}})
        sims.start(["ctrader"], {"token": CT_OK})
        sims.start(["b2core"], {"accounts": 20})
        sims.start(["crm"], {"api_key": CRM_KEY, "password": CRM_PW, "leads": 500})
        sims.start(["ibkr_flex"], {"tokens": [FLEX_OK], "expired_tokens": [FLEX_EXPIRED], "pending_polls": 0,
                                   "min_interval": 0.0, "max_per_minute": 1000})
        assert not sims.failures, sims.failures
        yield sims


def connections(sims: SimulatorHost) -> list[dict]:
    """One connection per error path of every provider (and one that works, to break later)."""
    dead = f"127.0.0.1:{closed_port()}"
    base = {r.provider: r.connections[0] for r in sims.running}
    xtb, ct, b2, crm, flex = (base[p] for p in ("xtb", "ctrader", "b2core", "crm", "ibkr_flex"))
    entries = [
        {**xtb, "name": "xtb ok", "user_id": "1000123", "password": XTB_OK},
        {**xtb, "name": "xtb bad password", "user_id": "1000456", "password": XTB_BAD},
        {**xtb, "name": "xtb refused", "url": f"tcp://{dead}", "stream_url": f"tcp://{dead}", "password": XTB_REFUSED},
        {**ct, "name": "ctrader ok", "access_token": CT_OK, "timeout": 4.0, "poll_seconds": 0.5},
        {**ct, "name": "ctrader bad token", "access_token": CT_BAD},
        {**ct, "name": "ctrader refused", "base_url": f"http://{dead}", "access_token": CT_REFUSED},
        {**b2, "name": "b2core ok", "poll_seconds": 0.5},
        {**b2, "name": "b2core bad secret", "client_secret": B2_BAD},
        {"name": "b2core bad token", "provider": "b2core", "base_url": b2["base_url"], "token": B2_TOKEN},
        {"name": "b2core refused", "provider": "b2core", "base_url": f"http://{dead}/api/v2/ib", "token": B2_REFUSED},
        {**crm, "name": "crm ok", "api_key": CRM_KEY, "password": CRM_PW, "poll_seconds": 0.5},
        {**crm, "name": "crm bad password", "api_key": CRM_KEY, "password": CRM_BAD_PW},
        {**crm, "name": "crm bad key", "api_key": CRM_BAD_KEY, "password": CRM_PW},
        {**crm, "name": "crm refused", "base_url": f"http://{dead}", "api_key": CRM_KEY, "password": CRM_PW},
        {**flex, "name": "flex ok", "token": FLEX_OK, "poll_seconds": 5, "max_wait_seconds": 2},
        {**flex, "name": "flex expired", "token": FLEX_EXPIRED, "max_wait_seconds": 2},
        {**flex, "name": "flex unknown token", "token": FLEX_BAD, "max_wait_seconds": 2},
        {**flex, "name": "flex refused", "base_url": f"http://{dead}/AccountManagement/FlexWebService",
         "token": FLEX_REFUSED, "max_wait_seconds": 2},
    ]
    for entry in entries:
        if entry["provider"] == "b2core" and "token" in entry:
            entry.pop("client_id", None)
            entry.pop("client_secret", None)
    return entries


async def test_snapshot_json_text_and_debug_log_hold_no_secret(sims, debug_home, tmp_path):
    config = tmp_path / "config.toml"
    cfg.write_private(config, tomli_w.dumps({"connections": connections(sims)}))

    async def snapshot(*flags: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ibmon", "--config", str(config), "snapshot", "--timeout", "12", *flags,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=debug_home.env)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, err.decode()  # the broken connections fail the snapshot
        return out.decode() + err.decode()

    as_json, as_text = await asyncio.gather(snapshot("--json"), snapshot())
    document = json.loads(as_json[: as_json.rindex("}") + 1])
    errors = {c["name"]: c["error"] for c in document["connections"]}
    # every error path was taken, and said why
    assert errors["xtb ok"] is None and errors["ctrader ok"] is None and errors["crm ok"] is None, \
        sims.control("xtb").dropped()  # why the xAPI simulator closed connections, if it did
    assert errors["flex ok"] is None and errors["b2core ok"] is None
    assert all(errors[name] for name in errors if not name.endswith(" ok")), errors
    assert re.search("BE005|EX007", errors["xtb bad password"])  # EX007: the pair is blocked after a failure
    assert "CH_ACCESS_TOKEN_INVALID" in errors["ctrader bad token"]
    assert "1012" in errors["flex expired"] and "1015" in errors["flex unknown token"]
    log = debug_home.log_text()
    assert "DEBUG" in log
    assert leaks(as_json) == [] and leaks(as_text) == [] and leaks(log) == []


class NotificationCapture(App):
    """Sits between IbmonApp and Textual's App: sees each notification exactly as it is shown."""

    shown: list[str]

    def notify(self, message, *, title="", **kwargs):  # type: ignore[override]
        self.shown.append(f"{title}: {message}")
        return super().notify(message, title=title, **kwargs)


class RecordingApp(IbmonApp, NotificationCapture):
    CSS_PATH = str(Path(IbmonApp.CSS_PATH if Path(IbmonApp.CSS_PATH).is_absolute() else
                        Path(sys.modules[IbmonApp.__module__].__file__).parent / IbmonApp.CSS_PATH))


async def test_dashboard_screen_notifications_health_and_log_hold_no_secret(sims, debug_home, configured_runtime):
    setup_logging()
    runtime, host = configured_runtime(connections(sims), Backoff(base=0.1, cap=0.5))
    store = runtime.store
    app = RecordingApp(runtime, host)
    app.shown = []
    outputs: list[str] = []
    ct, b2, crm, xtb = (sims.control(p) for p in ("ctrader", "b2core", "crm", "xtb"))

    def capture(phase: str) -> None:
        assert app.is_running, f"the dashboard stopped before {phase}"  # (Pilot.pause would wait forever)
        outputs.append(f"--- {phase}")
        outputs.append(html.unescape(app.export_screenshot()))
        outputs.extend(h.describe() for h in store.health.values())
        outputs.extend(app.shown)

    async def until(name: str, predicate) -> None:
        for _ in range(600):  # up to 30 s: generous on a loaded machine
            health = store.health.get(name)
            if health is not None and predicate(health):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{name}: {store.health.get(name)}")

    def failing(health) -> bool:
        return health.state in (HealthState.RECONNECTING, HealthState.ERROR)

    async with app.run_test(size=(200, 70)):
        await runtime.wait_settled(15)
        for name in ("xtb ok", "ctrader ok", "b2core ok", "crm ok"):
            await until(name, lambda h: h.state is HealthState.LIVE)
        await asyncio.sleep(0.3)
        capture("start")

        for control in (ct, b2, crm):  # server errors
            control.set_faults(error_rate=1.0)
        for name in ("ctrader ok", "b2core ok", "crm ok"):
            await until(name, failing)
        for control in (ct, b2, crm):
            control.set_faults(error_rate=0.0)
        capture("server errors")

        ct.set_faults(delay=6.0)  # replies slower than the 4 s request deadline
        await until("ctrader ok", lambda h: failing(h) and "no answer within 4 s" in h.detail)
        ct.set_faults(delay=0.0)
        capture("timeouts")

        ct.revoke_token()  # revoked / expired tokens, and a quick action refused with it
        crm.expire_tokens()
        await until("ctrader ok", lambda h: h.state is HealthState.ERROR)
        deposit = next(a for a in runtime.connections["ctrader ok"].session.actions() if a.id == "ctrader.demo_deposit")
        demo = next(a for a in store.accounts["ctrader ok"].values() if runtime.connections["ctrader ok"].session.is_demo(a))
        with pytest.raises(ProviderError) as refused:
            await runtime.run_action("ctrader ok", deposit, demo)
        outputs.append(refused.value.message)
        app.notify(refused.value.message, title="Demo deposit", severity="error")
        ct.restore_token()
        await asyncio.sleep(0.3)
        capture("revoked token")

        xtb.drop()  # dropped connections
        await until("xtb ok", failing)
        await until("xtb ok", lambda h: h.state is HealthState.LIVE)
        capture("dropped")

    log = debug_home.log_text()
    assert "DEBUG" in log and "xtb ok" in log
    screen = "\n".join(outputs)
    assert re.search("BE005|EX007", screen) and "CH_ACCESS_TOKEN_INVALID" in screen and "1012" in screen
    assert leaks(screen) == [], leaks(screen)[:5]
    assert leaks(log) == [], leaks(log)[:5]


def test_a_crash_log_holds_no_secret(debug_home):
    from ibmon.secrets import Secret

    secret = Secret(CRM_PW)
    try:
        try:
            raise ConnectionError(f"login to https://crm.example/api?token={FLEX_OK} as user:{CRM_PW}@host")
        except ConnectionError as exc:
            raise RuntimeError(f"unexpected state with {secret!r} and {secret.reveal()}") from exc
    except RuntimeError as exc:
        path = write_crash_log(exc)
    assert path is not None
    text = Path(path).read_text()
    assert "RuntimeError" in text and "ConnectionError" in text
    assert leaks(text) == [] and leaks(debug_home.log_text()) == []


def test_the_search_finds_every_form_a_secret_travels_in():
    assert leaks(f"password {XTB_OK}") and leaks(f"q={quote_plus(CT_OK)}x")
    assert leaks("Basic " + base64.b64encode(f"{CLIENT_ID}:{B2_BAD}".encode()).decode())
    assert leaks("GET http://h/s?q=1&t=811302486412895127461539&v=3")
    assert leaks("GET http://h/s?access_token=***&v=3") == []
