"""A webhook receiver in the test process: the orders worker delivers order events to one,
the gateway its alerts to another.

It records every delivery (headers, raw body, arrival time) and answers 204, or 503
while `failing` is set, so tests can watch retries, dead letters and replays happen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float
    accepted: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, path: str = "/orders") -> None:
        self.path = path
        self.failing = False
        self._deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                accepted = not receiver.failing
                receiver._record(
                    Delivery({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(), accepted)
                )
                self.send_response(204 if accepted else 503)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # the test log stays readable
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()

    def matching(self, wanted: Callable[[Delivery], bool]) -> list[Delivery]:
        """Every delivery so far that `wanted` picks, accepted or refused, in arrival order."""
        with self._changed:
            return [d for d in self._deliveries if wanted(d)]

    def deliveries(self, order_id: str) -> list[Delivery]:
        """Every delivery about `order_id` so far, accepted or refused."""
        return self.matching(lambda d: d.event.get("order_id") == order_id)

    def wait_until(
        self, wanted: Callable[[Delivery], bool], count: int = 1, timeout: float = 60, what: str = "deliveries"
    ) -> list[Delivery]:
        """The first `count` deliveries `wanted` picks, waiting up to `timeout` s for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [d for d in self._deliveries if wanted(d)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} {what} within {timeout} s")
                self._changed.wait(left)

    def wait_for(
        self, order_id: str, count: int = 1, accepted: bool | None = None, timeout: float = 60
    ) -> list[Delivery]:
        """The first `count` deliveries about `order_id` (only accepted or refused ones, if asked)."""
        return self.wait_until(
            lambda d: d.event.get("order_id") == order_id and (accepted is None or d.accepted == accepted),
            count,
            timeout,
            f"deliveries for {order_id}",
        )

    def close(self) -> None:
        self._server.shutdown()
