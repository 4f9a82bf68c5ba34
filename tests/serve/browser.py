"""Headless Chromium through Selenium, reading what it received as the page's user would see it.

The browser draws the terminal on a canvas, so the screen is rebuilt from the bytes the page's
WebSocket received (Chromium's own network log, nothing injected into the page), rendered by pyte
at the size the page asked for. The same log gives every HTTP response and WebSocket message of
the session, for the check that no secret ever reaches the browser.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyte
import pytest

CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = "chromedriver"


def require_chromium() -> tuple[str, str]:
    """The browser and its driver, or a skip saying what to install."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which(CHROMEDRIVER)
    if not browser or not driver:
        pytest.skip("headless Chromium is not installed: apt-get install -y chromium chromium-driver")
    return browser, driver


@dataclass
class Exchange:
    """One response (or WebSocket message) the browser received, as text for the secret scan."""

    url: str
    what: str
    text: str


@dataclass
class Browser:
    driver: object
    received: bytearray = field(default_factory=bytearray)
    sent: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    statuses: list[tuple[str, str, int]] = field(default_factory=list)
    _urls: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def start(cls) -> "Browser":
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        binary, driver_path = require_chromium()
        options = Options()
        options.binary_location = binary
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                         "--disable-gpu", "--no-first-run", "--disable-extensions"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        return cls(webdriver.Chrome(options=options, service=Service(driver_path)))

    def quit(self) -> None:
        self.driver.quit()

    # -- pages ---------------------------------------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.read_log()

    def element(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def elements(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def log_in(self, password: str) -> None:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.expected_conditions import staleness_of
        from selenium.webdriver.support.wait import WebDriverWait

        field_ = self.element("#password")
        field_.clear()
        field_.send_keys(password)
        button = self.element("button[type=submit]")
        button.click()
        # The answer is a new page. Chromium's driver may report the old button as a node that no
        # longer belongs to the document, instead of as stale, while the new page replaces it.
        WebDriverWait(self.driver, 30, ignored_exceptions=[WebDriverException]).until(staleness_of(button))

    def page_text(self) -> str:
        return self.element("body").text

    def forget_screen(self) -> None:
        """Start a new screen (the next dashboard of this browser draws from scratch)."""
        self.read_log()
        self.received.clear()
        self.sent.clear()

    def press(self, keys: str) -> None:
        """Type into the terminal as a person would: focus it, then key presses."""
        from selenium.webdriver.common.action_chains import ActionChains

        self.element("#terminal").click()
        ActionChains(self.driver).send_keys(keys).perform()

    # -- the network log -----------------------------------------------------------------------

    def read_log(self) -> None:
        """Take in what the browser sent and received since the last call."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message.get("params", {})
            if method == "Network.responseReceived":
                response = params["response"]
                self._urls[params["requestId"]] = (response["url"], params.get("type", ""))
                self.statuses.append((response["url"], params.get("type", ""), int(response["status"])))
                self.exchanges.append(Exchange(response["url"], "headers", json.dumps(response.get("headers", {}))))
            elif method == "Network.requestWillBeSent":
                self.exchanges.append(Exchange(params["request"]["url"], "request url", params["request"]["url"]))
            elif method == "Network.loadingFinished" and params["requestId"] in self._urls:
                self._body(params["requestId"])
            elif method == "Network.webSocketHandshakeResponseReceived":
                response = params["response"]
                self.statuses.append(("websocket", "WebSocket", int(response["status"])))
                self.exchanges.append(Exchange("websocket", "handshake headers", json.dumps(response.get("headers", {}))))
            elif method == "Network.webSocketFrameReceived":
                frame = params["response"]
                if frame["opcode"] == 1:
                    self.exchanges.append(Exchange("websocket", "text message", frame["payloadData"]))
                else:
                    data = base64.b64decode(frame["payloadData"])
                    self.received += data
                    self.exchanges.append(Exchange("websocket", "screen bytes", data.decode("utf-8", "replace")))
            elif method == "Network.webSocketFrameSent":
                self.sent.append(params["response"]["payloadData"])

    def _body(self, request_id: str) -> None:
        from selenium.common.exceptions import WebDriverException

        url, _kind = self._urls.pop(request_id)
        try:
            body = self.driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
        except WebDriverException:  # a redirect or an empty response has no body to fetch
            return
        text = base64.b64decode(body["body"]).decode("utf-8", "replace") if body.get("base64Encoded") else body["body"]
        self.exchanges.append(Exchange(url, "body", text))

    # -- the terminal --------------------------------------------------------------------------

    def screen(self) -> str:
        """The dashboard as the page shows it now."""
        self.read_log()
        sizes = [json.loads(message)[1] for message in self.sent if message.startswith('["resize"')]
        if not sizes:
            return ""
        screen = pyte.Screen(sizes[-1]["width"], sizes[-1]["height"])
        pyte.ByteStream(screen).feed(bytes(self.received))
        return "\n".join(screen.display)

    def wait_until(self, condition: Callable[[], object], what: str, timeout: float = 45.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := condition():
                return result
            time.sleep(0.25)
        raise AssertionError(f"waited {timeout:g} s for {what}; the screen:\n{self.screen()}")
