"""The dashboard's picture and figures (run by scripts/screenshot, which starts the system).

Sends `--minutes` of traffic to a running system (orders read and missed, bad bodies, a
spell of injected 5xx through the local runtime's fault door, the crons through its
scheduled door (the gateway's, which evaluates the alert rules, every minute), dead
letters from a refusing webhook URL), waits for the breakers to
close again, then, in headless Chromium
(tests/browser.py):

* `--loads` cold loads of /admin/ (browser cache off), each signed in as the local admin:
  the time from navigation to the page being ready (DOMContentLoaded) and from the
  sign-in's submit to the first chart drawn (login, role check, the metrics query, uPlot);
* the page's weight: every file it loaded from /admin/, as served and gzipped;
* the picture: the whole dashboard over the last 15 minutes, as DIR/dashboard.png (in 128
  colours, for the repository's sake).

The figures and their conditions go to DIR/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import Browser, find_browser

ADMIN = ("admin@example.com", "an admin password")
USER = ("ada@example.com", "correct horse battery")
ORDER = {"items": [{"sku": "BOOK-1", "quantity": 2, "unit_price_cents": 1250}], "currency": "EUR"}
ROUND_S = 5
READY_TIMEOUT_S = 180


def wait_until_up(base_url: str) -> None:
    """scripts/dev holds requests until every worker is up: the first answer means ready."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{base_url}/health", timeout=READY_TIMEOUT_S).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def token(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    api.post("/api/auth/register", json={"email": email, "password": password, "name": email.split("@")[0]})
    answer = api.post("/api/auth/login", json={"email": email, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def settle(api: httpx.Client) -> None:
    """Waits (a minute at most) for both breakers to close again after the spell of 5xx."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        breakers = api.get("/health").json()["breakers"]
        if all(breaker["state"] == "closed" for breaker in breakers.values()):
            return
        time.sleep(2)


CRONS = {"orders": "*/15 * * * *", "users": "0 3 * * *", "gateway": "* * * * *"}  # the gateway's evaluates the alerts


def run_cron(api: httpx.Client, worker: str) -> None:
    api.post("/cdn-cgi/local/scheduled", params={"worker": worker, "cron": CRONS[worker]})


def traffic(base_url: str, minutes: int) -> None:
    """Rounds of ordinary use every few seconds; a spell of 5xx from the orders worker a third of the way."""
    with httpx.Client(base_url=base_url, timeout=30) as api:
        token(api, *ADMIN)  # registered first: ADMIN_EMAILS makes it an admin
        user = token(api, *USER)
        run_cron(api, "orders")
        run_cron(api, "users")
        rounds = minutes * 60 // ROUND_S
        order_id = ""
        for n in range(rounds):
            started = time.monotonic()
            fault = "fail" if n == rounds // 3 else "none" if n == rounds // 3 + 2 else None
            if fault:
                api.post("/cdn-cgi/local/faults", params={"worker": "orders", "fault": fault})
            if n % (60 // ROUND_S) == 0:
                run_cron(api, "gateway")  # every minute, as on Cloudflare
            if n % 4 == 0:
                order_id = api.post("/api/orders", json=ORDER, headers=user).json().get("id", order_id)
            for path in (f"/api/orders/{order_id}", f"/api/orders/{order_id}", "/api/orders/ord_missing"):
                api.get(path, headers=user)
            api.get("/api/orders?limit=5", headers=user)
            api.get("/api/users/me", headers=user)
            api.post("/api/orders", json={"items": []}, headers=user)  # a 422
            print(f"screenshot: traffic round {n + 1}/{rounds}", file=sys.stderr)
            time.sleep(max(0.0, ROUND_S - (time.monotonic() - started)))
        for worker in CRONS:
            run_cron(api, worker)
        settle(api)


def sign_in(browser: Browser, base_url: str) -> None:
    browser.open(f"{base_url}/admin/")
    form = browser.wait_for_all("#sign-in-form")[0]
    form.find_element(By.NAME, "email").send_keys(ADMIN[0])
    form.find_element(By.NAME, "password").send_keys(ADMIN[1])
    form.find_element(By.ID, "sign-in-button").click()
    drawn = (
        "return performance.getEntriesByName('first-chart').length && document.getElementById('updated').textContent"
    )
    WebDriverWait(browser.driver, 60).until(lambda driver: driver.execute_script(drawn))


def cold_load(browser: Browser, base_url: str) -> dict[str, float]:
    browser.driver.execute_cdp_cmd("Network.enable", {})
    browser.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    sign_in(browser, base_url)
    return browser.driver.execute_script(
        """const [nav] = performance.getEntriesByType('navigation');
        const at = (name) => performance.getEntriesByName(name)[0].startTime;
        return {ready: nav.domContentLoadedEventEnd, first_chart: at('first-chart') - at('sign-in')};"""
    )


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values)), "min": round(min(values)), "max": round(max(values))}


def picture(browser: Browser, base_url: str, path: Path) -> None:
    """The whole dashboard over the last 15 minutes."""
    sign_in(browser, base_url)
    driver = browser.driver
    before = driver.find_element(By.ID, "updated").text
    Select(driver.find_element(By.ID, "window")).select_by_value("15")
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "updated").text != before)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height + 140)  # the window's frame around the page
    time.sleep(0.5)  # the charts follow the new size
    driver.save_screenshot(str(path))
    shrink(path)


def shrink(path: Path) -> None:
    """128 colours, no dithering: a third of the bytes, the charts' colours and the text intact."""
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    installed, why_not = find_browser()
    if installed is None:
        raise SystemExit(f"screenshot: {why_not}")
    base_url = args.base_url.rstrip("/")
    wait_until_up(base_url)
    traffic(base_url, args.minutes)

    load_average = os.getloadavg()[0]
    browser = Browser(installed)
    try:
        loads = [cold_load(browser, base_url) for _ in range(args.loads)]
        weight = browser.page_weight(base_url, "/admin/")
        version = browser.driver.capabilities.get("browserVersion", "unknown")
        picture(browser, base_url, args.out_dir / "dashboard.png")
    finally:
        browser.close()
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "conditions": (
            f"the local runtime (scripts/dev) after {args.minutes} min of traffic, headless Chromium {version} on "
            f"loopback, browser cache off, window 60 min; {os.cpu_count()} cores ({platform.machine()}), "
            f"load average {load_average:.1f} when the loads began"
        ),
        "loads": len(loads),
        "page_weight": {"files": weight.files, "bytes": weight.bytes, "gzip_bytes": weight.gzip_bytes},
        "page_ready_ms": spread([load["ready"] for load in loads]),
        "sign_in_to_first_chart_ms": spread([load["first_chart"] for load in loads]),
    }
    (args.out_dir / "dashboard.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
