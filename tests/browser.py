"""A real browser for the page tests: Debian's chromium and chromium-driver, driven by Selenium.

`find_browser()` looks for a Chromium or Chrome and its driver on PATH (scripts/setup
installs Debian's `chromium` and `chromium-driver` when it runs as root on Debian or
Ubuntu); `Browser` launches it headless, offline-friendly, with a fresh profile, and
records what each page asked the network for and logged to its console.

Used through the `browser` fixture (tests/conftest.py): a test calls `browser.open(url)`,
then reads `browser.requested_urls()` and `browser.console_errors()`.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DRIVERS = ("chromedriver", "chromium-driver")
NETWORK_SCHEMES = ("http", "https", "ws", "wss")
# Headless, no GPU, no sandbox (containers run as root), and none of the browser's own
# network traffic (updates, sync, field trials), so what it requests is what the page asked for.
LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


@dataclass(frozen=True)
class PageWeight:
    """What a page loaded from its own origin under a path: as served, and gzipped (level 9)."""

    files: int
    bytes: int
    gzip_bytes: int


@dataclass(frozen=True)
class Installed:
    binary: str
    driver: str


def find_browser() -> tuple[Installed | None, str]:
    """The browser and driver on PATH (CHROME_BINARY and CHROMEDRIVER override), or None and why not."""
    binary = os.environ.get("CHROME_BINARY") or next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = os.environ.get("CHROMEDRIVER") or next(filter(None, map(shutil.which, DRIVERS)), None)
    if binary is None:
        return None, f"no Chromium or Chrome on PATH (looked for {', '.join(BROWSERS)}); install chromium"
    if driver is None:
        return None, f"{binary} is there but no chromedriver on PATH; install chromium-driver"
    return Installed(binary, driver), ""


class Browser:
    """One headless browser for a session; each `open` starts the page's records afresh."""

    def __init__(self, installed: Installed) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="browser-profile-"))
        options = webdriver.ChromeOptions()
        options.binary_location = installed.binary
        for flag in (*LAUNCH_FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        # The console (browser) and the DevTools network events (performance) of every page.
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(installed.driver), options=options)
        self._console: list[dict[str, Any]] = []
        self._requests: list[str] = []

    def open(self, url: str) -> None:
        self._drain()
        self._console, self._requests = [], []
        self.driver.get(url)

    def wait_for_all(self, css: str, timeout: float = 30) -> list[WebElement]:
        """The elements matching `css` once at least one is there."""
        wait = WebDriverWait(self.driver, timeout)
        return wait.until(expected_conditions.presence_of_all_elements_located((By.CSS_SELECTOR, css)))

    def console_errors(self) -> list[str]:
        """What the page logged at error level (CSP violations, failed loads, uncaught exceptions)."""
        self._drain()
        return [entry["message"] for entry in self._console if entry["level"] == "SEVERE"]

    def requested_urls(self) -> list[str]:
        """Every network URL the page asked for since `open` (http, https, ws, wss: not the browser's
        own chrome-untrusted:// pages, nor data: URLs), from DevTools' network log and the Resource Timing entries."""
        self._drain()
        timed = self.driver.execute_script(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".map(entry => entry.name)"
        )
        return sorted(url for url in set(self._requests) | set(timed) if urlsplit(url).scheme in NETWORK_SCHEMES)

    def page_weight(self, origin: str, prefix: str) -> PageWeight:
        """The files under `origin` + `prefix` the page has requested since `open`, fetched again
        and weighed: how much a first visit downloads (before the API's answers)."""
        urls = sorted({url for url in self.requested_urls() if url.startswith(origin + prefix)})
        bodies = [httpx.get(url, timeout=30).content for url in urls]
        return PageWeight(len(urls), sum(map(len, bodies)), sum(len(gzip.compress(body, 9)) for body in bodies))

    def _drain(self) -> None:
        self._console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self._requests.append(message["params"]["request"]["url"])

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
