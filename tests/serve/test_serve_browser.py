"""`ibmon serve` in a real browser (headless Chromium through Selenium) on every first-party
simulator: refused without the password, logged in by the form, the dashboard live and driven by
the keyboard, logged out; a wrong password refused and the attempts limited; and no secret of the
config in any response, header, URL or WebSocket message the browser saw."""

from __future__ import annotations

import base64
import html
from urllib.parse import quote, quote_plus

import pytest
from selenium.webdriver.common.keys import Keys

from browser import Browser, require_chromium
from serving import PASSWORD, PASSWORD_VAR, Server, Simulators, config_with_serve

pytestmark = pytest.mark.e2e
SERVE_TABLE = f'password = {{ env = "{PASSWORD_VAR}" }}\n'


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    require_chromium()
    sims = Simulators(tmp_path_factory.mktemp("sims"))
    yield sims
    sims.stop()


@pytest.fixture
def server(sims, tmp_path):
    config = config_with_serve(sims.config, tmp_path / "config.toml", SERVE_TABLE)
    server = Server(config, tmp_path)
    yield server
    assert server.stop() == 0, server.proc.stderr.read()


@pytest.fixture
def browser():
    browser = Browser.start()
    yield browser
    browser.quit()


def provider_secrets(sims) -> list[str]:
    """Every secret option of the simulators' connections, read as ibmon reads the config."""
    from ibmon import config as cfg
    from ibmon.secrets import Secret

    config, _host = cfg.load(sims.config, required=True)
    found = [value.reveal() for c in config.connections for value in c.options.values() if isinstance(value, Secret)]
    assert len(found) >= 3, "the simulators' config names fewer secrets than expected"
    return found


def forms(secret: str) -> set[str]:
    """How a secret could travel in a page, a header or a URL."""
    return {secret, quote(secret), quote_plus(secret), html.escape(secret),
            base64.b64encode(secret.encode()).decode()}


def ticks_rows(screen: str) -> list[str]:
    """The rows of the Ticks panel (left half of the screen, under its column header)."""
    lines = screen.split("\n")
    top = next((i for i, line in enumerate(lines) if line.startswith("╭─ Ticks ")), None)
    rows = []
    for line in lines[top + 2:] if top is not None else []:
        if line.startswith("╰") or not line.startswith("│"):
            break
        if cell := line.split("│")[1].strip():
            rows.append(cell)
    return rows


def test_refused_without_the_password_then_logged_in_live_keyboard_and_logout(sims, server, browser):
    browser.open(server.url)
    assert browser.driver.current_url.endswith("/login"), "the dashboard opened without a login"
    assert browser.driver.title.startswith("ibmon — ")
    assert not browser.elements("#terminal")
    # no WebSocket either: the browser's own attempt is refused before any dashboard starts
    opened = browser.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
        socket.onopen = () => done("opened"); socket.onerror = () => done("refused");""")
    assert opened == "refused"

    browser.log_in(PASSWORD)
    assert browser.driver.current_url == server.url
    assert browser.driver.title.startswith("ibmon — collector ws://127.0.0.1:")  # serve's own collector
    cookie = browser.driver.get_cookie("ibmon_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    first = browser.wait_until(lambda: len(rows := ticks_rows(browser.screen())) >= 4 and rows, "quotes on screen")
    browser.wait_until(lambda: (rows := ticks_rows(browser.screen())) and rows != first, "the quotes to move")
    assert "Balances" in browser.screen() and "Positions" in browser.screen()

    browser.press("?")  # the help key, typed into the page
    browser.wait_until(lambda: "Keys in force" in browser.screen(), "the help screen")
    browser.press(Keys.ESCAPE)
    browser.wait_until(lambda: "Keys in force" not in browser.screen(), "help to close")

    browser.element("header button[type=submit]").click()  # Log out
    browser.wait_until(lambda: browser.driver.current_url.endswith("/login"), "the login page after logout")
    browser.open(server.url)
    assert browser.driver.current_url.endswith("/login"), "the session outlived its logout"

    secrets = [PASSWORD, *provider_secrets(sims)]
    browser.read_log()
    assert any(e.what == "screen bytes" for e in browser.exchanges) and any(e.what == "body" for e in browser.exchanges)
    for exchange in browser.exchanges:
        for secret in secrets:
            for form in forms(secret):
                assert form not in exchange.text, f"a secret reached the browser: {exchange.what} of {exchange.url}"


def test_a_wrong_password_is_refused_and_attempts_are_limited(server, browser):
    browser.open(server.url)
    for attempt in range(5):
        browser.log_in(f"wrong password {attempt}")
        assert browser.driver.current_url.endswith("/login")
        assert "Wrong password" in browser.page_text()
    browser.log_in(PASSWORD)  # the right one, too late: this address waits
    text = browser.page_text()
    assert "Too many failed logins from this address" in text and "try again in 15 minutes" in text
    assert browser.driver.current_url.endswith("/login") and browser.driver.get_cookie("ibmon_session") is None
    browser.read_log()
    posts = [status for url, kind, status in browser.statuses if url.endswith("/login") and kind == "Document"]
    assert posts[-6:] == [401] * 5 + [429], posts
