"""The gateway's HTML pages (`GET /docs`, `GET /admin/`): static assets served through the worker.

The page's file lives in the gateway's static assets (`[assets]` in wrangler.toml, built
from src/pages); its route runs the worker first (`run_worker_first`), which reads the
file from the ASSETS binding. So a page is an answer like any other: rate-limited,
logged with its request id, stamped with the security headers, and given its own
Content-Security-Policy. The scripts and styles it loads are served by the asset server
itself, with the security headers from src/pages/_headers.
"""

from gateway.context import GatewayContext
from gateway.proxy import as_problem
from shared.adapters.services import ServiceError
from shared.http import Handler, Headers, HttpRequest, HttpResponse

# What each page may load: its own origin's scripts, styles and fetches; nothing inline,
# nothing from elsewhere, no framing. The reference adds the data: URL images Swagger UI's
# stylesheet and icons use. The dashboard needs nothing more; it also forbids <base> and
# any form submission, so its sign-in form can only be sent by its own script (as JSON),
# never as a query string with the password in it.
DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
ADMIN_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# Each page's path (its GET route in gateway/routes.py, and its asset) and its CSP.
PAGE_CSPS = {"/docs": DOCS_CSP, "/admin/": ADMIN_CSP}


class MissingAsset(LookupError):
    """The build did not put a page where its route expects it: a deployment bug, so a logged 500."""


def page(asset_path: str, csp: str) -> Handler[GatewayContext]:
    """The handler of a page route: the asset at `asset_path`, with the page's CSP."""

    async def serve(request: HttpRequest, ctx: GatewayContext) -> HttpResponse:
        try:
            answer = await ctx.assets.request("GET", asset_path, {}, stream=True)
        except ServiceError as error:
            raise as_problem(error) from error
        if answer.status != 200:
            raise MissingAsset(f"the static asset {asset_path} answered {answer.status}")
        content_type = answer.headers.get("content-type", "text/html; charset=utf-8")
        headers = Headers({"Content-Type": content_type, "Content-Security-Policy": csp})
        return HttpResponse(200, answer.body, headers, answer.stream)

    return serve
