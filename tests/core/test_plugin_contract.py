"""The plugin contract check fails a plugin for each rule it breaks, naming the rule: a small HTTP
provider and its simulator, made to misbehave one way at a time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from ibmon.sdk import (Account, HttpClient, Option, Provider, ProviderError, Session, Simulator, RunningSimulator,
                       dec, loads, reveal)
from ibmon.simkit import FAULT_SETTINGS, Faults, HttpControl, HttpSimulator, check_settings, json_reply
from ibmon.testing import check_plugin_contract

KEY = "contract-test-key-81f2"
SETTINGS = (Option("name", "str", default="Client 1", help="the account's name"), *FAULT_SETTINGS)


async def start(host: str = "127.0.0.1", **settings: Any) -> RunningSimulator:
    values = check_settings(SETTINGS, settings, "probe")
    server = HttpSimulator(faults=Faults.from_settings(values))

    async def accounts(request):
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return json_reply({"error": "bad key"}, 401)
        return json_reply([{"id": "A1", "balance": "100.25", "name": values["name"]}])

    server.router.add_get("/accounts", accounts)
    url = await server.listen(host)
    return RunningSimulator("probe", {"api": url}, [{"name": "Probe", "provider": "probe", "url": url, "key": KEY}],
                            server.stop, HttpControl(server))


class ProbeSession(Session):
    poll_interval = 1.0
    misbehave = ""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.http = HttpClient(ctx.options["url"], timeout=5,
                               headers={"Authorization": f"Bearer {reveal(ctx.options['key'])}"})
        self.tasks: list[asyncio.Task] = []

    async def poll(self, sink) -> None:
        try:
            response = await self.http.request("GET", "/accounts", "probe GET /accounts")
        except ProviderError:
            if self.misbehave == "swallow":
                return
            if self.misbehave == "leak":
                raise ProviderError(f"could not reach {self.ctx.options['url']} with key {reveal(self.ctx.options['key'])}")
            raise
        if response.status_code != 200:
            raise ProviderError(f"probe: HTTP {response.status_code}")
        if self.misbehave == "linger":
            self.tasks.append(asyncio.ensure_future(asyncio.sleep(3600)))
        sink.accounts([Account(id=i["id"], balance=dec(i["balance"]), name=i["name"]) for i in loads(response.content)])

    async def close(self) -> None:
        await self.http.aclose()


OPTIONS = (Option("url", "url", required=True, help="the API"), Option("key", "str", required=True, secret=True,
                                                                         help="API key"))


def probe(misbehave: str = "", **changes: Any) -> Provider:
    session = type("Probe", (ProbeSession,), {"misbehave": misbehave})
    return replace(Provider("probe", "Probe", connect=session, options=OPTIONS), **changes)


SIMULATOR = Simulator("probe", "Probe", start, SETTINGS)


def problems(provider: Provider, simulator: Simulator = SIMULATOR, **kwargs: Any) -> str:
    with pytest.raises(AssertionError) as failed:
        check_plugin_contract(provider, simulator, **kwargs)
    return str(failed.value)


def test_a_plugin_that_keeps_the_rules_passes():
    report = check_plugin_contract(probe(), SIMULATOR)
    assert (report.mode, report.records) == ("poll", {"account": 1})
    assert report.drop_error.startswith("probe GET /accounts: ")


def test_an_option_without_help_or_with_a_secret_that_is_no_string():
    options = (Option("url", "url", required=True), Option("key", "str", required=True, secret=True, help="key"),
               Option("pin", "int", default=1, secret=True, help="PIN"))
    text = problems(probe(options=options))
    assert '- option "url": no help' in text
    assert '- option "pin": a secret must be a str option, not int' in text


def test_a_session_that_hides_the_dropped_link():
    assert "ended without an error (the failure would not show on the health line)" in problems(probe("swallow"))


def test_a_session_that_puts_the_secret_in_its_error():
    text = problems(probe("leak"))
    assert "- the error of the dropped link holds a secret option's value: could not reach http://127.0.0.1:" in text
    assert text.endswith(" with key ***") and KEY not in text


def test_text_the_terminal_would_obey_is_named():
    text = problems(probe(), settings={"name": "Client\x1b[2J 1"})
    assert "account name: text with control or invisible characters" in text


def test_a_session_that_leaves_a_task_running_after_close():
    # one task per successful poll: the first and the one after the link healed
    assert "close() left 2 task(s) running: sleep, sleep" in problems(probe("linger"))


def test_a_session_refused_by_its_simulator_never_becomes_live():
    assert "- poll (first) failed: probe: HTTP 500" in problems(probe(), settings={"error_rate": 1.0})


def test_it_refuses_to_run_inside_an_event_loop():
    async def inside():
        check_plugin_contract(probe(), SIMULATOR)

    with pytest.raises(RuntimeError, match="plain test"):
        asyncio.run(inside())
