"""CORS for browser clients from the configured origins; everyone else gets no CORS headers."""

from dataclasses import dataclass

from shared.errors import HttpProblem
from shared.http import HttpRequest, HttpResponse, empty_response

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, X-Cache, Idempotent-Replayed, Retry-After"


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str]
    max_age_seconds: int = 600

    def allows(self, origin: str) -> bool:
        return origin in self.origins

    def preflight(self, request: HttpRequest, allowed_methods: list[str]) -> HttpResponse:
        """204 with CORS headers for an allowed origin; 403 for any other."""
        origin = request.header("origin")
        if not self.allows(origin):
            raise HttpProblem(403, "This origin may not call the API from a browser")
        return empty_response(
            204,
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(sorted(set(allowed_methods))),
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(self.max_age_seconds),
                "Vary": "Origin",
            },
        )

    def decorate(self, request: HttpRequest, response: HttpResponse) -> None:
        origin = request.header("origin")
        if origin and self.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            response.headers["Vary"] = "Origin"
