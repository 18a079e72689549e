"""The names the code and the wrangler configs must share are the same in both.

Queue names live in the configs (producers, consumers, the dead-letter queue); the orders
worker also needs them in Python, to tell a dead letter's batch from the others and to
replay a letter to its queue. Python cannot read the config at run time, so this test
holds the two copies together.
"""

import tomllib
from pathlib import Path

from orders.messages import DEAD_LETTER_QUEUE, ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE

ROOT = Path(__file__).resolve().parents[2]


def config(path: str) -> dict:
    return tomllib.loads((ROOT / path).read_text(encoding="utf-8"))


def test_queue_names_in_python_are_the_configured_ones() -> None:
    orders, users = config("services/orders/wrangler.toml"), config("services/users/wrangler.toml")
    producers = {p["binding"]: p["queue"] for p in orders["queues"]["producers"]}
    consumers = {c["queue"]: c.get("dead_letter_queue") for c in orders["queues"]["consumers"]}
    assert producers == {"ORDER_EVENTS": ORDER_EVENTS_QUEUE, "USER_EVENTS": USER_EVENTS_QUEUE}
    assert {p["binding"]: p["queue"] for p in users["queues"]["producers"]} == {"EVENTS": USER_EVENTS_QUEUE}
    assert consumers == {
        ORDER_EVENTS_QUEUE: DEAD_LETTER_QUEUE,
        USER_EVENTS_QUEUE: DEAD_LETTER_QUEUE,
        DEAD_LETTER_QUEUE: None,
    }
