"""The names the code and the wrangler configs must share are the same in both.

Queue names live in the configs (producers, consumers, the dead-letter queue); the orders
worker also needs them in Python, to tell a dead letter's batch from the others and to
replay a letter to its queue. Python cannot read the config at run time, so this test
holds the two copies together, in every environment: a deployed environment's queues are
the same names with its QUEUE_NAME_SUFFIX, which the orders worker strips.
"""

import tomllib
from pathlib import Path

import pytest

from orders.messages import DEAD_LETTER_QUEUE, MAX_RETRIES, ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE
from shared.metrics import BINDING, DATASET

ROOT = Path(__file__).resolve().parents[2]


def config(path: str, environment: str | None) -> dict:
    whole = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))
    return whole if environment is None else whole["env"][environment]


@pytest.mark.parametrize("environment", [None, "staging", "production"])
def test_queue_names_in_python_are_the_configured_ones(environment: str | None) -> None:
    orders = config("services/orders/wrangler.toml", environment)
    users = config("services/users/wrangler.toml", environment)
    suffix = orders["vars"]["QUEUE_NAME_SUFFIX"]
    assert suffix == ("" if environment is None else f"-{environment}")
    order_events, user_events, dead_letters = (
        q + suffix for q in (ORDER_EVENTS_QUEUE, USER_EVENTS_QUEUE, DEAD_LETTER_QUEUE)
    )
    producers = {p["binding"]: p["queue"] for p in orders["queues"]["producers"]}
    consumers = {c["queue"]: c.get("dead_letter_queue") for c in orders["queues"]["consumers"]}
    assert producers == {"ORDER_EVENTS": order_events, "USER_EVENTS": user_events}
    assert "queues" not in users, (
        "users sends no events: its erasure is a workflow (README: Choreography or orchestration)"
    )
    assert consumers == {order_events: dead_letters, user_events: dead_letters, dead_letters: None}


@pytest.mark.parametrize("environment", [None, "staging", "production"])
def test_max_retries_in_python_is_the_configured_one(environment: str | None) -> None:
    """The consumer says "will retry" only while the queue will retry (orders.messages.last_attempt)."""
    consumers = config("services/orders/wrangler.toml", environment)["queues"]["consumers"]
    retried = [c["max_retries"] for c in consumers if c.get("dead_letter_queue")]
    assert retried == [MAX_RETRIES, MAX_RETRIES]


@pytest.mark.parametrize("environment", [None, "staging", "production"])
@pytest.mark.parametrize("path", ["wrangler.toml", "services/users/wrangler.toml", "services/orders/wrangler.toml"])
def test_every_worker_writes_to_its_metrics_dataset_and_turns_on_traces(path: str, environment: str | None) -> None:
    """Each environment writes its own dataset, and the gateway's metrics read that one."""
    table = config(path, environment)
    dataset = DATASET + ("" if environment is None else f"_{environment}")
    assert table["analytics_engine_datasets"] == [{"binding": BINDING, "dataset": dataset}]
    traces = table["observability"]["traces"]
    assert table["observability"]["enabled"] and traces["enabled"]
    assert 0 < traces["head_sampling_rate"] <= 1
    if path == "wrangler.toml":
        assert table["vars"]["ANALYTICS_DATASET"] == dataset
