"""A service binding as an HTTP client that answers in `shared.http` terms.

Failures come back as `ServiceError`s carrying the status the gateway owes its
client: 502 (the service answered with a failure), 503 (it could not be reached),
504 (it did not answer in time). Each call carries the current trace (`traceparent`) and
brings back the callee's `Server-Timing` entry for the caller's answer (shared.telemetry).
"""

import asyncio
from typing import Any

from contracts.internal import INTERNAL_ORIGIN
from shared.adapters.jsvalues import header_pairs, js_binding, to_js_value
from shared.config import env_int
from shared.http import Headers, HttpResponse
from shared.telemetry import SERVER_TIMING, awaited, count, note_timing, trace_headers


class ServiceError(Exception):
    """`retry_after`: seconds a client should wait, when it is known (an open circuit breaker)."""

    def __init__(self, service: str, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class ServiceClient:
    def __init__(self, name: str, binding: Any, timeout_seconds: float) -> None:
        self.name = name
        self._binding = js_binding(binding)
        self._timeout = timeout_seconds

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", *, stream: bool = False
    ) -> HttpResponse:
        """Send one request; the service's answer, or a `ServiceError` for a 5xx, no answer or a timeout.

        `stream`: leave the answer's body in the runtime (`HttpResponse.stream`), for an answer
        handed on as it is; the timeout then covers the service's status and headers."""
        try:
            async with asyncio.timeout(self._timeout):  # no task per call, as wait_for makes
                response = await self._send(method, path, headers, body, stream)
        except TimeoutError:
            raise ServiceError(self.name, 504, f"{self.name} did not answer in time") from None
        except ServiceError:
            raise
        except Exception as error:
            raise ServiceError(self.name, 503, f"{self.name} is unavailable") from error
        if response.status >= 500:
            raise ServiceError(self.name, 503 if response.status == 503 else 502, f"{self.name} failed")
        return response

    async def _send(self, method: str, path: str, headers: dict[str, str], body: bytes, stream: bool) -> HttpResponse:
        options: dict[str, Any] = {"method": method, "headers": {**headers, **trace_headers()}}
        if body:
            options["body"] = body
        count("subrequests")
        response = await awaited(self._binding.fetch(INTERNAL_ORIGIN + path, to_js_value(options)))
        answer = HttpResponse(int(response.status), headers=Headers(header_pairs(response)))
        if stream:
            answer.stream = response.body
        else:
            answer.body = (await awaited(response.arrayBuffer())).to_bytes()
        note_timing(answer.headers.get(SERVER_TIMING, ""))
        return answer


def service_client(env: Any, name: str, binding: Any) -> ServiceClient:
    """`binding` as a client with the config's `SERVICE_TIMEOUT_MS` (default 10 s), the one
    timeout every worker gives its service calls."""
    return ServiceClient(name, binding, env_int(env, "SERVICE_TIMEOUT_MS", 10_000) / 1000)
