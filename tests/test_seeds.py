"""kperf.engine.seeds: a run's random streams are numpy's, bit for bit."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from kperf.engine.seeds import StreamSeeds


def _numpy(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _keys() -> list[tuple[int, ...]]:
    r = random.Random(5)
    keys: list[tuple[int, ...]] = [(0, i) for i in range(200)]
    keys += [(10_000,), (20_000, 0), (0,), (1, 2, 3), (0, 0, 0, 0, 0), (2**32, 7),
             (2**32 - 1, 2**64 + 3), (2**100, 0, 5)]
    for _ in range(300):
        n = r.randrange(1, 6)
        keys.append(tuple(r.randrange(0, 2 ** r.choice([1, 8, 31, 32, 33, 64, 70, 130]))
                          for _ in range(n)))
    return keys


@pytest.mark.parametrize("seed", [0, 1, 3, 7, 2**32 - 1, 2**32, 2**64 + 5, 2**128 + 9,
                                  123456789012345678901234567890])
def test_streams_are_numpys(seed: int) -> None:
    streams = StreamSeeds(seed)
    for key in _keys():
        ours, theirs = streams.generator(key), _numpy(seed, key)
        assert ours.bit_generator.state == theirs.bit_generator.state, key
        assert ours.integers(1 << 62, size=3).tolist() == theirs.integers(1 << 62,
                                                                           size=3).tolist()


def test_the_seed_sequence_answers_as_numpys() -> None:
    """spawn, pool and generate_state of other sizes are numpy's own."""
    ours = StreamSeeds(11).generator((3, 4))
    theirs = _numpy(11, (3, 4))
    seq, ref = ours.bit_generator.seed_seq, theirs.bit_generator.seed_seq
    assert (seq.entropy, seq.spawn_key) == (ref.entropy, ref.spawn_key)
    assert seq.pool.tolist() == ref.pool.tolist()
    assert seq.generate_state(5).tolist() == ref.generate_state(5).tolist()
    kids, ref_kids = ours.spawn(2), theirs.spawn(2)
    assert [k.integers(1000, size=4).tolist() for k in kids] == [
        k.integers(1000, size=4).tolist() for k in ref_kids]
    copy = pickle.loads(pickle.dumps(StreamSeeds(11).generator((3, 4))))
    assert copy.integers(1 << 40, size=3).tolist() == _numpy(11, (3, 4)).integers(
        1 << 40, size=3).tolist()


def test_what_numpy_refuses_is_refused() -> None:
    with pytest.raises(ValueError):
        StreamSeeds(3).generator((-1,))
    assert StreamSeeds(3).generator(()).integers(1 << 40) == _numpy(3, ()).integers(1 << 40)
