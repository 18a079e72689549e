"""shared.adapters.kv.WorkersKv over a binding shaped like the SDK's KV wrapper."""

import pytest

from shared.adapters.kv import WorkersKv
from tests.unit.memory_kv import FakeKvBinding
from tests.unit.users_support import run


def test_round_trip_as_json_text_with_ttl() -> None:
    binding = FakeKvBinding()
    kv = WorkersKv(binding)
    run(kv.put_json("k", {"name": "Ada", "n": 1}, 300))
    assert binding.values["k"] == '{"name":"Ada","n":1}'
    assert binding.options["k"] == {"expirationTtl": 300}
    assert run(kv.get_json("k")) == {"name": "Ada", "n": 1}
    run(kv.delete("k"))
    assert run(kv.get_json("k")) is None


@pytest.mark.parametrize("ttl", [0, 1, 59])
def test_ttl_is_raised_to_kv_minimum(ttl: int) -> None:
    binding = FakeKvBinding()
    run(WorkersKv(binding).put_json("k", {}, ttl))
    assert binding.options["k"] == {"expirationTtl": 60}


@pytest.mark.parametrize("stored", ["not json", "[1, 2]", '"text"'])
def test_unreadable_or_non_object_entries_are_misses(stored: str) -> None:
    binding = FakeKvBinding()
    binding.values["k"] = stored
    assert run(WorkersKv(binding).get_json("k")) is None


def test_deleting_an_absent_key_is_fine() -> None:
    run(WorkersKv(FakeKvBinding()).delete("never-there"))
