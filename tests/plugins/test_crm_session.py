"""The CRM session against its simulator: the lead funnel windows, their counts and amounts, the
requests a poll costs, new-lead notifications, and the plugin wired through the host."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest

import ibmon_crm
from ibmon.api import ConnectionContext
from ibmon.errors import AuthError
from ibmon.feeds import FeedRuntime
from ibmon.model import HealthState, LeadCounts
from ibmon.plugins import PluginHost
from ibmon.store import Store
from ibmon.testing import make_context, wait_for
from ibmon_crm.session import CrmSession, utc_today, windows
from ibmon_crm.sim import start

from crm_support import Crm, crm_in_thread


class FunnelSink:
    """Records what a poll reports (the lead funnel, notifications and notes)."""

    def __init__(self) -> None:
        self.funnel: dict[str, LeadCounts] = {}
        self.order: list[str] = []
        self.notifications: list[str] = []
        self.notes: tuple[str, ...] = ()

    def leads(self, counts: LeadCounts) -> None:
        self.funnel[counts.window] = counts
        self.order.append(counts.window)

    def notify(self, message: str, *, severity: str = "information") -> None:
        self.notifications.append(message)

    def note(self, *notes: str) -> None:
        self.notes = notes


def provider():
    host = PluginHost()
    host.load(only=["crm"])
    assert host.plugins["crm"].status == "ok", host.plugins["crm"].error
    return host.providers["crm"]


@pytest.fixture(scope="module")
def shared_crm():
    # customers register the moment their lead arrives, so counts do not move between a poll and
    # the expected values computed after it
    with crm_in_thread(conversion_delay=0) as crm:
        yield crm


@pytest.fixture
def crm(shared_crm):
    return shared_crm.fresh()


def context(crm: Crm, **overrides) -> ConnectionContext:
    return make_context(provider(), name="CRM", **crm.options(**overrides))


def bounds(first: str, last: str) -> tuple[float, float]:
    low, high = date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=1)
    return float(calendar.timegm(low.timetuple())), float(calendar.timegm(high.timetuple()))


def test_windows_are_distinct_inclusive_and_end_with_the_lookback():
    today = date(2026, 3, 10)
    assert windows(today, 30) == [("today", today, today), ("7d", date(2026, 3, 4), today),
                                  ("30d", date(2026, 2, 9), today)]
    assert [name for name, _, _ in windows(today, 7)] == ["today", "7d"]
    assert [name for name, _, _ in windows(today, 3)] == ["today", "3d"]
    assert windows(today, 1) == [("today", today, today)]


async def test_poll_reports_each_window_with_the_simulators_counts(crm):
    session = CrmSession(context(crm, lookback_days=30))
    sink = FunnelSink()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    today = utc_today().isoformat()
    assert sink.order == ["today", "7d", "30d"]
    lookback = sink.funnel["30d"]
    assert (lookback.date_from, lookback.date_to) == ((utc_today() - timedelta(days=29)).isoformat(), today)
    population = crm.control.population()
    for counts in sink.funnel.values():
        span = bounds(counts.date_from, counts.date_to)
        assert counts.date_to == today
        assert counts.leads == population.select_leads(span, None).total
        assert counts.registrations == population.select_customers(span, None, float("inf")).total
        assert counts.transactions == population.select_transactions(span, False).total
    assert lookback.leads > sink.funnel["7d"].leads > 0 and lookback.registrations > 0


async def test_amounts_are_exact_per_currency_and_window(crm):
    session = CrmSession(context(crm, lookback_days=30, page_size=97))
    sink = FunnelSink()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    for counts in sink.funnel.values():
        expected = crm.control.expected_amounts(date.fromisoformat(counts.date_from),
                                                date.fromisoformat(counts.date_to), include_fake=False)
        got = {(currency, kind): value for currency, kind, value in counts.amounts}
        assert got == expected
        assert all(type(value) is Decimal for value in got.values())
    assert {kind for _, kind, _ in sink.funnel["30d"].amounts} == {"deposits", "withdrawals"}


async def test_a_poll_costs_one_request_per_count_plus_the_lookback_transaction_pages(crm):
    session = CrmSession(context(crm, lookback_days=30, page_size=50))
    sink = FunnelSink()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    transactions = sink.funnel["30d"].transactions
    pages = -(-transactions // 50)
    assert pages > 1
    assert crm.control.requests("/api/v1/ib/leads") == 3
    assert crm.control.requests("/api/v1/ib/registrations") == 3
    assert crm.control.requests("/api/v1/ib/transactions") == 3 + pages
    walked = [r for r in crm.control.log()[-200:] if r.path.endswith("transactions") and r.query["pageSize"] == "50"]
    assert {r.query["transactionDateFrom"] for r in walked} == {sink.funnel["30d"].date_from}


async def test_include_fake_counts_and_sums_fake_transactions(crm):
    sinks = {}
    for include in (False, True):
        session = CrmSession(context(crm, lookback_days=60, include_fake=include))
        sinks[include] = FunnelSink()
        try:
            await session.poll(sinks[include])
        finally:
            await session.close()
    plain, with_fake = sinks[False].funnel["60d"], sinks[True].funnel["60d"]
    span = bounds(plain.date_from, plain.date_to)
    assert plain.transactions == crm.control.population().select_transactions(span, False).total
    assert with_fake.transactions == crm.control.population().select_transactions(span, True).total > plain.transactions
    expected = crm.control.expected_amounts(date.fromisoformat(plain.date_from), date.fromisoformat(plain.date_to),
                                            True)
    assert {(c, k): v for c, k, v in with_fake.amounts} == expected


async def test_new_leads_are_announced_after_the_first_poll(crm):
    session = CrmSession(context(crm))
    sink = FunnelSink()
    try:
        await session.poll(sink)
        before = sink.funnel["today"].leads
        await session.poll(sink)
        assert sink.notifications == []
        crm.control.add_leads(5)
        await session.poll(sink)
        crm.control.add_leads(1)
        await session.poll(sink)
    finally:
        await session.close()
    assert sink.notifications == ["5 new leads", "1 new lead"]
    assert sink.funnel["today"].leads == before + 6
    assert sink.funnel["30d"].leads >= before + 6


async def test_a_refused_key_fails_the_poll_with_an_auth_error(crm):
    session = CrmSession(context(crm, api_key="wrong-key-42"))
    try:
        with pytest.raises(AuthError, match="api_key"):
            await session.poll(FunnelSink())
    finally:
        await session.close()


async def test_the_feed_runtime_fills_the_store_through_the_plugin_host():
    running = await start(tick=0.05, lead_rate=3.0)
    options = {k: v for k, v in running.connections[0].items() if k not in ("name", "provider")}
    options["poll_seconds"] = 0.5
    store = Store()
    runtime = FeedRuntime(store, watchdog_interval=None)
    messages: list[str] = []
    runtime.notify_handler = lambda connection, message, severity: messages.append(message)
    runtime.add(provider(), make_context(provider(), name="CRM demo", **options))
    try:
        await runtime.start()
        await wait_for(lambda: store.state("CRM demo") is HealthState.LIVE, timeout=10)
        assert list(store.leads["CRM demo"]) == ["today", "7d", "30d"]
        first = store.leads["CRM demo"]["today"].leads
        await wait_for(lambda: store.leads["CRM demo"]["today"].leads > first, timeout=10)
        await wait_for(lambda: any(m.endswith(("new leads", "new lead")) for m in messages), timeout=10)
    finally:
        await runtime.stop()
        await running.stop()
    assert running.control.requests("/api/v1/auth/login") == 1


def test_plugin_import_is_light_and_registers_provider_and_simulator():
    host = PluginHost()
    host.load(only=["crm"])
    assert host.providers["crm"].options is ibmon_crm.OPTIONS
    assert "crm" in host.simulators
    secrets = {o.name for o in ibmon_crm.OPTIONS if o.secret}
    assert secrets == {"api_key", "password"}


async def test_amounts_over_too_many_pages_are_marked_partial(crm):
    session = CrmSession(context(crm, lookback_days=30, page_size=10, max_pages=2))
    sink = FunnelSink()
    try:
        await session.poll(sink)
    finally:
        await session.close()
    assert crm.control.requests("/api/v1/ib/transactions") == 3 + 2
    assert sink.notes == ("amounts are partial: CRM transactions stopped after 2 pages (max_pages), 20 records read",)
    assert sink.funnel["30d"].transactions > 20  # the count itself stays exact


def test_snapshot_json_reports_the_lookback_window(shared_crm, tmp_path, capsys, monkeypatch):
    import json

    import tomli_w

    from ibmon.cli import main

    monkeypatch.setenv("IBMON_PLUGINS", "crm")
    connection = {"name": "CRM", "provider": "crm", "base_url": shared_crm.url, "domain": shared_crm.domain,
                  "api_key": shared_crm.api_key, "email": shared_crm.email, "password": shared_crm.password,
                  "lookback_days": 14}
    config = tmp_path / "ibmon.toml"
    config.write_text(tomli_w.dumps({"connections": [connection]}))
    assert main(["--config", str(config), "snapshot", "--json", "--timeout", "10"]) == 0
    report = json.loads(capsys.readouterr().out)["connections"][0]
    first, last = utc_today() - timedelta(days=13), utc_today()
    span = bounds(first.isoformat(), last.isoformat())
    assert report["ok"] and report["leads"] == {
        "from": first.isoformat(), "to": last.isoformat(),
        "leads": shared_crm.control.population().select_leads(span, None).total,
        "registrations": shared_crm.control.population().select_customers(span, None, float("inf")).total,
        "transactions": shared_crm.control.population().select_transactions(span, False).total,
    }
    assert shared_crm.api_key not in json.dumps(report)
