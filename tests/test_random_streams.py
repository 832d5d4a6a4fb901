"""Named random streams: deterministic per (seed, purpose), different across purposes and seeds."""

import numpy as np
import pytest

from dogym.causal.random_streams import STREAMS, named_rng


def test_streams_are_reproducible_and_distinct():
    draws = {name: named_rng(3, name).random(4) for name in STREAMS}
    for name in STREAMS:
        np.testing.assert_array_equal(named_rng(3, name).random(4), draws[name])
        assert not np.array_equal(named_rng(4, name).random(4), draws[name])
    assert len({tuple(d) for d in draws.values()}) == len(STREAMS)


def test_a_stream_is_the_spawned_child_of_the_seed():
    child = np.random.SeedSequence(5).spawn(len(STREAMS))[STREAMS.index("causal_mask")]
    np.testing.assert_array_equal(named_rng(5, "causal_mask").random(3), np.random.default_rng(child).random(3))


def test_unknown_stream_is_refused():
    with pytest.raises(ValueError, match="unknown random stream 'nope'"):
        named_rng(0, "nope")
