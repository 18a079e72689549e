"""GET /docs: the interactive API reference, from the gateway's own origin.

Over HTTP: the page and its vendored scripts carry the security headers (the page with
its own CSP), and HEAD answers like GET. In a real browser (tests/browser.py): Swagger UI
renders every operation of the live document, nothing is requested from anywhere but
the gateway's origin, and the console stays free of errors (a CSP violation is one).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from selenium.webdriver.common.by import By

from gateway.pages import DOCS_CSP
from shared.http import SECURITY_HEADERS

PAGE_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": DOCS_CSP}
VENDORED = ("/docs/vendor/swagger-ui/swagger-ui-bundle.js", "/docs/vendor/swagger-ui/swagger-ui.css")
OWN = ("/docs/reference.js",)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def test_the_page_is_html_with_its_own_csp_and_the_security_headers(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert page.headers[name] == value, name
    assert page.headers["x-request-id"]
    assert "<script>" not in page.text and "http://" not in page.text and "https://" not in page.text
    head = api.head("/docs")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-security-policy"] == DOCS_CSP


def test_its_scripts_and_styles_come_from_the_same_origin_with_the_security_headers(api: httpx.Client) -> None:
    page = api.get("/docs").text
    for path in (*VENDORED, *OWN):
        assert f'"{path}"' in page
        asset = api.get(path)
        assert asset.status_code == 200 and asset.content, path
        assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css")
        for name, value in SECURITY_HEADERS.items():
            assert asset.headers[name] == value, (path, name)


def test_other_methods_on_the_page_are_405(api: httpx.Client) -> None:
    refused = api.post("/docs", json={})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_it_renders_every_operation_in_a_real_browser_from_this_origin_only(browser, live) -> None:
    document = httpx.get(f"{live.base_url}/openapi.json", timeout=30).json()
    operation_ids = {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    browser.open(f"{live.base_url}/docs")
    rendered = browser.wait_for_all(".opblock")
    assert browser.driver.title == "Edge API reference"
    shown = {element.get_attribute("id").rsplit("-", 1)[-1] for element in rendered}  # operations-<tag>-<operationId>
    assert shown == operation_ids
    origin = urlsplit(live.base_url)
    elsewhere = [url for url in browser.requested_urls() if urlsplit(url)[:2] != (origin.scheme, origin.netloc)]
    assert elsewhere == []
    assert f"{live.base_url}/openapi.json" in browser.requested_urls()
    assert browser.console_errors() == []


def test_try_it_out_calls_the_gateway_it_was_served_by(browser, live) -> None:
    """The reference is interactive: Execute on getHealth sends the request to `servers`, this origin."""
    browser.open(f"{live.base_url}/docs#/system/getHealth")
    operation = browser.wait_for_all("#operations-system-getHealth")[0]
    if not operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"):  # deep link not expanded yet
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    browser.wait_for_all("#operations-system-getHealth .try-out__btn")[0].click()
    browser.wait_for_all("#operations-system-getHealth .execute")[0].click()
    status = browser.wait_for_all("#operations-system-getHealth .live-responses-table .response .response-col_status")
    assert status[0].text.strip().startswith("200")
    assert f"{live.base_url}/health" in browser.requested_urls()
    assert browser.console_errors() == []
