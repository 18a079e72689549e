"""The pages' static assets: the headers the asset server gives them are the gateway's."""

from pathlib import Path

from shared.http import SECURITY_HEADERS

PAGES = Path(__file__).resolve().parents[2] / "src" / "pages"


def headers_rules(text: str) -> dict[str, dict[str, str]]:
    """`_headers` as {path pattern: {name: value}} (Cloudflare's format: a pattern, then indented lines)."""
    rules: dict[str, dict[str, str]] = {}
    pattern = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            name, _, value = line.strip().partition(":")
            rules[pattern][name.strip()] = value.strip()
        else:
            pattern = line.strip()
            rules[pattern] = {}
    return rules


def test_static_page_assets_carry_the_security_headers() -> None:
    rules = headers_rules((PAGES / "_headers").read_text(encoding="utf-8"))
    assert rules == {"/docs/*": SECURITY_HEADERS, "/admin/*": SECURITY_HEADERS}


def test_pages_load_nothing_inline_and_nothing_from_elsewhere() -> None:
    for html in PAGES.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "<script>" not in text and "<style" not in text and " style=" not in text, html
        assert "://" not in text, html
