"""GET /admin/: the operations dashboard, from the gateway's own origin.

Over HTTP: the page and its assets carry the security headers (the page with its own CSP)
and it references nothing inline or elsewhere. In a real browser (tests/browser.py): an
admin signs in after known traffic and the charts and the route table show it (and the
alert rules and incidents what GET /api/admin/alerts says), the token
stays out of cookies, storage and the URL, nothing is requested from another origin, the
console stays free of errors, a user's token gets the "admins only" state, and a dead
letter is replayed from the page. The page with its assets weighs at most 150 KB gzipped.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from gateway.pages import ADMIN_CSP
from shared.http import SECURITY_HEADERS
from tests.e2e.conftest import PASSWORD, admin_credentials, wait_for_dead_letter

PAGE = "/admin/"
PAGE_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": ADMIN_CSP}
ASSET = re.compile(r'(?:href|src)="(/admin/[^"]+)"')
BUDGET_BYTES = 150 * 1024  # the page and every asset it loads, gzipped
ORDER = {"items": [{"sku": "DASH-1", "quantity": 1, "unit_price_cents": 990}], "currency": "EUR"}
ROUTE_ROW = 'tr[data-worker="gateway"][data-kind="request"][data-route="/api/orders/{id}"][data-method="GET"]'


def test_the_page_is_html_with_its_own_csp_and_the_security_headers(api: httpx.Client) -> None:
    page = api.get(PAGE)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert page.headers[name] == value, name
    assert page.headers["x-request-id"]
    assert "<script>" not in page.text and "://" not in page.text and " style=" not in page.text
    head = api.head(PAGE)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-security-policy"] == ADMIN_CSP
    assert api.post(PAGE, json={}).status_code == 405
    moved = api.get("/admin")  # the asset server's trailing-slash rule
    assert moved.status_code in (307, 308) and moved.headers["location"] == PAGE


def test_every_asset_it_references_comes_from_the_same_origin_with_the_security_headers(api: httpx.Client) -> None:
    assets = ASSET.findall(api.get(PAGE).text)
    assert "/admin/vendor/uplot/uPlot.iife.min.js" in assets and "/admin/main.js" in assets
    for path in assets:
        asset = api.get(path)
        assert asset.status_code == 200 and asset.content, path
        for name, value in SECURITY_HEADERS.items():
            assert asset.headers[name] == value, (path, name)


def sign_in(browser, base_url: str, email: str, password: str) -> None:
    browser.open(f"{base_url}{PAGE}")
    form = browser.wait_for_all("#sign-in-form")[0]
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.ID, "sign-in-button").click()


def wait_until(browser, script: str, timeout: float = 30):
    """The first truthy value of `script` (JavaScript, `return`ing it) in the page."""
    return WebDriverWait(browser.driver, timeout).until(lambda driver: driver.execute_script(script))


def sign_in_as_admin(browser, live) -> None:
    sign_in(browser, live.base_url, *admin_credentials(live))
    wait_until(browser, "return !document.getElementById('dashboard').hidden")
    wait_until(browser, "return document.querySelectorAll('.uplot canvas').length === 3")
    wait_until(browser, "return document.getElementById('updated').textContent")


def elsewhere(browser, base_url: str) -> list[str]:
    origin = urlsplit(base_url)
    return [url for url in browser.requested_urls() if urlsplit(url)[:2] != (origin.scheme, origin.netloc)]


def caption_numbers(browser, element_id: str, pattern: str) -> list[int]:
    """The numbers a chart's caption gives for the window (its totals)."""
    text = browser.driver.find_element(By.ID, element_id).text
    found = re.fullmatch(pattern, text)
    assert found, text
    return [int(n.replace(",", "")) for n in found.groups()]


def test_an_admin_sees_known_traffic_in_the_charts_and_the_route_table(browser, live, api, user, admin) -> None:
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    for _ in range(3):
        assert api.get(f"/api/orders/{order['id']}", headers=user.headers).status_code == 200
    for _ in range(2):
        assert api.get("/api/orders/ord_missing", headers=user.headers).status_code == 404
    report = api.get("/api/admin/metrics?window=60", headers=admin.headers).json()
    [row] = [
        r
        for r in report["routes"]
        if (r["worker"], r["kind"], r["route"], r["method"]) == ("gateway", "request", "/api/orders/{id}", "GET")
    ]
    sent = {key: sum(minute[key] for minute in report["series"]) for key in ("requests", "errors_4xx")}
    alerts = api.get("/api/admin/alerts", headers=admin.headers).json()  # evaluated only by a cron run

    sign_in_as_admin(browser, live)
    shown = wait_until(browser, f"return document.querySelector('#routes {ROUTE_ROW}')")
    cells = [cell.text for cell in shown.find_elements(By.TAG_NAME, "td")]
    # Only the page's own requests came since the report, and none of them on this route.
    assert int(cells[2].replace(",", "")) == row["requests"] >= 5
    assert cells[4] == f"{row['latency_ms']['p50']:g}"
    [requests] = caption_numbers(browser, "total-requests", r"([\d,]+) in the window")
    errors_4xx, _errors_5xx = caption_numbers(browser, "total-errors", r"4xx: ([\d,]+), 5xx: ([\d,]+)")
    assert requests >= sent["requests"] and errors_4xx >= sent["errors_4xx"] >= 2
    rules = browser.driver.find_elements(By.CSS_SELECTOR, "#alert-rules tr[data-rule]")
    shown_rules = {(rule.get_attribute("data-rule"), rule.get_attribute("data-state")) for rule in rules}
    assert shown_rules == {(rule["name"], rule["state"]) for rule in alerts["rules"]} and len(shown_rules) == 4
    incidents = browser.driver.find_elements(By.CSS_SELECTOR, "#incidents tr[data-incident]")
    assert [row.get_attribute("data-incident") for row in incidents] == [i["id"] for i in alerts["incidents"]]

    assert browser.driver.current_url == f"{live.base_url}{PAGE}"  # no token in the URL
    stored = "return [document.cookie, localStorage.length, sessionStorage.length]"
    assert browser.driver.execute_script(stored) == ["", 0, 0]
    assert elsewhere(browser, live.base_url) == []
    assert browser.console_errors() == []


def test_the_page_and_its_assets_weigh_at_most_150_kb_gzipped(browser, live) -> None:
    sign_in_as_admin(browser, live)
    weight = browser.page_weight(live.base_url, PAGE)
    assert weight.files >= 14  # the page, 2 stylesheets, the icon, uPlot and the page's 10 modules
    assert weight.gzip_bytes <= BUDGET_BYTES, weight


def test_a_user_token_gets_the_admins_only_state(browser, live, user) -> None:
    sign_in(browser, live.base_url, user.email, PASSWORD)
    notice = wait_until(browser, "const n = document.getElementById('admins-only'); return !n.hidden && n")
    assert "Admins only" in notice.text
    assert browser.driver.find_element(By.ID, "dashboard").is_displayed() is False
    assert not [url for url in browser.requested_urls() if "/api/admin/" in url]  # it asked for nothing it may not see
    assert browser.console_errors() == []


def test_a_wrong_password_is_refused_on_the_form(browser, live) -> None:
    sign_in(browser, live.base_url, f"nobody-{uuid.uuid4().hex[:12]}@example.com", "not the password")
    message = wait_until(browser, "const m = document.getElementById('sign-in-error'); return !m.hidden && m")
    assert message.text == "Wrong email or password."


@pytest.fixture
def failing_receiver(local, webhook_receiver):
    webhook_receiver.failing = True
    yield webhook_receiver
    webhook_receiver.failing = False


def test_a_dead_letter_is_replayed_from_the_page(browser, live, api, user, admin, failing_receiver) -> None:
    order = api.post("/api/orders", json=ORDER, headers=user.headers).json()
    attempts = failing_receiver.wait_for(order["id"], count=4, accepted=False, timeout=90)
    letter = wait_for_dead_letter(api, admin, attempts[0].headers["x-event-id"])
    failing_receiver.failing = False

    sign_in_as_admin(browser, live)
    row = wait_until(browser, f"return document.querySelector('#dead-letters tr[data-id=\"{letter['id']}\"]')")
    row.find_element(By.CSS_SELECTOR, "button.replay").click()
    wait_until(
        browser, f'return document.querySelector(\'#dead-letters tr[data-id="{letter["id"]}"][data-state="replayed"]\')'
    )
    [delivered] = failing_receiver.wait_for(order["id"], accepted=True)
    assert delivered.headers["x-event-id"] == attempts[0].headers["x-event-id"]
    waiting = api.get("/api/admin/dead-letters?limit=100", headers=admin.headers).json()["items"]
    assert letter["id"] not in {item["id"] for item in waiting}
    assert browser.console_errors() == []
